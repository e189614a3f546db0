// A small random CLIP / ViFi-CLIP for tests: 32x32 inputs, two blocks per tower, width 64.
#pragma once
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vifi/clip/clip.h"
#include "vifi/clip/tokenizer.h"
#include "vifi/model/vificlip.h"

namespace vifi::test {

inline clip::CLIPConfig tiny_clip_config() { return clip::clip_config_preset("vifi-tiny"); }

inline std::shared_ptr<const clip::Tokenizer> shared_tokenizer() {
  static const auto tokenizer = std::make_shared<const clip::Tokenizer>();
  return tokenizer;
}

inline model::ViFiCLIP tiny_vificlip(const std::vector<std::string>& classes, model::ViFiCLIPOptions options = {},
                                     uint64_t seed = 0) {
  torch::manual_seed(seed);
  return model::ViFiCLIP(clip::CLIP(tiny_clip_config()), shared_tokenizer(), classes, options);
}

// Class names of the colour task below, and of tests that need action-like prompts.
inline const std::vector<std::string> kColourClasses = {"red", "green", "blue"};
inline const std::vector<std::string> kActionClasses = {"archery", "playing guitar", "push up"};

// The colour task: per_class clips [2,3,32,32] of each class c (labels 0, 1, 2 in blocks), noise
// whose channel c is raised by 1.5, so a tiny model learns it in a few steps. -> (videos
// [3*per_class,2,3,32,32], labels [3*per_class] int64)
inline std::pair<torch::Tensor, torch::Tensor> colour_clips(int64_t per_class, uint64_t seed = 7) {
  std::vector<torch::Tensor> videos, labels;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < per_class; ++i) {
      auto v = torch::randn({2, 3, 32, 32}, gen) * 0.3;
      v.select(1, c).add_(1.5);
      videos.push_back(v);
      labels.push_back(torch::tensor(c));
    }
  return {torch::stack(videos), torch::stack(labels)};
}

}  // namespace vifi::test

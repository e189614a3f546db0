// A small random CLIP / ViFi-CLIP for tests: 32x32 inputs, two blocks per tower, width 64.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
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

}  // namespace vifi::test

// CLIP architecture sizes: presets for OpenAI's released ViTs and any custom size (tests use a
// tiny one). Sizes live in data, not code; openai_weights infers them from checkpoint shapes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vifi::clip {

struct CLIPConfig {
  int64_t embed_dim = 512;          // joint embedding size D
  int64_t image_resolution = 224;
  int64_t vision_layers = 12;
  int64_t vision_width = 768;
  int64_t vision_patch_size = 16;
  int64_t context_length = 77;
  int64_t vocab_size = 49408;
  int64_t transformer_width = 512;
  int64_t transformer_heads = 8;
  int64_t transformer_layers = 12;

  // OpenAI's ViTs use 64-dimensional heads in the image tower.
  int64_t vision_heads() const { return vision_width / 64; }
  int64_t grid_size() const { return image_resolution / vision_patch_size; }
  // Throws std::invalid_argument naming the field if the sizes cannot form a model.
  void validate() const;
  std::string to_string() const;
  bool operator==(const CLIPConfig& other) const;
};

// "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px" (also with '-' for '/'), and
// "vifi-tiny" (random-init demo/test model, 32x32 inputs).
// Unknown names throw std::invalid_argument listing the valid ones.
CLIPConfig clip_config_preset(const std::string& name);
std::vector<std::string> clip_config_preset_names();

}  // namespace vifi::clip

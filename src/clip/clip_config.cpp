// CLIPConfig presets and validation.
#include "vifi/clip/clip_config.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace vifi::clip {
namespace {

struct Preset {
  const char* name;
  CLIPConfig config;
};

// Values from OpenAI's released archives (what build_model infers from them).
const std::vector<Preset>& presets() {
  static const std::vector<Preset> table = {
      {"ViT-B/32", {512, 224, 12, 768, 32, 77, 49408, 512, 8, 12}},
      {"ViT-B/16", {512, 224, 12, 768, 16, 77, 49408, 512, 8, 12}},
      {"ViT-L/14", {768, 224, 24, 1024, 14, 77, 49408, 768, 12, 12}},
      {"ViT-L/14@336px", {768, 336, 24, 1024, 14, 77, 49408, 768, 12, 12}},
      // Not an OpenAI model: a CLIP small enough to train from scratch on a CPU in minutes
      // (tests, `vifi demo`); 32x32 inputs, 8x8 patches, two blocks per tower. It keeps OpenAI's
      // 64-dimensional heads, the rule build_model infers head counts by, so its exports build
      // into the same model in OpenAI's code.
      {"vifi-tiny", {64, 32, 2, 64, 8, 77, 49408, 64, 1, 2}},
  };
  return table;
}

void require_positive(int64_t value, const char* field) {
  if (value <= 0) throw std::invalid_argument(std::string("CLIPConfig.") + field + " must be > 0, got " + std::to_string(value));
}

}  // namespace

void CLIPConfig::validate() const {
  require_positive(embed_dim, "embed_dim");
  require_positive(image_resolution, "image_resolution");
  require_positive(vision_layers, "vision_layers");
  require_positive(vision_patch_size, "vision_patch_size");
  require_positive(context_length, "context_length");
  require_positive(vocab_size, "vocab_size");
  require_positive(transformer_layers, "transformer_layers");
  require_positive(transformer_heads, "transformer_heads");
  if (vision_width < 64 || vision_width % 64 != 0)
    throw std::invalid_argument("CLIPConfig.vision_width must be a positive multiple of 64 (64-dim heads), got " + std::to_string(vision_width));
  if (transformer_width % transformer_heads != 0)
    throw std::invalid_argument("CLIPConfig.transformer_width (" + std::to_string(transformer_width) +
                                ") must be divisible by transformer_heads (" + std::to_string(transformer_heads) + ")");
  if (image_resolution % vision_patch_size != 0)
    throw std::invalid_argument("CLIPConfig.image_resolution (" + std::to_string(image_resolution) +
                                ") must be a multiple of vision_patch_size (" + std::to_string(vision_patch_size) + ")");
}

std::string CLIPConfig::to_string() const {
  std::ostringstream s;
  s << "embed_dim=" << embed_dim << " image_resolution=" << image_resolution << " vision_layers=" << vision_layers
    << " vision_width=" << vision_width << " vision_patch_size=" << vision_patch_size << " context_length=" << context_length
    << " vocab_size=" << vocab_size << " transformer_width=" << transformer_width << " transformer_heads=" << transformer_heads
    << " transformer_layers=" << transformer_layers;
  return s.str();
}

bool CLIPConfig::operator==(const CLIPConfig& o) const { return to_string() == o.to_string(); }

CLIPConfig clip_config_preset(const std::string& name) {
  // "ViT-B-16" (OpenAI's file names) and "ViT-B/16" (OpenAI's model names) both work.
  auto normalise = [](std::string s) {
    std::replace(s.begin(), s.end(), '-', '/');
    return s;
  };
  for (const auto& p : presets())
    if (normalise(name) == normalise(p.name)) return p.config;
  std::string valid;
  for (const auto& n : clip_config_preset_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown CLIP architecture '" + name + "' (expected one of: " + valid + ")");
}

std::vector<std::string> clip_config_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : presets()) names.emplace_back(p.name);
  return names;
}

}  // namespace vifi::clip

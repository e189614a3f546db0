// OpenAI archive import (see header). build_model's shape rules are reproduced in
// infer_clip_config; ResNet ("RN50") archives are rejected with a clear message.
#include "vifi/clip/openai_weights.h"

#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace vifi::clip {
namespace {

const torch::Tensor& require(const util::StateDict& state, const std::string& key, const std::string& source) {
  auto it = state.find(key);
  if (it == state.end()) throw std::runtime_error(source + ": missing key '" + key + "' needed to infer the architecture");
  return it->second;
}

int64_t count_blocks(const util::StateDict& state, const std::string& prefix) {
  int64_t layers = 0;
  for (const auto& [key, value] : state)
    if (key.rfind(prefix, 0) == 0 && key.size() > prefix.size() &&
        key.compare(key.size() - 20, 20, ".attn.in_proj_weight") == 0)
      ++layers;
  return layers;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

const std::set<std::string>& openai_metadata_keys() {
  static const std::set<std::string> keys = {"input_resolution", "context_length", "vocab_size"};
  return keys;
}

util::StateDict read_torchscript_state(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": file not found");
  torch::jit::Module archive;
  try {
    archive = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a TorchScript archive (expected an OpenAI CLIP .pt file such as ViT-B-16.pt): " +
                             first_line(e.what_without_backtrace()));
  }
  util::StateDict state;
  for (const auto& p : archive.named_parameters(true)) state[p.name] = p.value.detach();
  for (const auto& b : archive.named_buffers(true)) state[b.name] = b.value.detach();
  return state;
}

CLIPConfig infer_clip_config(const util::StateDict& state, const std::string& source) {
  if (state.count("visual.layer1.0.conv1.weight") || state.count("visual.attnpool.positional_embedding"))
    throw std::runtime_error(source + ": ResNet CLIP archives are not supported; use a ViT archive such as ViT-B-16.pt");
  const auto& conv1 = require(state, "visual.conv1.weight", source);         // [W,3,p,p]
  const auto& vpos = require(state, "visual.positional_embedding", source);  // [1+g*g, W]
  CLIPConfig c;
  c.vision_width = conv1.size(0);
  c.vision_patch_size = conv1.size(-1);
  c.vision_layers = count_blocks(state, "visual.transformer.resblocks.");
  const auto grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(vpos.size(0) - 1))));
  c.image_resolution = c.vision_patch_size * grid;
  c.embed_dim = require(state, "text_projection", source).size(1);
  c.context_length = require(state, "positional_embedding", source).size(0);
  c.vocab_size = require(state, "token_embedding.weight", source).size(0);
  c.transformer_width = require(state, "ln_final.weight", source).size(0);
  // The head count leaves no trace in the shapes: OpenAI's rule (clip/model.py build_model), which
  // every preset follows, so what loads here is what build_model builds.
  c.transformer_heads = c.transformer_width / 64;
  c.transformer_layers = count_blocks(state, "transformer.resblocks.");
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(source + ": inferred architecture is invalid: " + e.what());
  }
  return c;
}

CLIP load_openai_clip(const std::string& path) {
  const auto state = read_torchscript_state(path);
  CLIP model(infer_clip_config(state, path));
  auto options = util::strict_load(path);
  options.ignore = openai_metadata_keys();
  util::load_state_dict(*model, state, options);
  return model;
}

}  // namespace vifi::clip

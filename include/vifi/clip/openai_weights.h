// Import of OpenAI's released CLIP files (ViT-B-16.pt, ...): TorchScript archives with fp16
// weights. Reads the archive's parameters, infers the architecture from tensor shapes as
// OpenAI's build_model does, and copies everything into a vifi CLIP as fp32.
#pragma once
#include <string>

#include "vifi/clip/clip.h"
#include "vifi/util/state_dict.h"

namespace vifi::clip {

// All parameters and buffers of a TorchScript archive, by OpenAI's names, on CPU.
// Throws std::runtime_error naming the file if it is missing or not a TorchScript archive.
util::StateDict read_torchscript_state(const std::string& path);

// Architecture from shapes (visual.conv1.weight, visual.positional_embedding, ...).
// Throws std::runtime_error naming `source` and the key when a required entry is absent.
CLIPConfig infer_clip_config(const util::StateDict& state, const std::string& source);

// Scalars OpenAI stores next to the weights; not parameters.
const std::set<std::string>& openai_metadata_keys();

// read + infer + construct + strict copy. Errors name the file and the key.
CLIP load_openai_clip(const std::string& path);

}  // namespace vifi::clip

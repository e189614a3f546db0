// Where a model's weights come from: an OpenAI TorchScript archive (ViT-B-16.pt), a vifi
// training checkpoint, the authors' converted checkpoint, or nothing (random initialisation from
// an architecture preset, for tests and the synthetic demo). One entry point, so every command
// accepts the same files.
#pragma once
#include <torch/torch.h>

#include <string>

#include "vifi/clip/clip.h"
#include "vifi/util/state_dict.h"

namespace vifi::model {

// reference_checkpoint: the authors' released file after tools/convert_checkpoint.py.
enum class WeightsKind { openai_archive, vifi_checkpoint, reference_checkpoint };

WeightsKind detect_weights_kind(const std::string& path);

// The tag every vifi checkpoint carries (train/checkpoint writes it).
inline constexpr const char* kVifiCheckpointFormat = "vifi-checkpoint-v1";
// The archive of a vifi checkpoint; throws std::runtime_error naming the file when it is missing,
// unreadable or lacks the tag.
torch::serialize::InputArchive open_vifi_checkpoint(const std::string& path);
bool is_vifi_checkpoint(const std::string& path);
// A vifi checkpoint's model state (OpenAI names plus prompt_learner.*).
util::StateDict read_vifi_checkpoint_model(const std::string& path);

// CLIP from `path` (either kind; a checkpoint's CLIP part, prompt tensors are left to the prompt
// learner). Errors name the file and key.
clip::CLIP load_clip(const std::string& path);

// `path` if given, else a freshly initialised CLIP of preset `arch` (seeded by the caller).
clip::CLIP load_or_init_clip(const std::string& path, const std::string& arch);

}  // namespace vifi::model

// Where a model's weights come from: an OpenAI TorchScript archive (ViT-B-16.pt), a vifi
// training checkpoint, the authors' converted checkpoint, or nothing (random initialisation from
// an architecture preset, for tests and the synthetic demo). One entry point, so every command
// accepts the same files.
#pragma once
#include <string>

#include "vifi/clip/clip.h"

namespace vifi::model {

// reference_checkpoint: the authors' released file after tools/convert_checkpoint.py.
enum class WeightsKind { openai_archive, vifi_checkpoint, reference_checkpoint };

WeightsKind detect_weights_kind(const std::string& path);

// CLIP from `path` (either kind; a checkpoint's CLIP part, prompt tensors are left to the prompt
// learner). Errors name the file and key.
clip::CLIP load_clip(const std::string& path);

// `path` if given, else a freshly initialised CLIP of preset `arch` (seeded by the caller).
clip::CLIP load_or_init_clip(const std::string& path, const std::string& arch);

}  // namespace vifi::model

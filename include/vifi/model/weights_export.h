// Writing a model's weights for other people's code (`vifi export`):
//   openai       torch.save-compatible {name: tensor} with OpenAI's clip/model.py names, which
//                clip.model.build_model(torch.load(FILE)) builds (and open_clip reads); a model
//                with learned prompts is refused (OpenAI's CLIP has no place for them);
//   vificlip     the authors' checkpoint layout, {'model': {module.image_encoder.*, ...},
//                'config': {'TRAINER': {'ViFi_CLIP': {...}}}}, which their
//                ViFi-CLIP_Inference_custom_video.ipynb and utils/tools.py load_checkpoint read
//                (names: model/reference_checkpoint's to_reference_state);
//   safetensors  vifi's (= OpenAI's) names plus prompt_learner.*, CTX_INIT and ZS_EVAL in the
//                metadata (util/safetensors).
// Every format reads back through model/weights' read_model_weights with the same tensors,
// bit for bit (the dtype vifi holds, float32).
#pragma once
#include <string>

#include "vifi/model/weights.h"

namespace vifi::model {

enum class ExportFormat { openai, vificlip, safetensors };

// "openai" | "vificlip" | "safetensors"; throws std::invalid_argument naming the value.
ExportFormat parse_export_format(const std::string& name);

// safetensors metadata keys vifi writes and reads back.
inline constexpr const char* kSafetensorsCtxInit = "vifi.ctx_init";
inline constexpr const char* kSafetensorsZeroShot = "vifi.zs_eval";

// Writes `weights` to `path` atomically. Throws std::runtime_error for openai with prompts
// (naming the formats that keep them) and when the file cannot be written.
void export_weights(const ModelWeights& weights, ExportFormat format, const std::string& path);

}  // namespace vifi::model

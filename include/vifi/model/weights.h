// Where a model's weights come from: an OpenAI TorchScript archive (ViT-B-16.pt), a vifi
// training checkpoint, a safetensors file (vifi export's, util/safetensors), a torch.save file (the authors' released checkpoints as they are, the
// converter's output, a plain CLIP state dict: model/reference_checkpoint), or nothing (random
// initialisation from an architecture preset, for tests and the synthetic demo). One entry
// point, so every command accepts the same files, with the prompts they carry.
#pragma once
#include <torch/torch.h>

#include <string>

#include "vifi/clip/clip.h"
#include "vifi/model/prompt_learner.h"
#include "vifi/model/vificlip.h"
#include "vifi/util/state_dict.h"

namespace vifi::model {

// torch_save: any torch.save file (model/reference_checkpoint); safetensors: vifi's names
// (OpenAI's plus prompt_learner.*), as model/weights_export writes them.
enum class WeightsKind { openai_archive, vifi_checkpoint, torch_save, safetensors };

WeightsKind detect_weights_kind(const std::string& path);

// The tag every vifi checkpoint carries (train/checkpoint writes it).
inline constexpr const char* kVifiCheckpointFormat = "vifi-checkpoint-v1";
// The archive of a vifi checkpoint; throws std::runtime_error naming the file when it is missing,
// unreadable or lacks the tag.
torch::serialize::InputArchive open_vifi_checkpoint(const std::string& path);
bool is_vifi_checkpoint(const std::string& path);
// A vifi checkpoint's model state (OpenAI names plus prompt_learner.*).
util::StateDict read_vifi_checkpoint_model(const std::string& path);

// Everything a weights file holds for a ViFi-CLIP, in vifi's names.
struct ModelWeights {
  util::StateDict clip;     // OpenAI names
  util::StateDict prompts;  // prompt_learner.{text_ctx,text_deep,vision_ctx,vision_deep}; empty: none
  // Sized from `prompts` (enabled iff there are any: N_CTX from their rows, depth from the
  // deep blocks + 1); ctx_init and the ZS_EVAL prompt are the file's recorded config, where a
  // released checkpoint pickles one, else vifi's defaults.
  PromptOptions prompt;
  bool zero_shot_prompt = false;
};

// Reads any kind. `clip_archive` (an OpenAI archive, `--clip`) supplies token_embedding.weight
// when the file lacks it, as the authors' checkpoints do. Throws std::runtime_error naming the
// file and key; a missing token embedding names the --clip flag.
ModelWeights read_model_weights(const std::string& path, const std::string& clip_archive = "");

// A CLIP of the architecture `state` implies, with exactly those weights (strict).
clip::CLIP build_clip(const util::StateDict& state, const std::string& source);

// CLIP from `path` (a checkpoint's CLIP part; prompts are dropped). Errors name the file and key.
clip::CLIP load_clip(const std::string& path, const std::string& clip_archive = "");

// `path` if given, else a freshly initialised CLIP of preset `arch` (seeded by the caller).
clip::CLIP load_or_init_clip(const std::string& path, const std::string& arch, const std::string& clip_archive = "");

// Copies the file's prompts into `model`, whose prompt options must have the same sizes; the
// error names `source`, both sizes and the TRAINER.ViFi_CLIP keys to set. No-op without prompts.
void load_weight_prompts(ViFiCLIPImpl& model, const ModelWeights& weights, const std::string& source);

// A ViFi-CLIP for inference over `class_names` from a weights file: the file's prompts, CTX_INIT
// and ZS_EVAL. A non-empty `ctx_init` overrides the class-prompt prefix; `prompts_file` adds a
// vifi prompt file (model/prompt_checkpoint) to a file without prompts of its own.
ViFiCLIP load_vificlip(const std::string& path, const std::string& clip_archive,
                       const std::vector<std::string>& class_names, const std::string& ctx_init = "",
                       const std::string& prompts_file = "");

}  // namespace vifi::model

// Weight sources. A vifi checkpoint stores the model under OpenAI's names (plus
// prompt_learner.* entries), and a converted reference checkpoint is mapped to those names
// (model/reference_checkpoint), so both architectures are inferred exactly like an archive's.
#include "vifi/model/weights.h"

#include <filesystem>
#include <stdexcept>

#include "vifi/clip/openai_weights.h"
#include "vifi/model/prompt_checkpoint.h"
#include "vifi/model/reference_checkpoint.h"
#include "vifi/model/weights_export.h"
#include "vifi/util/safetensors.h"
#include "vifi/util/logging.h"

namespace vifi::model {

torch::serialize::InputArchive open_vifi_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": checkpoint not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a readable checkpoint: " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
  c10::IValue format;
  if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kVifiCheckpointFormat)
    throw std::runtime_error(path + ": not a vifi checkpoint (no '" + std::string(kVifiCheckpointFormat) + "' tag)");
  return archive;
}

util::StateDict read_vifi_checkpoint_model(const std::string& path) {
  auto archive = open_vifi_checkpoint(path);
  torch::serialize::InputArchive model_archive;
  if (!archive.try_read("model", model_archive)) throw std::runtime_error(path + ": checkpoint lacks 'model'");
  util::StateDict state;
  for (const auto& key : model_archive.keys()) {
    torch::Tensor t;
    model_archive.read(key, t);
    state[key] = t;
  }
  return state;
}

bool is_vifi_checkpoint(const std::string& path) {
  try {
    open_vifi_checkpoint(path);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}


WeightsKind detect_weights_kind(const std::string& path) {
  if (util::is_safetensors(path)) return WeightsKind::safetensors;
  if (is_vifi_checkpoint(path)) return WeightsKind::vifi_checkpoint;
  return is_reference_checkpoint(path) ? WeightsKind::torch_save : WeightsKind::openai_archive;
}

namespace {

int64_t rows(const util::StateDict& prompts, const std::string& key) {
  const auto it = prompts.find(key);
  return it == prompts.end() ? 0 : it->second.size(-2);
}
int64_t deep_blocks(const util::StateDict& prompts, const std::string& key) {
  const auto it = prompts.find(key);
  return it == prompts.end() ? 0 : it->second.size(0);
}

// Prompt sizes from the tensors (shapes in model/prompt_learner.h).
void size_prompts(ModelWeights& w, const std::string& source) {
  for (const auto& [key, tensor] : w.prompts) {
    const bool deep = key.find("_deep") != std::string::npos;
    if (tensor.dim() != (deep ? 3 : 2))
      throw std::runtime_error(source + ": prompt tensor '" + key + "' has shape " + util::shape_string(tensor.sizes()) +
                               (deep ? ", expected [depth-1, N_CTX, width]" : ", expected [N_CTX, width]"));
  }
  w.prompt.enabled = !w.prompts.empty();
  w.prompt.n_ctx_text = rows(w.prompts, "prompt_learner.text_ctx");
  w.prompt.n_ctx_vision = rows(w.prompts, "prompt_learner.vision_ctx");
  w.prompt.depth_text = w.prompt.n_ctx_text ? 1 + deep_blocks(w.prompts, "prompt_learner.text_deep") : 0;
  w.prompt.depth_vision = w.prompt.n_ctx_vision ? 1 + deep_blocks(w.prompts, "prompt_learner.vision_deep") : 0;
}

std::string prompt_sizes(const PromptOptions& p) {
  return "PROMPT_MODEL " + std::string(p.enabled ? "true" : "false") + ", N_CTX_VISION " + std::to_string(p.n_ctx_vision) +
         ", N_CTX_TEXT " + std::to_string(p.n_ctx_text) + ", PROMPT_DEPTH_VISION " + std::to_string(p.depth_vision) +
         ", PROMPT_DEPTH_TEXT " + std::to_string(p.depth_text);
}

}  // namespace

ModelWeights read_model_weights(const std::string& path, const std::string& clip_archive) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": file not found (--weights / MODEL.PRETRAINED)");
  ModelWeights w;
  const auto kind = detect_weights_kind(path);
  if (kind == WeightsKind::openai_archive) {
    for (auto& [key, tensor] : clip::read_torchscript_state(path))
      if (!clip::openai_metadata_keys().count(key)) w.clip[key] = tensor;
  } else if (kind == WeightsKind::safetensors) {
    auto file = util::read_safetensors(path);
    for (auto& [key, tensor] : file.tensors)
      (key.rfind("prompt_learner.", 0) == 0 ? w.prompts : w.clip)[key] = tensor;
    if (const auto it = file.metadata.find(kSafetensorsCtxInit); it != file.metadata.end()) w.prompt.ctx_init = it->second;
    w.zero_shot_prompt = file.metadata.count(kSafetensorsZeroShot) && file.metadata.at(kSafetensorsZeroShot) == "true";
  } else if (kind == WeightsKind::vifi_checkpoint) {
    for (auto& [key, tensor] : read_vifi_checkpoint_model(path))
      (key.rfind("prompt_learner.", 0) == 0 ? w.prompts : w.clip)[key] = tensor;
  } else {
    const auto file = read_reference_checkpoint(path);
    auto mapped = map_reference_state(file.state, path);
    w.clip = std::move(mapped.clip);
    w.prompts = std::move(mapped.prompts);
    if (file.trainer.present) {
      w.prompt.ctx_init = file.trainer.ctx_init;
      w.zero_shot_prompt = file.trainer.zs_eval;
    }
  }
  if (!w.clip.count("token_embedding.weight")) {
    if (clip_archive.empty())
      throw std::runtime_error(path + ": no token_embedding.weight (the authors' checkpoints do not store CLIP's "
                               "frozen token embedding); give the OpenAI archive it was fine-tuned from with --clip "
                               "ViT-B-16.pt (MODEL.CLIP_ARCHIVE)");
    const auto archive = clip::read_torchscript_state(clip_archive);
    const auto it = archive.find("token_embedding.weight");
    if (it == archive.end()) throw std::runtime_error(clip_archive + ": no token_embedding.weight (--clip needs OpenAI's archive)");
    w.clip["token_embedding.weight"] = it->second.to(torch::kFloat32);
  }
  size_prompts(w, path);
  return w;
}

clip::CLIP build_clip(const util::StateDict& state, const std::string& source) {
  clip::CLIP model(clip::infer_clip_config(state, source));
  util::load_state_dict(*model, state, util::strict_load(source));
  return model;
}

clip::CLIP load_clip(const std::string& path, const std::string& clip_archive) {
  return build_clip(read_model_weights(path, clip_archive).clip, path);
}

clip::CLIP load_or_init_clip(const std::string& path, const std::string& arch, const std::string& clip_archive) {
  if (!path.empty()) return load_clip(path, clip_archive);
  util::log_warn("no pretrained weights given (MODEL.PRETRAINED / --weights): initialising " + arch + " at random");
  return clip::CLIP(clip::clip_config_preset(arch));
}

void load_weight_prompts(ViFiCLIPImpl& model, const ModelWeights& weights, const std::string& source) {
  if (weights.prompts.empty()) return;
  const auto& wanted = weights.prompt;
  const auto& have = model.options().prompt;
  const bool same = have.enabled && have.n_ctx_vision == wanted.n_ctx_vision && have.n_ctx_text == wanted.n_ctx_text &&
                    (have.n_ctx_vision == 0 || have.depth_vision == wanted.depth_vision) &&
                    (have.n_ctx_text == 0 || have.depth_text == wanted.depth_text);
  if (!same)
    throw std::runtime_error(source + " holds VL prompts (" + prompt_sizes(wanted) + ") but the model is configured with " +
                             prompt_sizes(have) + "; set TRAINER.ViFi_CLIP.* to the file's sizes");
  util::load_state_dict(model, weights.prompts, util::partial_load(source));
  model.clear_text_cache();
}

ViFiCLIP load_vificlip(const std::string& path, const std::string& clip_archive,
                       const std::vector<std::string>& class_names, const std::string& ctx_init,
                       const std::string& prompts_file) {
  auto weights = read_model_weights(path, clip_archive);
  ViFiCLIPOptions options;
  options.prompt = weights.prompt;
  options.zero_shot_prompt = weights.zero_shot_prompt && !weights.prompt.text_active();
  if (!ctx_init.empty()) options.prompt.ctx_init = ctx_init;
  if (!prompts_file.empty()) {
    if (weights.prompt.enabled)
      throw std::runtime_error(path + " carries prompts of its own; --prompts " + prompts_file + " cannot be added to it");
    options.prompt = read_prompt_info(prompts_file).options;  // with its own CTX_INIT
  }
  ViFiCLIP model(build_clip(weights.clip, path), std::make_shared<const clip::Tokenizer>(), class_names, options);
  load_weight_prompts(*model, weights, path);
  if (!prompts_file.empty()) load_prompts(prompts_file, *model);
  model->eval();
  return model;
}

}  // namespace vifi::model

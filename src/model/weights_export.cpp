// Export formats (see header). torch::pickle_save writes the zip-and-pickle layout torch.load
// reads; the nested config is plain dicts, which every torch.load opens without yacs.
#include "vifi/model/weights_export.h"

#include <stdexcept>

#include "vifi/model/reference_checkpoint.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/safetensors.h"

namespace vifi::model {
namespace {

c10::Dict<std::string, torch::Tensor> tensor_dict(const util::StateDict& state) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [key, tensor] : state) dict.insert(key, tensor.detach().to(torch::kCPU).contiguous());
  return dict;
}

void write_pickle(const std::string& path, const c10::IValue& value) {
  const auto bytes = torch::pickle_save(value);
  util::write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

// TRAINER.ViFi_CLIP as the authors' configs name it (configs/*.yaml), for the reader's notebook
// config and for vifi's reading back of CTX_INIT and ZS_EVAL (model/reference_checkpoint).
c10::impl::GenericDict string_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

c10::impl::GenericDict trainer_config(const ModelWeights& w) {
  auto vifi_clip = string_dict();
  vifi_clip.insert("PROMPT_MODEL", w.prompt.enabled);
  vifi_clip.insert("N_CTX_VISION", w.prompt.n_ctx_vision);
  vifi_clip.insert("N_CTX_TEXT", w.prompt.n_ctx_text);
  vifi_clip.insert("CTX_INIT", w.prompt.ctx_init);
  vifi_clip.insert("PROMPT_DEPTH_VISION", w.prompt.depth_vision);
  vifi_clip.insert("PROMPT_DEPTH_TEXT", w.prompt.depth_text);
  vifi_clip.insert("ZS_EVAL", w.zero_shot_prompt);
  auto trainer = string_dict();
  trainer.insert("ViFi_CLIP", vifi_clip);
  auto config = string_dict();
  config.insert("TRAINER", trainer);
  return config;
}

}  // namespace

ExportFormat parse_export_format(const std::string& name) {
  if (name == "openai") return ExportFormat::openai;
  if (name == "vificlip") return ExportFormat::vificlip;
  if (name == "safetensors") return ExportFormat::safetensors;
  throw std::invalid_argument("--format " + name + ": expected openai, vificlip or safetensors");
}

void export_weights(const ModelWeights& w, ExportFormat format, const std::string& path) {
  switch (format) {
    case ExportFormat::openai:
      if (!w.prompts.empty())
        throw std::runtime_error(path + ": the model has learned prompts, which OpenAI's CLIP has no place for; "
                                 "export it with --format vificlip or --format safetensors");
      write_pickle(path, tensor_dict(w.clip));
      return;
    case ExportFormat::vificlip: {
      auto file = string_dict();
      file.insert("model", tensor_dict(to_reference_state(w.clip, w.prompts)));
      file.insert("config", trainer_config(w));
      write_pickle(path, file);
      return;
    }
    case ExportFormat::safetensors: {
      util::SafeTensors file;
      file.tensors = w.clip;
      for (const auto& [key, tensor] : w.prompts) file.tensors[key] = tensor;
      file.metadata = {{"format", "pt"},
                       {kSafetensorsCtxInit, w.prompt.ctx_init},
                       {kSafetensorsZeroShot, w.zero_shot_prompt ? "true" : "false"}};
      util::write_safetensors(path, file);
      return;
    }
  }
}

}  // namespace vifi::model

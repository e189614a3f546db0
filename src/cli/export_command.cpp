// `vifi export --weights W --format openai|vificlip|safetensors --out FILE`: a model for other
// people's code (formats: model/weights_export). --prompts adds a `vifi prompt` prompt file to
// the weights, so a prompted model leaves as one file.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "vifi/model/weights_export.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

struct ExportOptions {
  std::string weights;
  std::string clip_archive;
  std::string prompts;
  std::string format;
  std::string out;
};

// The prompt tensors of a model built with --prompts, in vifi's names.
util::StateDict prompt_tensors(model::PromptLearnerImpl& learner) {
  util::StateDict out;
  const std::pair<const char*, torch::Tensor> named[] = {{"prompt_learner.text_ctx", learner.text_ctx},
                                                         {"prompt_learner.text_deep", learner.text_deep},
                                                         {"prompt_learner.vision_ctx", learner.vision_ctx},
                                                         {"prompt_learner.vision_deep", learner.vision_deep}};
  for (const auto& [name, tensor] : named)
    if (tensor.defined() && tensor.numel() > 0) out[name] = tensor.detach().clone();
  return out;
}

void run_export(const ExportOptions& o) {
  const auto format = model::parse_export_format(o.format);
  auto weights = model::read_model_weights(o.weights, o.clip_archive);
  if (!o.prompts.empty()) {
    c10::InferenceMode inference;
    auto model = model::load_vificlip(o.weights, o.clip_archive, {"video"}, "", o.prompts);
    weights.prompts = prompt_tensors(*model->prompt_learner());
    weights.prompt = model->options().prompt;
  }
  if (const auto dir = std::filesystem::path(o.out).parent_path(); !dir.empty()) std::filesystem::create_directories(dir);
  model::export_weights(weights, format, o.out);
  std::cout << "wrote " << o.out << " (" << o.format << ", " << weights.clip.size() + weights.prompts.size()
            << " tensors incl. " << weights.prompts.size() << " prompt tensors, "
            << std::filesystem::file_size(o.out) / 1024 << " KiB)\n";
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export", "Write a model for OpenAI's clip, the authors' ViFi-CLIP code or safetensors readers");
  cmd->add_option("--weights", o->weights, "OpenAI CLIP archive, vifi checkpoint, torch.save or safetensors file")->required();
  cmd->add_option("--clip", o->clip_archive, "OpenAI CLIP archive lending token_embedding.weight to a checkpoint without it");
  cmd->add_option("--prompts", o->prompts, "prompt checkpoint (vifi prompt's prompts.pth) learned on --weights, exported with it");
  cmd->add_option("--format", o->format, "openai (clip.model.build_model), vificlip (the authors' checkpoint layout) or safetensors")
      ->required()
      ->check(CLI::IsMember({"openai", "vificlip", "safetensors"}));
  cmd->add_option("--out", o->out, "file to write (atomically)")->required();
  cmd->callback([o] { run_export(*o); });
}

}  // namespace vifi::cli

// `vifi eval --setting zeroshot|base2novel|fewshot|supervised`: the paper's four protocols from
// one command each (Tables 1-4). Each --config file is one evaluated (label list, val list) pair,
// written like the reference's per-split YAMLs; the setting says how they combine:
//   zeroshot    --config split1.yaml split2.yaml split3.yaml        one model, mean ± std
//   base2novel  --config s1.yaml s2.yaml s3.yaml                    base halves (train + base_val)
//               --novel-config novel_eval.yaml                      novel classes (one, or one per seed)
//   fewshot     --config K2.yaml K4.yaml K8.yaml K16.yaml [--shots 2 4 8 16]
//   supervised  --config k400.yaml        1 view, and NUM_CLIP x NUM_CROP (4x3 with MULTI_VIEW_INFERENCE)
// Weights: --weights W (one for all, or one per --config); else MODEL.RESUME, else
// MODEL.PRETRAINED; --prompts P adds prompts learned by `vifi prompt` on that base (refused over
// any other base). --train (base2novel, fewshot) first trains on each config's TRAIN_FILE with
// the Trainer, then evaluates the trained model. The protocol arithmetic is eval/protocols.
#include <filesystem>
#include <tuple>

#include "commands.h"
#include "config_yaml.h"
#include "experiment.h"
#include "vifi/dist/torchrun_env.h"
#include "vifi/eval/protocols.h"
#include "vifi/eval/report.h"
#include "vifi/model/prompt_checkpoint.h"
#include "vifi/train/checkpoint.h"
#include "vifi/train/trainer.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

struct EvalCommandOptions {
  std::string setting;
  std::vector<std::string> configs;
  std::vector<std::string> novel_configs;
  std::vector<std::string> weights;
  std::vector<int64_t> shots{2, 4, 8, 16};
  std::vector<std::string> opts;
  std::string output;
  std::string prompts;  // a `vifi prompt` prompts.pth
  bool train = false;
  int threads = 0;
};

// --weights (by config index) overrides MODEL.PRETRAINED and drops MODEL.RESUME.
train::Config config_for(const EvalCommandOptions& o, const std::string& path, size_t index) {
  auto config = load_config(path, o.opts);
  if (o.weights.size() > 1 && o.weights.size() != o.configs.size())
    throw std::runtime_error("--weights: give one file, or one per --config (" + std::to_string(o.configs.size()) +
                             "), got " + std::to_string(o.weights.size()));
  if (!o.weights.empty()) {
    config.model.pretrained = std::filesystem::absolute(o.weights[o.weights.size() == 1 ? 0 : index]).string();
    config.model.resume.clear();
  }
  if (config.data.val_file.empty()) throw std::runtime_error(path + ": DATA.VAL_FILE is not set");
  if (!o.prompts.empty()) {  // the prompt learner's shape is the file's, whatever the YAML says
    const auto p = model::read_prompt_info(o.prompts).options;
    auto& t = config.trainer;
    std::tie(t.prompt_model, t.n_ctx_vision, t.n_ctx_text, t.ctx_init, t.prompt_depth_vision, t.prompt_depth_text) =
        std::tie(p.enabled, p.n_ctx_vision, p.n_ctx_text, p.ctx_init, p.depth_vision, p.depth_text);
  }
  return config;
}

model::ViFiCLIP model_for(const train::Config& config, const std::string& prompts) {
  auto model = build_model(config, load_class_names(config));
  if (!config.model.resume.empty())
    util::load_state_dict(*model, train::read_checkpoint_model(config.model.resume), {config.model.resume, {}, false});
  if (!prompts.empty()) model::load_prompts(prompts, *model);
  model->clear_text_cache();
  return model;
}

// Trains `model` on the config's TRAIN_FILE into OUTPUT/train_<name> (no validation on the way:
// the protocol evaluates the final model, as the reference reports it).
void train_model(model::ViFiCLIP& model, train::Config config, const std::string& output, const std::string& name) {
  config.output = (std::filesystem::path(output) / ("train_" + name)).string();
  std::filesystem::create_directories(config.output);
  util::write_file_atomic((std::filesystem::path(config.output) / "config.yaml").string(), train::to_yaml(config));
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  auto data = make_batch_source(config, config.data.train_file, data::LoaderMode::train);
  util::log_info("training " + name + " on " + std::to_string(data->dataset_size()) + " videos");
  train::Trainer trainer(config, model, *data, nullptr, {pick_device(), true, {}});
  trainer.fit();
}

// One config: optionally train, then evaluate on its VAL_FILE.
eval::RunReport train_and_evaluate(const EvalCommandOptions& o, const train::Config& config, const std::string& name) {
  if (o.train) torch::manual_seed(static_cast<uint64_t>(config.seed));
  auto model = model_for(config, o.prompts);
  if (o.train) train_model(model, config, o.output, name);
  return evaluate_config(model, config, name);
}

eval::Summary run_zeroshot(const EvalCommandOptions& o) {
  std::vector<eval::RunReport> runs;
  for (size_t i = 0; i < o.configs.size(); ++i) {
    const auto config = config_for(o, o.configs[i], i);
    auto model = model_for(config, o.prompts);
    runs.push_back(evaluate_config(model, config, "split" + std::to_string(i + 1)));
  }
  return eval::zeroshot_summary(std::move(runs));
}

// Seed i: the base config's model (trained with --train) on base_val, then on the novel classes.
eval::Summary run_base2novel(const EvalCommandOptions& o) {
  if (o.novel_configs.size() != 1 && o.novel_configs.size() != o.configs.size())
    throw std::runtime_error("base2novel: --novel-config needs one file, or one per --config (" +
                             std::to_string(o.configs.size()) + "), got " + std::to_string(o.novel_configs.size()));
  std::vector<eval::RunReport> base, novel;
  for (size_t i = 0; i < o.configs.size(); ++i) {
    const auto seed = "s" + std::to_string(i + 1);
    const auto config = config_for(o, o.configs[i], i);
    auto model = model_for(config, o.prompts);
    if (o.train) train_model(model, config, o.output, seed);
    base.push_back(evaluate_config(model, config, seed + "_base"));
    const auto& novel_config = o.novel_configs[o.novel_configs.size() == 1 ? 0 : i];
    novel.push_back(evaluate_config(model, load_config(novel_config, o.opts), seed + "_novel"));
  }
  return eval::base2novel_summary(std::move(base), std::move(novel));
}

eval::Summary run_fewshot(const EvalCommandOptions& o) {
  if (o.shots.size() != o.configs.size())
    throw std::runtime_error("fewshot: --shots has " + std::to_string(o.shots.size()) + " values for " +
                             std::to_string(o.configs.size()) + " --config files");
  std::vector<eval::RunReport> runs;
  for (size_t i = 0; i < o.configs.size(); ++i)
    runs.push_back(train_and_evaluate(o, config_for(o, o.configs[i], i), "K" + std::to_string(o.shots[i])));
  return eval::fewshot_summary(o.shots, std::move(runs));
}

eval::Summary run_supervised(const EvalCommandOptions& o) {
  if (o.configs.size() != 1) throw std::runtime_error("supervised: give exactly one --config");
  auto multi = config_for(o, o.configs[0], 0);
  if (multi.test.multi_view_inference) {  // the reference's 4 temporal x 3 spatial views
    multi.test.num_clip = 4;
    multi.test.num_crop = 3;
  }
  auto single = multi;
  single.test.num_clip = 1;
  single.test.num_crop = 1;
  auto model = model_for(multi, o.prompts);
  auto one = evaluate_config(model, single, "single_view");
  return eval::supervised_summary(std::move(one), evaluate_config(model, multi, "multi_view"));
}

int run_eval(EvalCommandOptions o) {
  const auto setting = eval::setting_from_string(o.setting);
  if (o.output.empty()) throw std::runtime_error("vifi eval: --output DIR is required");
  if (o.train && (setting == eval::Setting::zeroshot || setting == eval::Setting::supervised))
    throw std::runtime_error("--train applies to base2novel and fewshot (train zero-shot/supervised models with vifi train)");
  // Not sharded yet: N ranks would each evaluate everything and race on the report files.
  if (const auto env = dist::read_torchrun_env())
    throw std::runtime_error("vifi eval runs as one process, but WORLD_SIZE=" + std::to_string(env->world_size) +
                             " (vifi launch/torchrun); evaluate across ranks with: vifi launch ... -- train "
                             "--config C.yaml --only-test --resume CKPT");
  set_threads(o.threads);
  add_log_file(o.output, 0);
  eval::Summary summary;
  switch (setting) {
    case eval::Setting::zeroshot: summary = run_zeroshot(o); break;
    case eval::Setting::base2novel: summary = run_base2novel(o); break;
    case eval::Setting::fewshot: summary = run_fewshot(o); break;
    case eval::Setting::supervised: summary = run_supervised(o); break;
  }
  eval::write_report(o.output, summary);
  util::log_info("\n" + eval::markdown_table(summary.table) + "results in " + o.output + "/results.json");
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalCommandOptions>();
  auto* cmd = app.add_subcommand("eval", "Evaluate with the paper's protocols (Tables 1-4) and write reports");
  cmd->add_option("--setting", o->setting, "zeroshot|base2novel|fewshot|supervised")
      ->required()
      ->check(CLI::IsMember({"zeroshot", "base2novel", "fewshot", "supervised"}));
  cmd->add_option("--config", o->configs, "setting YAML(s): splits, seeds (base) or K-shot configs, in order")
      ->required();
  cmd->add_option("--novel-config", o->novel_configs, "base2novel: the novel-class YAML of each seed");
  cmd->add_option("--weights", o->weights, "OpenAI archive, vifi checkpoint or converted reference checkpoint");
  cmd->add_option("--prompts", o->prompts, "prompts.pth from `vifi prompt`, learned on the --weights base");
  cmd->add_option("--shots", o->shots, "fewshot: K of each --config (default 2 4 8 16)");
  cmd->add_option("--opts", o->opts, "KEY VALUE ... overrides applied to every config");
  cmd->add_option("--output", o->output, "report directory (results.json, results.md, CSVs)")->required();
  cmd->add_flag("--train", o->train, "base2novel/fewshot: train on each config's TRAIN_FILE first");
  cmd->add_option("--threads", o->threads, "CPU threads for LibTorch (default: all cores)");
  cmd->callback([o] {
    const int rc = run_eval(*o);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace vifi::cli

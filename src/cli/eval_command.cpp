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
// Under `vifi launch` / torchrun every rank evaluates its slice of each list (every video once)
// and trains its shard; rank 0 writes the report.

#include <algorithm>
#include <filesystem>

#include "commands.h"
#include "rank_flags.h"
#include "vifi/config/config_yaml.h"
#include "vifi/experiment/components.h"
#include "vifi/eval/protocols.h"
#include "vifi/eval/report.h"
#include "vifi/experiment/runs.h"
#include "vifi/experiment/training_job.h"
#include "vifi/model/prompt_checkpoint.h"
#include "vifi/model/weights.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

struct EvalCommandOptions {
  std::string setting;
  std::vector<std::string> configs;
  std::vector<std::string> novel_configs;
  std::vector<std::string> weights;
  std::string clip_archive;  // --clip
  std::vector<int64_t> shots{2, 4, 8, 16};
  std::vector<std::string> opts;
  std::string output;
  std::string prompts;  // a `vifi prompt` prompts.pth
  bool train = false;
  RankFlags rank_flags;
};

// --config i with --weights (one for all, or one per config) and --prompts applied: a new
// config value, the file as parsed is not edited.
Config config_for(const EvalCommandOptions& o, const std::string& path, size_t index) {
  auto config = load_config(path, o.opts);
  if (o.weights.size() > 1 && o.weights.size() != o.configs.size())
    throw std::runtime_error("--weights: give one file, or one per --config (" + std::to_string(o.configs.size()) +
                             "), got " + std::to_string(o.weights.size()));
  if (!o.weights.empty()) config = experiment::with_weights(config, o.weights[o.weights.size() == 1 ? 0 : index]);
  if (!o.clip_archive.empty()) config.model.clip_archive = std::filesystem::absolute(o.clip_archive).string();
  if (config.data.val_file.empty()) throw std::runtime_error(path + ": DATA.VAL_FILE is not set");
  // The prompt learner's shape is the file's, whatever the YAML says.
  if (!o.prompts.empty())
    config.trainer = experiment::with_prompt_options(config.trainer, model::read_prompt_info(o.prompts).options);
  return config;
}

std::vector<Config> configs_for(const EvalCommandOptions& o) {
  std::vector<Config> configs;
  for (size_t i = 0; i < o.configs.size(); ++i) configs.push_back(config_for(o, o.configs[i], i));
  return configs;
}

// The model a run evaluates: the config's weights, MODEL.RESUME's checkpoint, --prompts.
model::ViFiCLIP model_for(const Config& config, const std::string& prompts) {
  auto model = experiment::build_model(config, experiment::load_class_names(config));
  if (!config.model.resume.empty())
    util::load_state_dict(*model, model::read_vifi_checkpoint_model(config.model.resume),
                          util::strict_load(config.model.resume));
  if (!prompts.empty()) model::load_prompts(prompts, *model);
  model->clear_text_cache();
  return model;
}

// --train: fits the model on the run's TRAIN_FILE into OUTPUT/train_<name>, without validation on
// the way (the protocol evaluates the final model, as the reference reports it).
void train_for_protocol(model::ViFiCLIP& model, const EvalCommandOptions& o, const experiment::EvalRun& run,
                        const std::string& name, const experiment::RankContext& ranks) {
  experiment::TrainingJob job;
  job.name = name;
  job.ranks = ranks;
  job.config = experiment::with_training_output(run.config, o.output, name);
  if (experiment::run_training_job(model, job).end == experiment::TrainingOutcome::End::interrupted)
    throw std::runtime_error("interrupted while training " + name);
}

// What the summary says it evaluated: --weights' files, else the config's MODEL.RESUME /
// PRETRAINED (joined when the runs differ), "trained by --train from X" when trained.
std::string model_description(const EvalCommandOptions& o, const std::vector<Config>& configs) {
  std::vector<std::string> files;
  for (const auto& c : configs) {
    const auto& m = c.model;
    const auto file = !m.resume.empty() ? m.resume : !m.pretrained.empty() ? m.pretrained : "a random " + m.arch;
    if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
  }
  std::string text;
  for (const auto& f : files) text += (text.empty() ? "" : ", ") + f;
  if (!o.prompts.empty()) text += " with the prompts of " + o.prompts;
  return o.train ? "trained by --train from " + text : text;
}

eval::Summary run_zeroshot(const EvalCommandOptions& o, const experiment::RankContext& ranks) {
  std::vector<eval::RunReport> reports;
  for (const auto& run : experiment::zeroshot_runs(configs_for(o))) {
    auto model = model_for(run.config, o.prompts);
    reports.push_back(experiment::evaluate_config(model, run.config, run.name, ranks));
  }
  return eval::zeroshot_summary(std::move(reports));
}

// Seed i: the base config's model (trained with --train) on base_val, then on the novel classes.
eval::Summary run_base2novel(const EvalCommandOptions& o, const experiment::RankContext& ranks) {
  std::vector<Config> novels;
  for (const auto& path : o.novel_configs) novels.push_back(load_config(path, o.opts));
  std::vector<eval::RunReport> base, novel;
  for (const auto& seed : experiment::base2novel_runs(configs_for(o), novels)) {
    auto model = model_for(seed.base.config, o.prompts);
    if (o.train) train_for_protocol(model, o, seed.base, seed.seed, ranks);
    base.push_back(experiment::evaluate_config(model, seed.base.config, seed.base.name, ranks));
    novel.push_back(experiment::evaluate_config(model, seed.novel.config, seed.novel.name, ranks));
  }
  return eval::base2novel_summary(std::move(base), std::move(novel));
}

eval::Summary run_fewshot(const EvalCommandOptions& o, const experiment::RankContext& ranks) {
  std::vector<eval::RunReport> reports;
  for (const auto& run : experiment::fewshot_runs(configs_for(o), o.shots)) {
    auto model = model_for(run.config, o.prompts);
    if (o.train) train_for_protocol(model, o, run, run.name, ranks);
    reports.push_back(experiment::evaluate_config(model, run.config, run.name, ranks));
  }
  return eval::fewshot_summary(o.shots, std::move(reports));
}

eval::Summary run_supervised(const EvalCommandOptions& o, const experiment::RankContext& ranks) {
  if (o.configs.size() != 1) throw std::runtime_error("supervised: give exactly one --config");
  const auto runs = experiment::supervised_runs(config_for(o, o.configs[0], 0));
  auto model = model_for(runs[0].config, o.prompts);
  util::log_info("supervised: testing " + model_description(o, {runs[0].config}));
  auto single = experiment::evaluate_config(model, runs[0].config, runs[0].name, ranks);
  return eval::supervised_summary(std::move(single),
                                  experiment::evaluate_config(model, runs[1].config, runs[1].name, ranks));
}

int run_eval(EvalCommandOptions o) {
  const auto setting = eval::setting_from_string(o.setting);
  if (o.output.empty()) throw std::runtime_error("vifi eval: --output DIR is required");
  if (o.train && (setting == eval::Setting::zeroshot || setting == eval::Setting::supervised))
    throw std::runtime_error("--train applies to base2novel and fewshot (train zero-shot/supervised models with vifi train)");
  const auto ranks = join_job(o.rank_flags);
  experiment::add_log_file(o.output, ranks.placement.rank);
  eval::Summary summary;
  switch (setting) {
    case eval::Setting::zeroshot: summary = run_zeroshot(o, ranks); break;
    case eval::Setting::base2novel: summary = run_base2novel(o, ranks); break;
    case eval::Setting::fewshot: summary = run_fewshot(o, ranks); break;
    case eval::Setting::supervised: summary = run_supervised(o, ranks); break;
  }
  summary.model = model_description(o, configs_for(o));
  if (!ranks.is_main()) return 0;  // every rank holds the merged counts; one writes them
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
  cmd->add_option("--weights", o->weights, "OpenAI archive, vifi checkpoint or torch.save checkpoint (the authors' releases)");
  cmd->add_option("--clip", o->clip_archive, "OpenAI CLIP archive lending token_embedding.weight (MODEL.CLIP_ARCHIVE)");
  cmd->add_option("--prompts", o->prompts, "prompts.pth from `vifi prompt`, learned on the --weights base");
  cmd->add_option("--shots", o->shots, "fewshot: K of each --config (default 2 4 8 16)");
  cmd->add_option("--opts", o->opts, "KEY VALUE ... overrides applied to every config");
  cmd->add_option("--output", o->output, "report directory (results.json, results.md, CSVs)")->required();
  cmd->add_flag("--train", o->train, "base2novel/fewshot: train on each config's TRAIN_FILE first");
  add_rank_flags(*cmd, o->rank_flags);
  cmd->callback([o] {
    const int rc = run_eval(*o);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace vifi::cli

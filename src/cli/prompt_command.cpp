// `vifi prompt`: bridge and prompt (ViFi-CLIP Sec. 5). Starting from a fine-tuned ViFi-CLIP
// checkpoint (the bridge) or a vanilla CLIP archive, the CLIP is frozen and only deep
// vision-language prompts (model/prompt_learner) are learned for the low-data task:
//   fewshot     --shots K: K videos per class drawn (seed SEED) from DATA.TRAIN_FILE
//   base2novel  train on the base classes, evaluate base (VAL_FILE) and --novel-config's classes
// In the same run it measures what the paper compares: the frozen model without prompts
// (top-1), full fine-tuning's trainable parameters and training throughput against the
// prompts' (Table 9), then trains, evaluates and writes OUTPUT/prompts.pth (prompt tensors and
// the base model's identity, model/prompt_checkpoint) and results.json/results.md (eval/report).
// Under `vifi launch` / torchrun the ranks share the evaluations and the training; rank 0 writes.
#include <filesystem>
#include <optional>

#include "commands.h"
#include "rank_flags.h"
#include "vifi/config/config_yaml.h"
#include "vifi/experiment/components.h"
#include "vifi/data/dataset.h"
#include "vifi/bench/training_throughput.h"
#include "vifi/eval/protocols.h"
#include "vifi/experiment/runs.h"
#include "vifi/experiment/training_job.h"
#include "vifi/model/prompt_checkpoint.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

struct PromptCommandOptions {
  std::string config;
  std::string weights;
  std::string clip_archive;
  std::string setting = "fewshot";
  int64_t shots = 0;  // 0: DATA.TRAIN_FILE as it is
  std::string novel_config;
  std::vector<std::string> opts;
  std::string output;
  std::string resume;
  int bench_steps = 2;
  RankFlags rank_flags;
};

Config prompt_config(const PromptCommandOptions& o) {
  ConfigFlags flags;
  if (!o.output.empty()) flags.output = o.output;
  if (!o.weights.empty()) flags.pretrained = std::filesystem::absolute(o.weights).string();
  if (!o.resume.empty()) flags.resume = o.resume;
  if (!o.clip_archive.empty()) flags.clip_archive = std::filesystem::absolute(o.clip_archive).string();
  const auto config = experiment::prompting_config(load_config(o.config, o.opts, flags), o.config);
  if (config.output.empty()) throw std::runtime_error(o.config + ": OUTPUT is not set (use --output DIR)");
  if (config.data.val_file.empty()) throw std::runtime_error(o.config + ": DATA.VAL_FILE is not set");
  return config;
}

// OUTPUT/train_<K>_shot.txt: K videos per class of DATA.TRAIN_FILE, drawn with SEED. Rank 0
// writes it; the others wait until it is there.
std::string write_kshot_list(const Config& config, int64_t shots, const experiment::RankContext& ranks) {
  const auto path = (std::filesystem::path(config.output) / ("train_" + std::to_string(shots) + "_shot.txt")).string();
  if (ranks.is_main()) {
    const auto records = data::load_annotation_list(config.data.train_file);
    data::check_labels(records, config.data.num_classes, config.data.train_file);
    const auto subset =
        data::fewshot_subset(records, shots, static_cast<uint64_t>(config.seed), config.data.num_classes);
    data::write_annotation_list(path, subset);
    util::log_info(std::to_string(shots) + "-shot training list: " + std::to_string(subset.size()) + " videos in " +
                   path);
  }
  if (ranks.group) ranks.group->barrier();
  return path;
}

bench::TrainingThroughput measure(model::ViFiCLIP& model, const Config& config, const std::string& what,
                                  const PromptCommandOptions& o, torch::Device device) {
  bench::ThroughputOptions options;
  options.batch = config.train.batch_size;
  options.frames = config.data.num_frames;
  options.resolution = config.data.input_size;
  options.steps = o.bench_steps;
  options.device = device;
  options.opt_level = config.train.opt_level;
  const auto t = bench::measure_training_throughput(model, config.train, options);
  util::log_info(what + ": " + std::to_string(t.trainable_parameters) + " trainable parameters, " +
                 eval::format_percent(t.clips_per_second) + " training clips/s");
  return t;
}

int run_prompt(const PromptCommandOptions& o) {
  const auto config = prompt_config(o);
  std::optional<Config> novel;
  if (o.setting == "base2novel") {
    if (o.novel_config.empty()) throw std::runtime_error("base2novel: --novel-config NOVEL.yaml is required");
    novel = load_config(o.novel_config, o.opts);
  }
  const auto ranks = join_job(o.rank_flags);
  experiment::add_log_file(config.output, ranks.placement.rank);
  const auto names = experiment::load_class_names(config);

  // The same base without prompts, every encoder trainable: the frozen model's top-1 and full
  // fine-tuning's cost.
  auto frozen = experiment::build_model(experiment::full_finetuning_config(config), names);
  auto frozen_report = experiment::evaluate_config(frozen, config, "no_prompt", ranks);
  std::optional<eval::RunReport> frozen_novel, prompted_novel;
  if (novel) frozen_novel = experiment::evaluate_config(frozen, *novel, "no_prompt_novel", ranks);
  frozen->set_class_names(names);
  eval::PromptingCosts costs;
  const auto full = measure(frozen, config, "full fine-tuning", o, ranks.device);
  costs.full_parameters = full.trainable_parameters;
  costs.full_clips_per_s = full.clips_per_second;

  auto model = experiment::build_model(config, names);
  const auto prompt = measure(model, config, "prompts", o, ranks.device);
  costs.prompt_parameters = prompt.trainable_parameters;
  costs.prompt_clips_per_s = prompt.clips_per_second;
  if (costs.prompt_clips_per_s > 0 && costs.full_clips_per_s > 0)
    util::log_info("prompt training throughput is " + eval::format_percent(costs.prompt_clips_per_s / costs.full_clips_per_s) +
                   "x full fine-tuning's; trainable parameters " +
                   eval::format_percent(100.0 * static_cast<double>(costs.prompt_parameters) /
                                        static_cast<double>(std::max<int64_t>(1, costs.full_parameters))) +
                   "%");

  experiment::TrainingJob job;
  job.name = "prompt";
  job.config = config;
  job.train_list = o.shots > 0 ? write_kshot_list(config, o.shots, ranks) : config.data.train_file;
  job.ranks = ranks;
  job.resume = config.model.resume;
  job.checkpoint_module = model->prompt_learner().ptr();  // checkpoints hold the prompts only
  const auto outcome = experiment::run_training_job(model, job);
  if (outcome.end == experiment::TrainingOutcome::End::interrupted) {
    util::log_warn("continue with the same command and --resume " + outcome.interrupted_checkpoint);
    return 130;
  }
  const auto prompts_path = (std::filesystem::path(config.output) / "prompts.pth").string();
  if (ranks.is_main()) {
    model::save_prompts(prompts_path, *model, to_yaml(config));
    util::log_info("saved " + prompts_path);
  }
  auto prompted = experiment::evaluate_config(model, config, "prompt", ranks);
  if (novel) prompted_novel = experiment::evaluate_config(model, *novel, "prompt_novel", ranks);
  auto summary = eval::prompting_summary(o.setting + (o.shots > 0 ? " K=" + std::to_string(o.shots) : ""),
                                               std::move(frozen_report), std::move(prompted), std::move(frozen_novel),
                                               std::move(prompted_novel), costs);
  summary.model = (config.model.pretrained.empty() ? "a random " + config.model.arch : config.model.pretrained) +
                  " (frozen), with the prompts of " + prompts_path;
  if (!ranks.is_main()) return 0;
  eval::write_report(config.output, summary);
  util::log_info("\n" + eval::markdown_table(summary.table) + "results in " + config.output + "/results.json");
  return 0;
}

}  // namespace

void add_prompt_command(CLI::App& app) {
  auto o = std::make_shared<PromptCommandOptions>();
  auto* cmd = app.add_subcommand("prompt", "Learn deep vision-language prompts on a frozen (fine-tuned) CLIP");
  cmd->add_option("--config", o->config, "prompting YAML (configs/prompting/...)")->required();
  cmd->add_option("--weights", o->weights, "the frozen base: vifi or released checkpoint (bridge) or OpenAI archive (MODEL.PRETRAINED)");
  cmd->add_option("--clip", o->clip_archive, "OpenAI CLIP archive lending token_embedding.weight (MODEL.CLIP_ARCHIVE)");
  cmd->add_option("--setting", o->setting, "fewshot|base2novel")->check(CLI::IsMember({"fewshot", "base2novel"}));
  cmd->add_option("--shots", o->shots, "fewshot: K videos per class drawn from DATA.TRAIN_FILE (0: the list as is)")
      ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  cmd->add_option("--novel-config", o->novel_config, "base2novel: the novel-class YAML (LABEL_LIST, VAL_FILE)");
  cmd->add_option("--opts", o->opts, "KEY VALUE ... overrides, e.g. --opts TRAIN.EPOCHS 5");
  cmd->add_option("--output", o->output, "run directory (OUTPUT)");
  cmd->add_option("--resume", o->resume, "a prompt run's ckpt_epoch_N.pth / interrupted.pth to continue from");
  cmd->add_option("--bench-steps", o->bench_steps, "timed training steps for the throughput comparison (0: skip)")
      ->capture_default_str();
  add_rank_flags(*cmd, o->rank_flags);
  cmd->callback([o] {
    const int rc = run_prompt(*o);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace vifi::cli

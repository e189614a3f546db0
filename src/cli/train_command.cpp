// `vifi train`: ViFi-CLIP fine-tuning from a YAML config (the reference's main.py): the batch
// plan, training with validation every SAVE_FREQ epochs, and with TEST.MULTI_VIEW_INFERENCE the
// final model's 1-view and 4x3-view test (OUTPUT/results.json). --dry-run prints the plan only.
#include <iostream>

#include "commands.h"
#include "rank_flags.h"
#include "vifi/config/config_yaml.h"
#include "vifi/experiment/components.h"
#include "vifi/dist/torchrun_env.h"
#include "vifi/eval/report.h"
#include "vifi/experiment/training_job.h"
#include "vifi/model/weights.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

struct TrainOptions {
  std::string config;
  std::vector<std::string> opts;
  ConfigFlags flags;
  RankFlags rank_flags;
  bool dry_run = false;
  int world_size = 0;         // --dry-run: plan for this many ranks (0: this job's)
};

// --dry-run: the batch plan for this job's world size (or --world-size), from the lists alone.
int run_dry_run(const Config& config, const TrainOptions& o) {
  const auto env = dist::read_torchrun_env();
  const int world_size = o.world_size > 0 ? o.world_size : env ? env->world_size : 1;
  const auto plan = experiment::plan_training(config, "", world_size);
  std::cout << "batch plan: " << train::describe(plan) << "\n" << util::json_text(train::run_record(plan)) << "\n";
  return 0;
}

// --only-test: weights from MODEL.RESUME (a vifi checkpoint) if set, else MODEL.PRETRAINED.
int run_only_test(const Config& config, model::ViFiCLIP& model, const experiment::RankContext& ranks) {
  if (config.data.val_file.empty()) throw std::runtime_error("--only-test needs DATA.VAL_FILE");
  if (!config.model.resume.empty()) {
    util::load_state_dict(*model, model::read_vifi_checkpoint_model(config.model.resume),
                          util::strict_load(config.model.resume));
    model->clear_text_cache();
  }
  experiment::evaluate_config(model, config, "test", ranks);
  return 0;
}

int run_train(const TrainOptions& o) {
  const auto config = load_config(o.config, o.opts, o.flags);
  if (o.dry_run) return run_dry_run(config, o);
  if (o.world_size > 0) throw std::runtime_error("--world-size plans a --dry-run; a run's world size is its ranks'");
  if (config.output.empty()) throw std::runtime_error(o.config + ": OUTPUT is not set (use --output DIR)");
  const auto ranks = join_job(o.rank_flags);
  experiment::add_log_file(config.output, ranks.placement.rank);
  auto model = experiment::build_model(config, experiment::load_class_names(config));
  if (config.test.only_test) return run_only_test(config, model, ranks);

  experiment::TrainingJob job;
  job.config = config;
  job.validation = experiment::Validation::every_save_freq;
  job.resume = experiment::resume_checkpoint(config);
  job.ranks = ranks;
  const auto outcome = experiment::run_training_job(model, job);
  if (outcome.end == experiment::TrainingOutcome::End::interrupted) {
    util::log_warn("continue with: vifi train --config " + o.config + " --output " + config.output + " --resume " +
                   outcome.interrupted_checkpoint);
    return 130;
  }
  util::log_info("done: best top-1 " + eval::format_percent(outcome.progress.best_acc1) +
                 "%; checkpoints and metrics.jsonl in " + config.output);
  if (config.test.multi_view_inference && !config.data.val_file.empty()) {
    const auto summary = experiment::test_final_model(model, config, outcome, ranks);
    if (ranks.is_main()) {
      eval::write_report(config.output, summary);
      util::log_info("test of " + summary.model + ":\n" + eval::markdown_table(summary.table) + "results in " +
                     config.output + "/results.json");
    }
  }
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand("train", "Fine-tune CLIP on videos (ViFi-CLIP) from a YAML config");
  cmd->add_option("--config", o->config, "YAML config (the reference's schema, BASE: inheritance)")->required();
  cmd->add_option("--opts", o->opts, "KEY VALUE ... overrides, e.g. --opts TRAIN.LR 1e-5 DATA.NUM_FRAMES 16");
  cmd->add_option("--output", o->flags.output, "run directory (OUTPUT)");
  cmd->add_option("--resume", o->flags.resume, "vifi checkpoint to continue from (MODEL.RESUME)");
  cmd->add_option("--pretrained", o->flags.pretrained, "OpenAI CLIP archive, vifi or torch.save checkpoint (MODEL.PRETRAINED)");
  cmd->add_option("--clip", o->flags.clip_archive, "OpenAI CLIP archive lending token_embedding.weight (MODEL.CLIP_ARCHIVE)");
  cmd->add_option("--batch-size", o->flags.batch_size, "clips per micro-batch (TRAIN.BATCH_SIZE)");
  cmd->add_option("--accumulation-steps", o->flags.accumulation_steps,
                  "micro-batches per update (TRAIN.ACCUMULATION_STEPS; with TRAIN.GLOBAL_BATCH 0)");
  cmd->add_option("--global-batch", o->flags.global_batch,
                  "clips per update over all ranks; the accumulation follows the world size (TRAIN.GLOBAL_BATCH)");
  cmd->add_flag("--dry-run", o->dry_run, "print the batch plan (accumulation, updates per epoch) and exit; opens no video");
  cmd->add_option("--world-size", o->world_size, "with --dry-run: plan for this many ranks")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_flag("--only-test", o->flags.only_test, "evaluate MODEL.RESUME (or PRETRAINED) on DATA.VAL_FILE and exit");
  cmd->add_option("--seed", o->flags.seed, "SEED");
  add_rank_flags(*cmd, o->rank_flags);
  cmd->callback([o] {
    const int rc = run_train(*o);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace vifi::cli

// `vifi train`: ViFi-CLIP fine-tuning from a YAML config (the reference's main.py).
#include <chrono>

#include "commands.h"
#include "vifi/config/config_yaml.h"
#include "vifi/experiment/components.h"
#include "vifi/experiment/training_job.h"
#include "vifi/model/weights.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

struct TrainOptions {
  std::string config;
  std::vector<std::string> opts;
  ConfigFlags flags;
  int threads = 0;
  double dist_timeout = 600;  // seconds: rendezvous and collectives
};

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
  if (config.output.empty()) throw std::runtime_error(o.config + ": OUTPUT is not set (use --output DIR)");
  const auto ranks = experiment::join_job(o.threads, std::chrono::milliseconds(static_cast<int64_t>(o.dist_timeout * 1000)));
  experiment::set_threads(ranks.threads);
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
  cmd->add_option("--pretrained", o->flags.pretrained, "OpenAI CLIP archive or vifi checkpoint (MODEL.PRETRAINED)");
  cmd->add_option("--batch-size", o->flags.batch_size, "clips per micro-batch (TRAIN.BATCH_SIZE)");
  cmd->add_option("--accumulation-steps", o->flags.accumulation_steps, "micro-batches per update");
  cmd->add_flag("--only-test", o->flags.only_test, "evaluate MODEL.RESUME (or PRETRAINED) on DATA.VAL_FILE and exit");
  cmd->add_option("--seed", o->flags.seed, "SEED");
  cmd->add_option("--threads", o->threads, "CPU threads for LibTorch (default: all cores, shared by a node's ranks)");
  cmd->add_option("--dist-timeout", o->dist_timeout,
                  "seconds to wait for every rank at rendezvous and in each collective (vifi launch/torchrun)")
      ->capture_default_str();
  cmd->callback([o] {
    const int rc = run_train(*o);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace vifi::cli

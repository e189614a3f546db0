// `vifi train`: ViFi-CLIP fine-tuning from a YAML config (the reference's main.py).
#include <filesystem>
#include <thread>

#include "commands.h"
#include "config_yaml.h"
#include "experiment.h"
#include "vifi/dist/process_group.h"
#include "vifi/train/checkpoint.h"
#include "vifi/train/optimizer.h"
#include "vifi/train/trainer.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/interrupt.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

struct TrainOptions {
  std::string config;
  std::vector<std::string> opts;
  train::ConfigFlags flags;
  int threads = 0;
  double dist_timeout = 600;  // seconds: rendezvous and collectives
};

// This process's place in the job: one process, or a rank started by `vifi launch` / torchrun.
struct RankSetup {
  int rank = 0;
  int threads = 0;
  torch::Device device = torch::kCPU;
  std::shared_ptr<dist::ProcessGroup> group;  // null for one process
};

RankSetup setup_rank(const TrainOptions& o) {
  const auto env = dist::read_torchrun_env();
  if (!env) return {0, o.threads, pick_device(), nullptr};
  set_log_rank(env->rank);
  const auto device = dist::device_for(*env);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.dist_timeout * 1000));
  auto group = dist::ProcessGroup::connect(*env, device, {timeout});
  util::log_info("rank " + std::to_string(env->rank) + " of " + std::to_string(env->world_size) + " joined (" +
                 group->backend_name() + ", " + device.str() + ")");
  // The node's cores are shared by its ranks.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return {env->rank, o.threads > 0 ? o.threads : std::max(1, cores / env->local_world_size), device, group};
}

// --only-test: weights from MODEL.RESUME (a vifi checkpoint) if set, else MODEL.PRETRAINED.
void load_test_weights(const train::Config& config, model::ViFiCLIP& model) {
  if (config.model.resume.empty()) return;
  util::load_state_dict(*model, train::read_checkpoint_model(config.model.resume), {config.model.resume, {}, false});
  model->clear_text_cache();
}

std::optional<std::string> resume_checkpoint(const train::Config& config) {
  if (!config.model.resume.empty()) return config.model.resume;
  if (config.train.auto_resume) return train::find_latest_checkpoint(config.output);
  return std::nullopt;
}

void log_result(const std::string& what, const eval::EvalResult& r) {
  util::log_info(what + ": top-1 " + std::to_string(r.counts.top1()) + "%, top-5 " + std::to_string(r.counts.top5()) +
                 "% over " + std::to_string(r.counts.total()) + " videos x " + std::to_string(r.num_views) + " views" +
                 (r.failed.empty() ? "" : "; " + std::to_string(r.failed.size()) + " videos failed to decode"));
  for (const auto& f : r.failed) util::log_warn("not evaluated: " + f.path + ": " + f.reason);
}

int run_train(const TrainOptions& o) {
  auto config = load_config(o.config, o.opts, o.flags);
  if (config.output.empty()) throw std::runtime_error(o.config + ": OUTPUT is not set (use --output DIR)");
  const auto ranks = setup_rank(o);
  const int world = ranks.group ? ranks.group->world_size() : 1;
  set_threads(ranks.threads);
  std::filesystem::create_directories(config.output);
  add_log_file(config.output, ranks.rank);
  if (ranks.rank == 0)
    util::write_file_atomic((std::filesystem::path(config.output) / "config.yaml").string(), train::to_yaml(config));
  torch::manual_seed(static_cast<uint64_t>(config.seed));  // the same on every rank: same init, same epoch order

  const auto class_names = load_class_names(config);
  auto model = build_model(config, class_names);
  const auto device = ranks.device;
  auto val = config.data.val_file.empty()
                 ? nullptr
                 : make_batch_source(config, config.data.val_file, data::LoaderMode::eval, ranks.rank, world);
  if (config.test.only_test) {
    if (!val) throw std::runtime_error(o.config + ": --only-test needs DATA.VAL_FILE");
    load_test_weights(config, model);
    model->to(device);
    log_result("test", eval::evaluate(model, *val, {device, {}, ranks.group.get()}));
    return 0;
  }
  auto train_data = make_batch_source(config, config.data.train_file, data::LoaderMode::train, ranks.rank, world);
  train::TrainerOptions trainer_options;
  trainer_options.device = device;
  trainer_options.write_outputs = ranks.rank == 0;
  trainer_options.process_group = ranks.group;
  train::Trainer trainer(config, model, *train_data, val.get(), trainer_options);
  util::log_info("training " + std::to_string(train::count_parameters(train::trainable_parameters(*model))) +
                 " parameters (" + std::string(train::to_string(config.trainer.use)) + ") on " +
                 std::to_string(train_data->dataset_size()) + " videos, " + std::to_string(class_names.size()) +
                 " classes, device " + device.str());
  if (auto checkpoint = resume_checkpoint(config)) trainer.resume(*checkpoint);
  util::install_interrupt_handler();
  try {
    trainer.fit();
  } catch (const train::Interrupted& e) {
    util::log_warn(std::string(e.what()) + "; continue with: vifi train --config " + o.config + " --output " +
                   config.output + " --resume " + e.checkpoint_path);
    return 130;
  }
  if (train_data->replaced_samples() > 0)
    util::log_warn(std::to_string(train_data->replaced_samples()) + " training samples were replaced (bad videos)");
  util::log_info("done: best top-1 " + std::to_string(trainer.progress().best_acc1) + "%; checkpoints and metrics.jsonl in " +
                 config.output);
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

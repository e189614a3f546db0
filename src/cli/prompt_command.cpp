// `vifi prompt`: bridge and prompt (ViFi-CLIP Sec. 5). Starting from a fine-tuned ViFi-CLIP
// checkpoint (the bridge) or a vanilla CLIP archive, the CLIP is frozen and only deep
// vision-language prompts (model/prompt_learner) are learned for the low-data task:
//   fewshot     --shots K: K videos per class drawn (seed SEED) from DATA.TRAIN_FILE
//   base2novel  train on the base classes, evaluate base (VAL_FILE) and --novel-config's classes
// In the same run it measures what the paper compares: the frozen model without prompts
// (top-1), full fine-tuning's trainable parameters and training throughput against the
// prompts' (Table 9), then trains, evaluates and writes OUTPUT/prompts.pth (prompt tensors and
// the base model's identity, model/prompt_checkpoint) and results.json/results.md (eval/report).
#include <chrono>
#include <filesystem>

#include "commands.h"
#include "config_yaml.h"
#include "experiment.h"
#include "vifi/data/dataset.h"
#include "vifi/model/prompt_checkpoint.h"
#include "vifi/train/mixed_precision.h"
#include "vifi/train/optimizer.h"
#include "vifi/train/trainer.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/interrupt.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

struct PromptCommandOptions {
  std::string config;
  std::string weights;
  std::string setting = "fewshot";
  int64_t shots = 0;  // 0: DATA.TRAIN_FILE as it is
  std::string novel_config;
  std::vector<std::string> opts;
  std::string output;
  std::string resume;
  int bench_steps = 2;
  int threads = 0;
};

// Training throughput of one model on a random batch of the configured size.
struct Throughput {
  int64_t trainable_parameters = 0;
  double clips_per_second = 0;  // 0: not measured
};

train::Config prompt_config(const PromptCommandOptions& o) {
  train::ConfigFlags flags;
  if (!o.output.empty()) flags.output = o.output;
  if (!o.weights.empty()) flags.pretrained = std::filesystem::absolute(o.weights).string();
  if (!o.resume.empty()) flags.resume = o.resume;
  auto config = load_config(o.config, o.opts, flags);
  if (config.output.empty()) throw std::runtime_error(o.config + ": OUTPUT is not set (use --output DIR)");
  if (config.data.val_file.empty()) throw std::runtime_error(o.config + ": DATA.VAL_FILE is not set");
  config.trainer.prompt_model = true;  // whatever the YAML says: this command learns prompts
  if (config.trainer.n_ctx_text == 0 && config.trainer.n_ctx_vision == 0)
    throw std::runtime_error(o.config + ": no prompts to learn (TRAINER.ViFi_CLIP.N_CTX_TEXT and N_CTX_VISION are 0)");
  return config;
}

// OUTPUT/train_<K>_shot.txt: K videos per class of DATA.TRAIN_FILE, drawn with SEED.
std::string write_kshot_list(const train::Config& config, int64_t shots) {
  const auto records = data::load_annotation_list(config.data.train_file);
  data::check_labels(records, config.data.num_classes, config.data.train_file);
  const auto subset = data::fewshot_subset(records, shots, static_cast<uint64_t>(config.seed), config.data.num_classes);
  const auto path = (std::filesystem::path(config.output) / ("train_" + std::to_string(shots) + "_shot.txt")).string();
  data::write_annotation_list(path, subset);
  util::log_info(std::to_string(shots) + "-shot training list: " + std::to_string(subset.size()) + " videos in " + path);
  return path;
}

// The same base weights without prompts, every encoder trainable (the full fine-tuning reference).
model::ViFiCLIP frozen_base(train::Config config, const std::vector<std::string>& names) {
  config.trainer.prompt_model = false;
  config.trainer.use = train::EncoderUse::both;
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  return build_model(config, names);
}

// Trainable tensors by name, cloned, so a measurement's optimiser steps can be undone.
util::StateDict trainable_snapshot(model::ViFiCLIPImpl& model) {
  util::StateDict snapshot;
  for (const auto& p : model.named_parameters(true))
    if (p.value().requires_grad()) snapshot[p.key()] = p.value().detach().clone();
  return snapshot;
}

void restore(model::ViFiCLIPImpl& model, const util::StateDict& snapshot) {
  util::load_state_dict(model, snapshot, {"trainable snapshot", {}, true});
  model.clear_text_cache();
}

// Forward, backward and AdamW step on [B,T,3,R,R] noise; the first step warms up and is not timed.
// Reading the loss waits for the device, so the time covers the whole step on CUDA too.
Throughput measure_training(model::ViFiCLIP& model, const train::Config& config, torch::Device device, int steps) {
  const auto params = train::trainable_parameters(*model);
  Throughput t{train::count_parameters(params), 0.0};
  if (steps <= 0) return t;
  const auto snapshot = trainable_snapshot(*model);
  model->to(device);
  model->train();
  const auto b = config.train.batch_size, r = config.data.input_size;
  const auto video = torch::randn({b, config.data.num_frames, 3, r, r}, torch::TensorOptions().device(device));
  const auto labels = torch::randint(static_cast<int64_t>(model->class_names().size()), {b},
                                     torch::TensorOptions().dtype(torch::kLong).device(device));
  auto optimizer = train::make_adamw(params, config.train);
  auto step = [&] {
    optimizer->zero_grad();
    torch::Tensor loss;
    {
      train::AutocastGuard autocast(config.train.opt_level, device);
      loss = train::video_loss(model->forward(video).to(torch::kFloat32), labels, 0.0);
    }
    loss.backward();
    optimizer->step();
    return loss.item<double>();
  };
  step();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  t.clips_per_second = static_cast<double>(steps * b) / seconds;
  optimizer->zero_grad();
  restore(*model, snapshot);
  return t;
}

void log_throughput(const std::string& what, const Throughput& t) {
  util::log_info(what + ": " + std::to_string(t.trainable_parameters) + " trainable parameters, " +
                 std::to_string(t.clips_per_second) + " training clips/s");
}

// Trains the prompts on `train_list` into OUTPUT; checkpoints hold only the prompt learner.
// Returns false when interrupted (a resumable checkpoint was written).
bool train_prompts(model::ViFiCLIP& model, const train::Config& config, const std::string& train_list,
                   torch::Device device) {
  auto data = make_batch_source(config, train_list, data::LoaderMode::train);
  train::TrainerOptions options;
  options.device = device;
  options.checkpoint_module = model->prompt_learner().ptr();
  train::Trainer trainer(config, model, *data, nullptr, options);
  util::log_info("learning " + std::to_string(train::count_parameters(train::trainable_parameters(*model))) +
                 " prompt parameters on " + std::to_string(data->dataset_size()) + " videos, device " + device.str());
  if (!config.model.resume.empty()) trainer.resume(config.model.resume);
  util::install_interrupt_handler();
  try {
    trainer.fit();
  } catch (const train::Interrupted& e) {
    util::log_warn(std::string(e.what()) + "; continue with the same command and --resume " + e.checkpoint_path);
    return false;
  }
  return true;
}

double harmonic_mean(double a, double b) { return a + b > 0 ? 2 * a * b / (a + b) : 0.0; }

// Measured numbers of one run, in the order they are made.
struct PromptRun {
  eval::RunReport frozen, prompted;
  std::optional<eval::RunReport> frozen_novel, prompted_novel;
  Throughput full, prompt;
};

std::string rate(double clips_per_second) { return clips_per_second > 0 ? eval::format_percent(clips_per_second) : "-"; }

eval::Summary summarise(const std::string& setting, PromptRun run) {
  eval::Summary s;
  s.setting = "prompting " + setting;
  const bool novel = run.prompted_novel.has_value();
  const double f1 = run.frozen.result.counts.top1(), p1 = run.prompted.result.counts.top1();
  s.metrics = {{"top1_no_prompt", f1},
               {"top1_prompt", p1},
               {"trainable_params_full", static_cast<double>(run.full.trainable_parameters)},
               {"trainable_params_prompt", static_cast<double>(run.prompt.trainable_parameters)},
               {"train_clips_per_s_full", run.full.clips_per_second},
               {"train_clips_per_s_prompt", run.prompt.clips_per_second}};
  s.table.header = {"model", "trainable params", "train clips/s", novel ? "base top-1" : "top-1"};
  s.table.rows = {{"frozen, no prompts", "0", "-", eval::format_percent(f1)},
                  {"full fine-tuning (measured only)", std::to_string(run.full.trainable_parameters),
                   rate(run.full.clips_per_second), "-"},
                  {"prompts (trained)", std::to_string(run.prompt.trainable_parameters),
                   rate(run.prompt.clips_per_second), eval::format_percent(p1)}};
  if (novel) {
    const double fn = run.frozen_novel->result.counts.top1(), pn = run.prompted_novel->result.counts.top1();
    s.metrics.insert(s.metrics.end(), {{"novel_top1_no_prompt", fn},
                                       {"novel_top1_prompt", pn},
                                       {"hm_no_prompt", harmonic_mean(f1, fn)},
                                       {"hm_prompt", harmonic_mean(p1, pn)}});
    s.table.header.insert(s.table.header.end(), {"novel top-1", "HM"});
    s.table.rows[0].insert(s.table.rows[0].end(), {eval::format_percent(fn), eval::format_percent(harmonic_mean(f1, fn))});
    s.table.rows[1].insert(s.table.rows[1].end(), {"-", "-"});
    s.table.rows[2].insert(s.table.rows[2].end(), {eval::format_percent(pn), eval::format_percent(harmonic_mean(p1, pn))});
  }
  s.runs = {std::move(run.frozen), std::move(run.prompted)};
  if (novel) {
    s.runs.push_back(std::move(*run.frozen_novel));
    s.runs.push_back(std::move(*run.prompted_novel));
  }
  return s;
}

// Frozen model without prompts: top-1 (base and novel) and full fine-tuning's cost.
void measure_frozen(const train::Config& config, const std::optional<train::Config>& novel, const PromptCommandOptions& o,
                    torch::Device device, PromptRun& run) {
  auto frozen = frozen_base(config, load_class_names(config));
  run.frozen = evaluate_config(frozen, config, "no_prompt");
  if (novel) run.frozen_novel = evaluate_config(frozen, *novel, "no_prompt_novel");
  frozen->set_class_names(load_class_names(config));
  run.full = measure_training(frozen, config, device, o.bench_steps);
  log_throughput("full fine-tuning", run.full);
}

int run_prompt(const PromptCommandOptions& o) {
  auto config = prompt_config(o);
  std::optional<train::Config> novel;
  if (o.setting == "base2novel") {
    if (o.novel_config.empty()) throw std::runtime_error("base2novel: --novel-config NOVEL.yaml is required");
    novel = load_config(o.novel_config, o.opts);
  }
  set_threads(o.threads);
  std::filesystem::create_directories(config.output);
  add_log_file(config.output, 0);
  const auto train_list = o.shots > 0 ? write_kshot_list(config, o.shots) : config.data.train_file;
  util::write_file_atomic((std::filesystem::path(config.output) / "config.yaml").string(), train::to_yaml(config));
  const auto device = pick_device();

  PromptRun run;
  measure_frozen(config, novel, o, device, run);
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  auto model = build_model(config, load_class_names(config));
  run.prompt = measure_training(model, config, device, o.bench_steps);
  log_throughput("prompts", run.prompt);
  if (run.prompt.clips_per_second > 0 && run.full.clips_per_second > 0)
    util::log_info("prompt training throughput is " + eval::format_percent(run.prompt.clips_per_second / run.full.clips_per_second) +
                   "x full fine-tuning's; trainable parameters " +
                   eval::format_percent(100.0 * static_cast<double>(run.prompt.trainable_parameters) /
                                        static_cast<double>(std::max<int64_t>(1, run.full.trainable_parameters))) +
                   "%");
  if (!train_prompts(model, config, train_list, device)) return 130;
  const auto prompts_path = (std::filesystem::path(config.output) / "prompts.pth").string();
  model::save_prompts(prompts_path, *model, train::to_yaml(config));
  util::log_info("saved " + prompts_path);
  run.prompted = evaluate_config(model, config, "prompt");
  if (novel) run.prompted_novel = evaluate_config(model, *novel, "prompt_novel");
  const auto summary = summarise(o.setting + (o.shots > 0 ? " K=" + std::to_string(o.shots) : ""), std::move(run));
  eval::write_report(config.output, summary);
  util::log_info("\n" + eval::markdown_table(summary.table) + "results in " + config.output + "/results.json");
  return 0;
}

}  // namespace

void add_prompt_command(CLI::App& app) {
  auto o = std::make_shared<PromptCommandOptions>();
  auto* cmd = app.add_subcommand("prompt", "Learn deep vision-language prompts on a frozen (fine-tuned) CLIP");
  cmd->add_option("--config", o->config, "prompting YAML (configs/prompting/...)")->required();
  cmd->add_option("--weights", o->weights, "the frozen base: vifi checkpoint (bridge) or OpenAI archive (MODEL.PRETRAINED)");
  cmd->add_option("--setting", o->setting, "fewshot|base2novel")->check(CLI::IsMember({"fewshot", "base2novel"}));
  cmd->add_option("--shots", o->shots, "fewshot: K videos per class drawn from DATA.TRAIN_FILE (0: the list as is)")
      ->check(CLI::Range(int64_t{0}, int64_t{100000}));
  cmd->add_option("--novel-config", o->novel_config, "base2novel: the novel-class YAML (LABEL_LIST, VAL_FILE)");
  cmd->add_option("--opts", o->opts, "KEY VALUE ... overrides, e.g. --opts TRAIN.EPOCHS 5");
  cmd->add_option("--output", o->output, "run directory (OUTPUT)");
  cmd->add_option("--resume", o->resume, "a prompt run's ckpt_epoch_N.pth / interrupted.pth to continue from");
  cmd->add_option("--bench-steps", o->bench_steps, "timed training steps for the throughput comparison (0: skip)")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads for LibTorch (default: all cores)");
  cmd->callback([o] {
    const int rc = run_prompt(*o);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace vifi::cli

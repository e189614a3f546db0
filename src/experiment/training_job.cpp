// The shared training job (see header).
#include "vifi/experiment/training_job.h"

#include <filesystem>

#include "vifi/eval/protocols.h"
#include "vifi/experiment/runs.h"
#include "vifi/train/optimizer.h"
#include "vifi/train/trainer.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/interrupt.h"
#include "vifi/util/logging.h"

namespace vifi::experiment {

std::string resume_checkpoint(const Config& config) {
  if (!config.model.resume.empty()) return config.model.resume;
  if (config.train.auto_resume) return train::find_latest_checkpoint(config.output).value_or("");
  return "";
}

TrainingOutcome run_training_job(model::ViFiCLIP& model, const TrainingJob& job) {
  const auto& config = job.config;
  if (config.output.empty()) throw ConfigError(job.name + ": OUTPUT is not set (use --output DIR)");
  std::filesystem::create_directories(config.output);
  if (job.ranks.is_main())
    util::write_file_atomic((std::filesystem::path(config.output) / "config.yaml").string(), to_yaml(config));
  const auto& list = job.train_list.empty() ? config.data.train_file : job.train_list;
  auto [train_data, plan] = make_training_data(config, list, job.ranks.placement);
  std::unique_ptr<BatchSource> val_data;
  if (job.validation == Validation::every_save_freq && !config.data.val_file.empty())
    val_data = make_eval_source(config, config.data.val_file, job.ranks.placement);

  TrainingOutcome outcome;
  train::TrainerOptions options;
  options.device = job.ranks.device;
  options.outputs = job.ranks.is_main() ? train::Outputs::write : train::Outputs::none;
  options.process_group = job.ranks.group;
  options.checkpoint_module = job.checkpoint_module;
  options.plan = plan;
  options.on_epoch_end = [&outcome](const train::EpochSummary& epoch) {
    if (epoch.validation) outcome.last_validation = epoch.validation;
  };
  train::Trainer trainer(config, model, *train_data, val_data.get(), options);
  outcome.trainable_parameters = train::count_parameters(train::trainable_parameters(*model));
  util::log_info(job.name + ": training " + std::to_string(outcome.trainable_parameters) + " parameters (" +
                 std::string(to_string(config.trainer.use)) + (config.trainer.prompt_model ? ", prompts" : "") +
                 ") on " + std::to_string(train_data->dataset_size()) + " videos, " +
                 std::to_string(model->class_names().size()) + " classes, device " + job.ranks.device.str());
  if (!job.resume.empty()) trainer.resume(job.resume);
  util::install_interrupt_handler();
  try {
    outcome.progress = trainer.fit();
  } catch (const train::Interrupted& e) {
    outcome.end = TrainingOutcome::End::interrupted;
    outcome.interrupted_checkpoint = e.checkpoint_path;
    outcome.progress = trainer.progress();
    util::log_warn(e.what());
  }
  outcome.replaced_samples = train_data->replaced_samples();
  if (outcome.replaced_samples > 0)
    util::log_warn(std::to_string(outcome.replaced_samples) + " training samples were replaced (bad videos)");
  return outcome;
}

train::BatchPlan plan_training(const Config& config, const std::string& list_file, int world_size) {
  const auto& list = list_file.empty() ? config.data.train_file : list_file;
  return train::plan_batches(config.train, static_cast<int64_t>(load_video_list(config, list).size()), world_size);
}

eval::Summary test_final_model(model::ViFiCLIP& model, const Config& config, const TrainingOutcome& outcome,
                               const RankContext& ranks) {
  const auto runs = supervised_runs(config);
  const auto& single = runs[0];
  std::optional<eval::RunReport> single_report;
  const bool validated_with_one_view = config.test.num_clip == 1 && config.test.num_crop == 1;
  if (validated_with_one_view && outcome.last_validation) {
    auto names = model->class_names();
    single_report = eval::RunReport{single.name, config.data.val_file, std::move(names), *outcome.last_validation};
  } else {
    single_report = evaluate_config(model, single.config, single.name, ranks);
  }
  auto multi = evaluate_config(model, runs[1].config, runs[1].name, ranks);
  auto summary = eval::supervised_summary(std::move(*single_report), std::move(multi));
  summary.model = "the final model of " + config.output + " (epoch " + std::to_string(outcome.progress.epoch - 1) + ")";
  return summary;
}

}  // namespace vifi::experiment

// Training loop implementation (see header for the contract).
#include "vifi/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "vifi/batch/device_prefetcher.h"
#include "vifi/train/losses.h"
#include "vifi/train/mixed_precision.h"
#include "vifi/train/mixup.h"
#include "vifi/train/optimizer.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/interrupt.h"
#include "vifi/util/json.h"
#include "vifi/util/logging.h"
#include "vifi/util/memory.h"

namespace vifi::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  std::ostringstream out;
  out << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ":" << std::setw(2) << s % 60;
  return out.str();
}

}  // namespace

Trainer::Trainer(Config config, model::ViFiCLIP model, BatchSource& train_data, BatchSource* val_data,
                 TrainerOptions options)
    : config_(std::move(config)),
      model_(std::move(model)),
      train_data_(train_data),
      val_data_(val_data),
      options_(std::move(options)) {
  if (options_.process_group) rank_ = options_.process_group->rank();
  accumulation_ = accumulation_steps_for(config_.train, options_.process_group ? options_.process_group->world_size() : 1);
  if (options_.plan && options_.plan->micro_batches_per_epoch != train_data_.num_batches())
    throw std::logic_error("Trainer: the batch plan has " + std::to_string(options_.plan->micro_batches_per_epoch) +
                           " micro-batches per epoch but the training source " +
                           std::to_string(train_data_.num_batches()));
  model_->to(options_.device);
  model_->clip()->visual->transformer->set_gradient_checkpointing(config_.train.use_checkpoint);
  model_->clip()->transformer->set_gradient_checkpointing(config_.train.use_checkpoint);
  params_ = trainable_parameters(*model_);
  optimizer_ = make_adamw(params_, config_.train);
  if (options_.process_group) grad_sync_ = std::make_unique<dist::GradSync>(params_, options_.process_group);
  schedule_ = make_lr_schedule(config_.train, steps_per_epoch());
  progress_.config_yaml = to_yaml(config_);
}

int64_t Trainer::steps_per_epoch() const {
  return (train_data_.num_batches() + accumulation_ - 1) / accumulation_;
}

int64_t Trainer::clips_in(int64_t first, int64_t last) const {
  int64_t clips = 0;
  for (int64_t k = first; k < last; ++k) clips += train_data_.batch_clips(k);
  return clips;
}

void Trainer::resume(const std::string& checkpoint) {
  const auto yaml = progress_.config_yaml;
  auto& saved = options_.checkpoint_module ? *options_.checkpoint_module : *model_;
  progress_ = load_checkpoint(checkpoint, saved, optimizer_.get());
  progress_.config_yaml = yaml;
  // The epoch checkpoint was written before its validation; a best.pth in OUTPUT knows the best
  // top-1 so far, so resuming never lets a worse epoch replace it.
  const auto best = output_path("best.pth");
  if (!config_.output.empty() && std::filesystem::exists(best))
    progress_.best_acc1 = std::max(progress_.best_acc1, read_checkpoint_progress(best).best_acc1);
  // A mid-epoch checkpoint counts micro-batches of its own world size; the update it stopped
  // before holds the same clips on any world size with the same global batch (train/batch_plan).
  if (progress_.step_in_epoch > 0 && progress_.accumulation_steps > 0) {
    const auto global = accumulation_ * config_.train.batch_size *
                        (options_.process_group ? options_.process_group->world_size() : 1);
    if (progress_.global_batch != global)
      throw std::runtime_error(checkpoint + ": stopped mid-epoch with a global batch of " +
                               std::to_string(progress_.global_batch) + " clips; this run's is " +
                               std::to_string(global) + " (resume it with the same TRAIN.GLOBAL_BATCH)");
    progress_.step_in_epoch = progress_.step_in_epoch / progress_.accumulation_steps * accumulation_;
  }
  model_->clear_text_cache();
  util::log_info("resumed from " + checkpoint + " at epoch " + std::to_string(progress_.epoch) + ", step " +
                 std::to_string(progress_.step_in_epoch) + " (best top-1 " + std::to_string(progress_.best_acc1) + ")");
}

TrainingProgress Trainer::fit() {
  // Ranks may differ after random init or a rank-local load: rank 0's weights win (resume loads
  // the same checkpoint everywhere, so this is a no-op there, and cheap).
  if (options_.process_group) {
    dist::broadcast_module(*model_, *options_.process_group, 0);
    model_->clear_text_cache();
  }
  if (options_.plan) {
    util::log_info("batch plan: " + describe(*options_.plan));
    append_metrics(util::json_text(run_record(*options_.plan)));
  }
  while (progress_.epoch < config_.train.epochs) train_epoch(progress_.epoch);  // end_epoch advances
  return progress_;
}

torch::Tensor Trainer::micro_step(const ClipBatch& batch, int64_t micro_index, double weight) {
  auto video = batch.video.to(options_.device);
  torch::Tensor targets = batch.label.to(options_.device);
  if (mixup_enabled(config_.aug)) {
    auto gen = mix_generator(static_cast<uint64_t>(config_.seed + rank_), micro_index);
    auto mixed = mix_batch(video, targets, mixup_options(config_.aug, static_cast<int64_t>(model_->class_names().size())), gen);
    video = mixed.video;
    targets = mixed.targets;
  }
  torch::Tensor loss;
  {
    AutocastGuard autocast(config_.train.opt_level, options_.device);
    auto logits = model_->forward(video);
    loss = video_loss(logits.to(torch::kFloat32), targets, config_.aug.label_smooth);
  }
  (loss * weight).backward();
  return loss.detach();
}

void Trainer::optimizer_step() {
  if (grad_sync_) grad_sync_->finish();  // every rank now holds the mean gradient
  if (config_.train.clip_grad > 0) torch::nn::utils::clip_grad_norm_(params_, config_.train.clip_grad);
  set_learning_rate(*optimizer_, lr_at(schedule_, progress_.optimizer_steps));
  optimizer_->step();
  optimizer_->zero_grad();
  progress_.optimizer_steps += 1;
}

void Trainer::train_epoch(int64_t epoch) {
  model_->train();
  const auto accum = accumulation_;
  const auto num_batches = train_data_.num_batches();
  DevicePrefetcher data(train_data_, options_.device);  // batch n+1's copy queued during step n
  data.start_epoch(epoch, progress_.step_in_epoch);
  optimizer_->zero_grad();
  // Losses stay on the device; the host reads them only when it prints.
  auto loss_sum = torch::zeros({}, torch::TensorOptions().device(options_.device));
  int64_t loss_count = 0;
  auto start = Clock::now();
  for (int64_t micro = progress_.step_in_epoch; micro < num_batches; ++micro) {
    if (micro % accum == 0 && interrupt_agreed()) {
      progress_.step_in_epoch = micro;
      save("interrupted.pth");
      throw Interrupted(output_path("interrupted.pth"));
    }
    auto batch = data.next();
    TORCH_CHECK(batch, "training data ended after ", micro, " of ", num_batches, " batches in epoch ", epoch);
    const auto group_start = micro / accum * accum;
    const auto group_end = std::min(group_start + accum, num_batches);
    const bool last_of_group = micro + 1 == group_end;
    if (grad_sync_ && last_of_group) grad_sync_->arm();  // reduce during this backward
    const double weight = static_cast<double>(batch->video.size(0)) /
                          static_cast<double>(clips_in(group_start, group_end));
    const auto loss = micro_step(*batch, epoch * num_batches + micro, weight);
    loss_sum += loss;
    ++loss_count;
    if (last_of_group) optimizer_step();
    // Every epoch's last step is a progress point, so a divergence is caught before end_epoch saves.
    if (micro % config_.print_freq == 0 || micro + 1 == num_batches) {
      const auto done = micro - progress_.step_in_epoch + 1;
      const double mean_loss = loss_sum.item<double>() / loss_count;
      log_progress(epoch, micro, loss.item<double>(), mean_loss, seconds_since(start) / done,
                   batch->video.size(0) * batch->video.size(1));
      stop_if_diverged(epoch, micro, mean_loss);
    }
  }
  end_epoch(epoch, loss_count ? loss_sum.item<double>() / loss_count : 0.0);
}

// Order matters: the epoch's checkpoint is written before validation starts, so a validation
// that throws (out of memory, a lost rank) or is killed costs no training; a video that fails to
// load is no such failure, the evaluator lists it and the epoch goes on.
void Trainer::end_epoch(int64_t epoch, double mean_loss) {
  EpochSummary summary{epoch, mean_loss, std::nullopt};
  const bool last = epoch + 1 == config_.train.epochs;
  const bool validate_now = epoch % config_.save_freq == 0 || last;
  // The saved position is the start of the next epoch, so resuming continues after this one.
  progress_.epoch = epoch + 1;
  progress_.step_in_epoch = 0;
  const std::string epoch_checkpoint = "ckpt_epoch_" + std::to_string(epoch) + ".pth";
  if (validate_now) {
    save(epoch_checkpoint);
    prune_checkpoints();
  }
  // best.pth holds the weights and progress, not the optimiser state (a third of the size): it is
  // for evaluation and deployment; training resumes from the epoch checkpoints. Those went out
  // with the previous best top-1, so resume() takes the best from OUTPUT/best.pth.
  if (validate_now && val_data_) {
    summary.validation = validate();
    if (record_validation(epoch, *summary.validation)) save("best.pth", Saved::weights);
  }
  if (options_.on_epoch_end) options_.on_epoch_end(summary);
}

// Updates the best top-1, logs and writes the metrics; returns whether this epoch is the best.
bool Trainer::record_validation(int64_t epoch, const eval::EvalResult& result) {
  const auto acc1 = result.counts.top1();
  const bool is_best = acc1 > progress_.best_acc1 || progress_.best_acc1 == 0.0;
  progress_.best_acc1 = std::max(progress_.best_acc1, acc1);
  append_metrics(util::json_text(util::Json{{"type", "val"},
                                            {"epoch", epoch},
                                            {"acc1", util::json_number(acc1)},
                                            {"acc5", util::json_number(result.counts.top5())},
                                            {"videos", result.counts.total()},
                                            {"failed", result.failed.size()}}));
  add_scalar("val/acc1", acc1, epoch);
  add_scalar("val/acc5", result.counts.top5(), epoch);
  util::log_info("epoch " + std::to_string(epoch) + ": top-1 " + std::to_string(acc1) + "% top-5 " +
                 std::to_string(result.counts.top5()) + "% (best " + std::to_string(progress_.best_acc1) + "%)" +
                 (result.failed.empty() ? "" : " over " + std::to_string(result.counts.total()) + " videos; " +
                                                  std::to_string(result.failed.size()) +
                                                  " failed to load and are not counted"));
  // Every epoch, not only the first: the loader warns once per bad file, and a reader of the last
  // epoch's log should still see which videos its numbers leave out.
  for (const auto& f : result.failed) {
    const bool names_path = f.reason.find(f.path) != std::string::npos;
    util::log_warn("epoch " + std::to_string(epoch) + " validation, not evaluated: " +
                   (names_path ? f.reason : f.path + ": " + f.reason));
  }
  return is_best;
}

eval::EvalResult Trainer::validate() {
  TORCH_CHECK(val_data_, "no validation data configured (DATA.VAL_FILE)");
  return eval::evaluate(model_, *val_data_, {options_.device, {}, options_.process_group.get()});
}

// Ranks get a signal at slightly different steps; all must stop at the same boundary, or the
// others would wait in an all-reduce that never comes. One tiny all-reduce per boundary.
bool Trainer::any_rank(bool local) {
  if (!options_.process_group) return local;
  auto flag = torch::tensor({local ? 1 : 0}, torch::kInt);
  options_.process_group->all_reduce_max(flag);
  return flag.item<int>() > 0;
}

void Trainer::stop_if_diverged(int64_t epoch, int64_t micro, double mean_loss) {
  if (!any_rank(!std::isfinite(mean_loss))) return;
  std::ostringstream msg;
  msg << "training diverged: the loss is no longer finite (mean of epoch " << epoch << " so far: " << mean_loss
      << ", at step " << micro + 1 << " of " << train_data_.num_batches() << ", lr " << std::scientific
      << std::setprecision(3) << lr_at(schedule_, std::max<int64_t>(0, progress_.optimizer_steps - 1))
      << "); nothing was saved from this epoch and the checkpoints before it are as they were. Lower TRAIN.LR or set "
         "TRAIN.CLIP_GRAD, then resume from the last ckpt_epoch_*.pth";
  throw Diverged(msg.str());
}

std::string Trainer::output_path(const std::string& name) const {
  return (std::filesystem::path(config_.output) / name).string();
}

void Trainer::prune_checkpoints() {
  if (options_.outputs == Outputs::none || config_.output.empty()) return;
  for (const auto& removed : prune_epoch_checkpoints(config_.output, config_.train.keep_checkpoints))
    util::log_info("removed " + removed + " (TRAIN.KEEP_CHECKPOINTS " +
                   std::to_string(config_.train.keep_checkpoints) + ")");
}

void Trainer::save(const std::string& name, Saved what) {
  if (options_.outputs == Outputs::none || config_.output.empty()) return;
  const auto& saved = options_.checkpoint_module ? *options_.checkpoint_module : *model_;
  progress_.accumulation_steps = accumulation_;
  progress_.global_batch =
      accumulation_ * config_.train.batch_size * (options_.process_group ? options_.process_group->world_size() : 1);
  save_checkpoint(output_path(name), saved, what == Saved::training_state ? optimizer_.get() : nullptr, progress_);
  util::log_info("saved " + output_path(name));
}

void Trainer::log_progress(int64_t epoch, int64_t micro, double loss, double avg_loss, double seconds_per_batch,
                           int64_t frames_per_batch) {
  const auto num_batches = train_data_.num_batches();
  const double lr = lr_at(schedule_, std::max<int64_t>(0, progress_.optimizer_steps - 1));
  const double eta = seconds_per_batch * static_cast<double>(num_batches - micro - 1 +
                                                               (config_.train.epochs - epoch - 1) * num_batches);
  const double fps = seconds_per_batch > 0 ? frames_per_batch / seconds_per_batch : 0.0;
  std::ostringstream msg;
  msg << "train [" << epoch << "/" << config_.train.epochs << "][" << micro + 1 << "/" << num_batches << "] eta "
      << format_duration(eta) << " lr " << std::scientific << std::setprecision(3) << lr << std::fixed
      << std::setprecision(4) << " loss " << loss << " (" << avg_loss << ") " << std::setprecision(1) << fps
      << " frames/s mem " << std::setprecision(0) << util::peak_resident_memory_mib() << "MiB";
  util::log_info(msg.str());
  // A NaN loss is written as null (util/json): the line stays valid JSON and the divergence visible.
  append_metrics(util::json_text(util::Json{{"type", "train"},
                                            {"epoch", epoch},
                                            {"step", micro},
                                            {"optimizer_step", progress_.optimizer_steps},
                                            {"lr", util::json_number(lr)},
                                            {"loss", util::json_number(loss)},
                                            {"frames_per_s", util::json_number(fps)}}));
  add_scalar("train/loss", loss, progress_.optimizer_steps);
  add_scalar("train/lr", lr, progress_.optimizer_steps);
}

void Trainer::append_metrics(const std::string& json_line) {
  if (options_.outputs == Outputs::none || config_.output.empty()) return;
  if (!metrics_) {
    std::filesystem::create_directories(config_.output);
    metrics_ = std::make_unique<MetricsAppender>(output_path("metrics.jsonl"));
  }
  metrics_->append(json_line);
}

void Trainer::add_scalar(const std::string& tag, double value, int64_t step) {
  if (options_.outputs == Outputs::none || config_.output.empty()) return;
  if (!tensorboard_) tensorboard_ = std::make_unique<util::TensorBoardWriter>(config_.output);
  tensorboard_->add_scalar(tag, value, step);
}

}  // namespace vifi::train

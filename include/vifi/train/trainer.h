// The training loop (ViFi-CLIP Sec. 4): micro-batches through the model, loss (CE, label
// smoothing or mixup/cutmix soft targets), gradient accumulation, optional clipping, AdamW with
// the per-update cosine schedule, validation every SAVE_FREQ epochs (after that epoch's checkpoint
// is written; videos that fail to load are listed, never fatal), atomic checkpoints, resume
// (bitwise identical on CPU), Ctrl-C checkpointing, progress lines, metrics.jsonl and the same
// scalars as TensorBoard events (util/tensorboard). best.pth holds weights and progress only;
// TRAIN.KEEP_CHECKPOINTS bounds the epoch checkpoints kept. A failed save (full disk) throws
// std::runtime_error naming the file, after which every earlier file is intact.
//
// Batches: the accumulation comes from TRAIN.GLOBAL_BATCH and the world size
// (train/batch_plan); the epoch is the batch source's micro-batches, grouped into updates of that
// many; each micro-batch's loss is weighted by its clips / its update's clips, so a short last
// update is the mean over its clips.
//
// Determinism: data order comes from the batch source per (seed, epoch); mixing draws from
// mix_generator(SEED + rank, micro-step), so ranks mix differently (the reference seeds rank r
// with SEED + r) and every run the same; nothing else is random, so resuming from any checkpoint
// replays exactly what an uninterrupted run would do.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "vifi/dist/grad_sync.h"
#include "vifi/eval/evaluator.h"
#include "vifi/model/vificlip.h"
#include "vifi/batch/batch_source.h"
#include "vifi/train/batch_plan.h"
#include "vifi/train/checkpoint.h"
#include "vifi/config/config.h"
#include "vifi/train/lr_schedule.h"
#include "vifi/train/metrics_log.h"
#include "vifi/util/interrupt.h"
#include "vifi/util/tensorboard.h"

namespace vifi::train {

// Thrown by fit() after Ctrl-C once the resumable checkpoint is written.
class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(const std::string& checkpoint)
      : std::runtime_error("interrupted; resumable checkpoint written to " + checkpoint), checkpoint_path(checkpoint) {}
  std::string checkpoint_path;
};

// Thrown when the training loss stops being finite (all ranks agree at a progress point). Without
// a loss scaler (fp32 on the CPU, bf16 on GPUs) one non-finite loss makes every weight NaN at the
// next update, and a run that went on would spend its remaining epochs writing NaN checkpoints
// that TRAIN.KEEP_CHECKPOINTS would keep in place of the good ones. Nothing is saved from the
// epoch it happens in.
class Diverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EpochSummary {
  int64_t epoch = 0;
  double mean_loss = 0;
  std::optional<eval::EvalResult> validation;
};

// Whether this process writes the run's files (checkpoints, metrics.jsonl, TensorBoard events):
// rank 0 does, the other ranks of a job do not.
enum class Outputs { write, none };

struct TrainerOptions {
  torch::Device device = torch::kCPU;
  Outputs outputs = Outputs::write;
  // Called after every epoch (the CLI prints tables; tests inspect).
  std::function<void(const EpochSummary&)> on_epoch_end;
  // Several ranks (data parallel): each rank's batch source holds its shard; parameters start
  // from rank 0's, gradients are averaged once per optimiser step, validation is merged and
  // Ctrl-C is agreed on. Null: one process, and nothing of dist/ is touched.
  std::shared_ptr<dist::ProcessGroup> process_group = nullptr;
  // What checkpoints hold and resume restores: null = the whole model. Prompting passes the
  // prompt learner, so its checkpoints are the prompts, not another copy of the frozen CLIP.
  std::shared_ptr<torch::nn::Module> checkpoint_module = nullptr;
  // The job's batch plan, when the caller built the batch source from it: logged, written as
  // metrics.jsonl's {"type":"run"} record, and checked against the source's micro-batches.
  std::optional<BatchPlan> plan = std::nullopt;
};

class Trainer {
 public:
  Trainer(Config config, model::ViFiCLIP model, BatchSource& train_data, BatchSource* val_data, TrainerOptions options);

  // Continues from a checkpoint (model, optimiser, schedule position, epoch, best top-1).
  void resume(const std::string& checkpoint);
  // Trains until TRAIN.EPOCHS; returns the progress at the end. Throws Interrupted on Ctrl-C,
  // Diverged when the loss is no longer finite.
  TrainingProgress fit();
  // One optimiser update's worth of micro-batches is done by fit(); this runs validation alone.
  eval::EvalResult validate();

  const TrainingProgress& progress() const { return progress_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  model::ViFiCLIP& model() { return model_; }
  int64_t steps_per_epoch() const;
  int64_t accumulation_steps() const { return accumulation_; }

 private:
  void train_epoch(int64_t epoch);
  // `weight`: this micro-batch's clips / its update's clips.
  torch::Tensor micro_step(const ClipBatch& batch, int64_t micro_index, double weight);
  // Clips of micro-batches [first, last) of an epoch on this rank.
  int64_t clips_in(int64_t first, int64_t last) const;
  void optimizer_step();
  // True on every rank when `local` is true on any (one tiny all-reduce; `local` alone without
  // a process group).
  bool any_rank(bool local);
  bool interrupt_agreed() { return any_rank(util::interrupt_requested()); }
  // Throws Diverged (on every rank alike) when `mean_loss`, the epoch's loss so far, is not finite.
  void stop_if_diverged(int64_t epoch, int64_t micro, double mean_loss);
  // Epoch checkpoint, then validation (see trainer.cpp for why in that order).
  void end_epoch(int64_t epoch, double mean_loss);
  bool record_validation(int64_t epoch, const eval::EvalResult& result);
  // What a checkpoint file holds: everything to resume, or the weights and progress (best.pth).
  enum class Saved { training_state, weights };
  void save(const std::string& name, Saved what = Saved::training_state);
  // TRAIN.KEEP_CHECKPOINTS: drops the oldest epoch checkpoints (rank 0 only, like save).
  void prune_checkpoints();
  std::string output_path(const std::string& name) const;
  void log_progress(int64_t epoch, int64_t micro, double loss, double avg_loss, double seconds_per_batch,
                    int64_t frames_per_batch);
  void append_metrics(const std::string& json_line);
  // The same scalars as metrics.jsonl, for `tensorboard --logdir OUTPUT` (rank 0 only).
  void add_scalar(const std::string& tag, double value, int64_t step);

  Config config_;
  model::ViFiCLIP model_;
  BatchSource& train_data_;
  BatchSource* val_data_;
  TrainerOptions options_;
  int rank_ = 0;
  int64_t accumulation_ = 1;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  LrSchedule schedule_;
  TrainingProgress progress_;
  std::unique_ptr<dist::GradSync> grad_sync_;  // null in a single process
  std::unique_ptr<util::TensorBoardWriter> tensorboard_;  // created with the first scalar
  std::unique_ptr<MetricsAppender> metrics_;              // created with the first record
};

}  // namespace vifi::train

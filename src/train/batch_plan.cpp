// Global batch -> accumulation, epoch and update counts (see header for the layout).
#include "vifi/train/batch_plan.h"

#include <algorithm>
#include <stdexcept>

namespace vifi::train {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

int64_t accumulation_steps_for(const TrainConfig& train, int world_size) {
  if (world_size < 1) throw std::invalid_argument("batch plan: world size " + std::to_string(world_size) + " < 1");
  if (train.global_batch <= 0) return train.accumulation_steps;
  const int64_t per_micro = world_size * train.batch_size;
  if (train.global_batch % per_micro != 0)
    throw ConfigError("TRAIN.GLOBAL_BATCH " + std::to_string(train.global_batch) + " is not a multiple of " +
                      std::to_string(world_size) + (world_size == 1 ? " rank" : " ranks") + " x TRAIN.BATCH_SIZE " +
                      std::to_string(train.batch_size) + " = " + std::to_string(per_micro) +
                      "; choose a BATCH_SIZE (--batch-size) that divides " +
                      std::to_string(train.global_batch / world_size) + " clips per rank");
  return train.global_batch / per_micro;
}

BatchPlan plan_batches(const TrainConfig& train, int64_t dataset_size, int world_size) {
  if (dataset_size < 1) throw std::invalid_argument("batch plan: the training list is empty");
  BatchPlan plan;
  plan.world_size = world_size;
  plan.batch_size = train.batch_size;
  plan.accumulation_steps = accumulation_steps_for(train, world_size);
  plan.global_batch = world_size * train.batch_size * plan.accumulation_steps;
  plan.dataset_size = dataset_size;
  plan.drop_last = train.drop_last;
  plan.epochs = train.epochs;
  const int64_t per_update_per_rank = train.batch_size * plan.accumulation_steps;
  if (train.drop_last) {
    plan.steps_per_epoch = dataset_size / plan.global_batch;
    if (plan.steps_per_epoch == 0)
      throw ConfigError(std::to_string(dataset_size) + " training videos make no full update of TRAIN.GLOBAL_BATCH " +
                        std::to_string(plan.global_batch) + " clips (" + std::to_string(world_size) + " ranks x " +
                        std::to_string(train.batch_size) + " x accumulation " +
                        std::to_string(plan.accumulation_steps) +
                        "); lower the global batch or set TRAIN.DROP_LAST false");
    plan.samples_per_rank = plan.steps_per_epoch * per_update_per_rank;
    plan.micro_batches_per_epoch = plan.steps_per_epoch * plan.accumulation_steps;
    plan.dropped_per_epoch = dataset_size - plan.steps_per_epoch * plan.global_batch;
  } else {
    plan.samples_per_rank = ceil_div(dataset_size, world_size);  // DistributedSampler's padded shard
    plan.micro_batches_per_epoch = ceil_div(plan.samples_per_rank, train.batch_size);
    plan.steps_per_epoch = ceil_div(plan.micro_batches_per_epoch, plan.accumulation_steps);
  }
  plan.total_updates = plan.steps_per_epoch * plan.epochs;
  return plan;
}

int64_t BatchPlan::micro_batch_clips(int64_t k) const {
  if (k < 0 || k >= micro_batches_per_epoch)
    throw std::out_of_range("batch plan: micro-batch " + std::to_string(k) + " of " +
                            std::to_string(micro_batches_per_epoch));
  return std::min(batch_size, samples_per_rank - k * batch_size);
}

std::string describe(const BatchPlan& p) {
  std::string text = std::to_string(p.world_size) + (p.world_size == 1 ? " rank" : " ranks") + " x " +
                     std::to_string(p.batch_size) + " clips x accumulation " + std::to_string(p.accumulation_steps) +
                     " = global batch " + std::to_string(p.global_batch) + "; " + std::to_string(p.dataset_size) +
                     " videos -> " + std::to_string(p.steps_per_epoch) + " updates per epoch (" +
                     std::to_string(p.micro_batches_per_epoch) + " micro-batches per rank";
  if (p.drop_last && p.dropped_per_epoch > 0)
    text += ", " + std::to_string(p.dropped_per_epoch) + " videos left out per epoch (TRAIN.DROP_LAST)";
  if (!p.drop_last && p.steps_per_epoch * p.global_batch != p.world_size * p.samples_per_rank)
    text += ", the last update short";
  return text + "), " + std::to_string(p.total_updates) + " updates in " + std::to_string(p.epochs) + " epochs";
}

util::Json run_record(const BatchPlan& p) {
  return util::Json{{"type", "run"},
                    {"world_size", p.world_size},
                    {"batch_size", p.batch_size},
                    {"accumulation_steps", p.accumulation_steps},
                    {"global_batch", p.global_batch},
                    {"dataset_size", p.dataset_size},
                    {"drop_last", p.drop_last},
                    {"samples_per_rank", p.samples_per_rank},
                    {"micro_batches_per_epoch", p.micro_batches_per_epoch},
                    {"steps_per_epoch", p.steps_per_epoch},
                    {"epochs", p.epochs},
                    {"total_updates", p.total_updates}};
}

}  // namespace vifi::train

// How a recipe's global batch becomes this job's micro-batches. The reference states its batch
// as "BS 64" = 8 GPUs x TRAIN.BATCH_SIZE 4 x ACCUMULATION_STEPS 2 (ViFi-CLIP configs, README);
// vifi keeps the clips per update (TRAIN.GLOBAL_BATCH) and derives the accumulation for the world
// size it runs on, so 1 CPU process, 1 GPU and 8 ranks do the same updates.
// Owns: the accumulation for a world size, drop_last at update granularity, the epoch's updates,
// and the report of that plan (log text, metrics.jsonl's {"type":"run"} record, --dry-run).
// Pure: the trainer, the loader's options (experiment/adapters) and `vifi train --dry-run` read
// the same numbers from here.
//
// Layout (W ranks, per-rank batch b, accumulation a, G = W x b x a, N training videos): the
// epoch's permutation is read in updates of G consecutive clips; rank r takes positions r, r+W,
// ... (data/sharding), in a micro-batches of b. Update u therefore trains the same clips on any
// world size; only float rounding differs.
//   DROP_LAST true:  floor(N / G) updates; each rank loads floor(N / G) x a x b clips. The
//                    reference's loop does floor(floor(ceil(N/W) / b) / a) updates (drop_last
//                    loader, no step on a short last group): the same number, except when W does
//                    not divide N and its sampler's padding completes one more update.
//   DROP_LAST false: ceil(N / G) updates; each rank trains its whole padded shard ceil(N / W),
//                    the last micro-batch and the last update short. Each micro-batch's loss is
//                    weighted by its clips / the update's clips, so a short update is the mean
//                    over its clips (the reference divides by ACCUMULATION_STEPS whatever the
//                    group holds).
#pragma once
#include <cstdint>
#include <string>

#include "vifi/config/config.h"
#include "vifi/util/json.h"

namespace vifi::train {

struct BatchPlan {
  int world_size = 1;
  int64_t batch_size = 1;              // clips per rank per micro-batch (TRAIN.BATCH_SIZE)
  int64_t accumulation_steps = 1;      // micro-batches per update on each rank
  int64_t global_batch = 1;            // clips per full update, all ranks together
  int64_t dataset_size = 0;            // videos in the training list (N)
  bool drop_last = true;               // TRAIN.DROP_LAST
  int64_t samples_per_rank = 0;        // clips each rank trains per epoch
  int64_t micro_batches_per_epoch = 0; // on each rank
  int64_t steps_per_epoch = 0;         // optimizer updates per epoch
  int64_t epochs = 0;                  // TRAIN.EPOCHS
  int64_t total_updates = 0;           // steps_per_epoch x epochs
  int64_t dropped_per_epoch = 0;       // videos of the list not trained in an epoch (drop_last)

  // Clips one rank trains in micro-batch `k` of an epoch (0 <= k < micro_batches_per_epoch).
  int64_t micro_batch_clips(int64_t k) const;
};

// TRAIN.GLOBAL_BATCH / (world_size x BATCH_SIZE) when GLOBAL_BATCH is set, else
// ACCUMULATION_STEPS. Throws ConfigError naming both numbers when they do not divide:
// "TRAIN.GLOBAL_BATCH 64 is not a multiple of 3 ranks x TRAIN.BATCH_SIZE 4 = 12".
int64_t accumulation_steps_for(const TrainConfig& train, int world_size);

// The plan for `dataset_size` training videos on `world_size` ranks. Throws ConfigError as
// accumulation_steps_for, and when DROP_LAST leaves no update ("N videos make no full update of
// G clips"), std::invalid_argument when dataset_size < 1 or world_size < 1.
BatchPlan plan_batches(const TrainConfig& train, int64_t dataset_size, int world_size);

// "2 ranks x 4 clips x accumulation 8 = global batch 64; 816 videos -> 12 updates per epoch (48
// clips dropped), 600 updates in 50 epochs"
std::string describe(const BatchPlan& plan);

// {"type":"run","world_size":..,"batch_size":..,"accumulation_steps":..,"global_batch":..,
//  "steps_per_epoch":..,"total_updates":..,...}: the first record of metrics.jsonl.
util::Json run_record(const BatchPlan& plan);

}  // namespace vifi::train

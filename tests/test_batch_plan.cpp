// train/batch_plan: the accumulation a recipe's global batch needs at each world size, and the
// epoch's updates with and without drop_last, against counts done by hand (the reference's
// loop: DistributedSampler + DataLoader(drop_last=True) + a step every ACCUMULATION_STEPS).
#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "vifi/train/batch_plan.h"

namespace vifi {
namespace {

TrainConfig recipe(int64_t global_batch, int64_t batch_size, bool drop_last = true) {
  TrainConfig t;
  t.global_batch = global_batch;
  t.batch_size = batch_size;
  t.drop_last = drop_last;
  t.epochs = 50;
  return t;
}

TEST(BatchPlan, TheAccumulationKeepsTheGlobalBatchOnEveryWorldSize) {
  const auto t = recipe(64, 4);
  EXPECT_EQ(train::accumulation_steps_for(t, 8), 2);   // the reference's 8 GPUs x 4 x 2
  EXPECT_EQ(train::accumulation_steps_for(t, 1), 16);  // one GPU or one CPU process
  EXPECT_EQ(train::accumulation_steps_for(t, 16), 1);  // two nodes of 8
  test::expect_error<ConfigError>([&] { train::accumulation_steps_for(t, 3); },
                                  {"TRAIN.GLOBAL_BATCH 64 is not a multiple of 3 ranks x TRAIN.BATCH_SIZE 4 = 12"});
  test::expect_error<ConfigError>([&] { train::accumulation_steps_for(t, 32); },  // 32 x 4 > 64
                                  {"TRAIN.GLOBAL_BATCH 64", "32 ranks x TRAIN.BATCH_SIZE 4 = 128"});
  // GLOBAL_BATCH 0, the reference's schema: ACCUMULATION_STEPS as written, the global batch grows.
  auto legacy = recipe(0, 4);
  legacy.accumulation_steps = 2;
  EXPECT_EQ(train::accumulation_steps_for(legacy, 8), 2);
  EXPECT_EQ(train::plan_batches(legacy, 816, 8).global_batch, 64);
  EXPECT_EQ(train::plan_batches(legacy, 816, 1).global_batch, 8);
}

// HMDB-51 16-shot fine-tuning (configs/few_shot/hmdb51/16_32_vifi_clip_16_shot.yaml): 51 x 16 =
// 816 videos, global batch 64, 50 epochs. The reference on 8 GPUs: ceil(816/8) = 102 clips per
// rank, 25 full batches of 4, a step every 2 -> 12 updates per epoch, 600 in all (the 25th batch
// is computed and its gradient zeroed by the next epoch's zero_grad).
TEST(BatchPlan, HmdbSixteenShotMatchesTheReferencesCountOnOneAndEightRanks) {
  const auto t = recipe(64, 4);
  for (const int w : {1, 2, 4, 8}) {
    SCOPED_TRACE(w);
    const auto plan = train::plan_batches(t, 816, w);
    EXPECT_EQ(plan.global_batch, 64);
    EXPECT_EQ(plan.accumulation_steps, 16 / w);
    EXPECT_EQ(plan.steps_per_epoch, 12);
    EXPECT_EQ(plan.total_updates, 600);
    EXPECT_EQ(plan.samples_per_rank, 12 * 64 / w);
    EXPECT_EQ(plan.micro_batches_per_epoch, 12 * 16 / w);
    EXPECT_EQ(plan.dropped_per_epoch, 816 - 768);
    for (int64_t k = 0; k < plan.micro_batches_per_epoch; ++k) ASSERT_EQ(plan.micro_batch_clips(k), 4);
  }
  EXPECT_EQ(train::describe(train::plan_batches(t, 816, 8)),
            "8 ranks x 4 clips x accumulation 2 = global batch 64; 816 videos -> 12 updates per epoch (24 "
            "micro-batches per rank, 48 videos left out per epoch (TRAIN.DROP_LAST)), 600 updates in 50 epochs");
}

// Without drop_last every clip trains: ceil(N / G) updates, the padded shard ceil(N / W) per
// rank, the last micro-batch and the last update short.
TEST(BatchPlan, WithoutDropLastTheLastUpdateIsShort) {
  auto t = recipe(8, 2, /*drop_last=*/false);
  t.epochs = 3;
  // 1 rank: 11 clips -> micro-batches 2,2,2,2,2,1 -> updates of 4 micro-batches: 8 clips, then 3.
  const auto one = train::plan_batches(t, 11, 1);
  EXPECT_EQ(one.accumulation_steps, 4);
  EXPECT_EQ(one.samples_per_rank, 11);
  EXPECT_EQ(one.micro_batches_per_epoch, 6);
  EXPECT_EQ(one.micro_batch_clips(5), 1);
  EXPECT_EQ(one.steps_per_epoch, 2);
  EXPECT_EQ(one.total_updates, 6);
  // 2 ranks: shards of ceil(11/2) = 6 (one clip twice, as DistributedSampler pads) -> 3
  // micro-batches of 2 per rank, accumulation 2 -> updates of 8 and 4 clips.
  const auto two = train::plan_batches(t, 11, 2);
  EXPECT_EQ(two.accumulation_steps, 2);
  EXPECT_EQ(two.samples_per_rank, 6);
  EXPECT_EQ(two.micro_batches_per_epoch, 3);
  EXPECT_EQ(two.micro_batch_clips(2), 2);
  EXPECT_EQ(two.steps_per_epoch, 2);
  EXPECT_THROW(two.micro_batch_clips(3), std::out_of_range);
  // With drop_last the same 11 clips make one update of 8.
  t.drop_last = true;
  EXPECT_EQ(train::plan_batches(t, 11, 2).steps_per_epoch, 1);
  EXPECT_EQ(train::plan_batches(t, 11, 2).dropped_per_epoch, 3);
}

// The number of updates does not depend on the world size (the point of a global batch).
TEST(BatchPlan, UpdatesPerEpochAreTheSameOnAnyWorldSize) {
  for (const bool drop : {true, false}) {
    for (const int64_t n : {37, 64, 100, 129}) {
      const auto t = recipe(16, 2, drop);
      const auto reference = train::plan_batches(t, n, 1);
      for (const int w : {2, 4, 8}) {
        SCOPED_TRACE("N " + std::to_string(n) + " W " + std::to_string(w) + (drop ? " drop" : ""));
        const auto plan = train::plan_batches(t, n, w);
        EXPECT_EQ(plan.steps_per_epoch, reference.steps_per_epoch);
        EXPECT_EQ(plan.total_updates, reference.total_updates);
        EXPECT_EQ(plan.global_batch, 16);
      }
      EXPECT_EQ(reference.steps_per_epoch, drop ? n / 16 : (n + 15) / 16);
    }
  }
}

TEST(BatchPlan, TooFewVideosForOneUpdateIsAnErrorNamingBoth) {
  test::expect_error<ConfigError>([] { train::plan_batches(recipe(64, 4), 40, 1); },
                                  {"40 training videos make no full update of TRAIN.GLOBAL_BATCH 64",
                                   "TRAIN.DROP_LAST false"});
  EXPECT_EQ(train::plan_batches(recipe(64, 4, false), 40, 1).steps_per_epoch, 1);
}

TEST(BatchPlan, RunRecordHoldsThePlan) {
  const auto json = train::run_record(train::plan_batches(recipe(64, 4), 816, 2));
  EXPECT_EQ(json.at("type"), "run");
  EXPECT_EQ(json.at("world_size"), 2);
  EXPECT_EQ(json.at("batch_size"), 4);
  EXPECT_EQ(json.at("accumulation_steps"), 8);
  EXPECT_EQ(json.at("global_batch"), 64);
  EXPECT_EQ(json.at("steps_per_epoch"), 12);
  EXPECT_EQ(json.at("total_updates"), 600);
  EXPECT_EQ(json.begin().key(), "type");  // readers can dispatch on the first key
}

}  // namespace
}  // namespace vifi

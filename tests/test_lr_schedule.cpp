// lr_schedule: warmup + cosine values against the formula written out here (timm
// CosineLRScheduler with t_initial = EPOCHS*n, warmup_t = WARMUP_EPOCHS*n, lr_min = LR/100).
#include <gtest/gtest.h>

#include <cmath>

#include "vifi/train/lr_schedule.h"

namespace {
using vifi::train::lr_at;
using vifi::train::make_lr_schedule;

const double kPi = std::acos(-1.0);
const double kTol = 1e-18;  // LR ~1e-5: a few ulps

vifi::TrainConfig train_config() {
  vifi::TrainConfig t;
  t.lr = 2.2e-5;
  t.epochs = 30;
  t.warmup_epochs = 5;
  return t;
}

// The formula, independently: W = 5*100, T = 30*100, lr_min = LR/100, warmup from 0.
double expected(int64_t step) {
  const double lr = 2.2e-5, lr_min = lr / 100;
  const double W = 500, T = 3000;
  if (step < W) return 0.0 + step * (lr - 0.0) / W;
  if (step >= T) return lr_min;
  return lr_min + 0.5 * (lr - lr_min) * (1 + std::cos(kPi * step / T));
}

TEST(LrSchedule, MakeFromConfig) {
  const auto s = make_lr_schedule(train_config(), 100);
  EXPECT_EQ(s.warmup_steps, 500);
  EXPECT_EQ(s.total_steps, 3000);
  EXPECT_DOUBLE_EQ(s.base_lr, 2.2e-5);
  EXPECT_DOUBLE_EQ(s.min_lr, 2.2e-7);
  EXPECT_DOUBLE_EQ(s.warmup_lr_init, 0.0);
  EXPECT_THROW(make_lr_schedule(train_config(), 0), std::invalid_argument);
}

TEST(LrSchedule, ValuesAtStepZeroWarmupMiddleEnd) {
  const auto s = make_lr_schedule(train_config(), 100);
  EXPECT_DOUBLE_EQ(lr_at(s, 0), 0.0);
  EXPECT_DOUBLE_EQ(lr_at(s, 250), 1.1e-5);                  // half-way through warmup
  EXPECT_NEAR(lr_at(s, 499), expected(499), kTol);          // last warmup step: 499/500 * LR
  EXPECT_NEAR(lr_at(s, 500), expected(500), kTol);          // end of warmup: cosine at t = W
  EXPECT_LT(lr_at(s, 500), 2.2e-5);                         // ... already past the peak
  EXPECT_DOUBLE_EQ(lr_at(s, 1500), (2.2e-5 + 2.2e-7) / 2);  // middle: cos(pi/2) = 0
  EXPECT_NEAR(lr_at(s, 2999), expected(2999), kTol);
  EXPECT_DOUBLE_EQ(lr_at(s, 3000), 2.2e-7);  // end: the floor LR/100
  EXPECT_DOUBLE_EQ(lr_at(s, 10000), 2.2e-7);
  for (int64_t step = 0; step < 3100; step += 37) EXPECT_NEAR(lr_at(s, step), expected(step), kTol);
}

TEST(LrSchedule, NoWarmup) {
  auto t = train_config();
  t.warmup_epochs = 0;
  const auto s = make_lr_schedule(t, 10);
  EXPECT_DOUBLE_EQ(lr_at(s, 0), 2.2e-5);
  EXPECT_DOUBLE_EQ(lr_at(s, 150), (2.2e-5 + 2.2e-7) / 2);
}

}  // namespace

// Learning-rate schedule: linear warmup then one cosine cycle, per optimizer update, as the
// reference's timm CosineLRScheduler (utils/optimizer.py build_scheduler: t_initial = EPOCHS * n,
// warmup_t = WARMUP_EPOCHS * n, warmup_lr_init = 0, lr_min = LR / 100, cycle_limit = 1,
// t_in_epochs = False, warmup_prefix = False). With W = warmup_steps, T = total_steps:
//   step <  W:       warmup_lr_init + step * (base_lr - warmup_lr_init) / W
//   W <= step < T:   min_lr + (base_lr - min_lr) * (1 + cos(pi * step / T)) / 2
//   step >= T:       min_lr
// The cosine runs over the whole run (t counts from 0, not from the end of warmup), so at
// step W it is already a little below base_lr. LR is used as written (no batch-size scaling).
#pragma once
#include <cstdint>

#include "vifi/config/config.h"

namespace vifi::train {

struct LrSchedule {
  double base_lr = 0;         // TRAIN.LR
  double min_lr = 0;          // TRAIN.LR / 100
  double warmup_lr_init = 0;  // LR at step 0
  int64_t warmup_steps = 0;   // W = WARMUP_EPOCHS * steps_per_epoch
  int64_t total_steps = 1;    // T = EPOCHS * steps_per_epoch
};

// steps_per_epoch: optimizer updates per epoch (micro-batches / ACCUMULATION_STEPS).
LrSchedule make_lr_schedule(const TrainConfig& train, int64_t steps_per_epoch);

// The learning rate for optimizer update `step` (0-based). Pure.
double lr_at(const LrSchedule& schedule, int64_t step);

}  // namespace vifi::train

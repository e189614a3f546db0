// Warmup + cosine learning rate; the formula is written out in include/vifi/train/lr_schedule.h.
#include "vifi/train/lr_schedule.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vifi::train {
namespace {
const double kPi = std::acos(-1.0);
}  // namespace

LrSchedule make_lr_schedule(const TrainConfig& train, int64_t steps_per_epoch) {
  if (steps_per_epoch < 1)
    throw std::invalid_argument("make_lr_schedule: steps_per_epoch must be >= 1, got " +
                                std::to_string(steps_per_epoch));
  LrSchedule s;
  s.base_lr = train.lr;
  s.min_lr = train.lr / 100;
  s.warmup_lr_init = 0;
  s.warmup_steps = train.warmup_epochs * steps_per_epoch;
  s.total_steps = train.epochs * steps_per_epoch;
  return s;
}

double lr_at(const LrSchedule& s, int64_t step) {
  if (step < s.warmup_steps)
    return s.warmup_lr_init + static_cast<double>(step) * (s.base_lr - s.warmup_lr_init) /
                                  static_cast<double>(s.warmup_steps);
  if (step >= s.total_steps) return s.min_lr;
  const double progress = static_cast<double>(step) / static_cast<double>(s.total_steps);
  return s.min_lr + 0.5 * (s.base_lr - s.min_lr) * (1 + std::cos(kPi * progress));
}

}  // namespace vifi::train

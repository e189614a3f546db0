// When to save a state that only grows and is rewritten whole on each save (a video index's
// features: `vifi index`). Why: saving after every N new items writes O(total^2) bytes over a
// run: a 240k-video index saved every 64 videos would rewrite its 490 MB features file some 3,750
// times. SavePacing keeps the item rhythm while saves are cheap and stretches it once they are
// not, so saving takes at most about `max_fraction` of the run's time; what a crash loses stays
// bounded by the same ratio.
#pragma once
#include <cstdint>

namespace vifi::util {

class SavePacing {
 public:
  // A save is due after `every` (>= 1) new items since the last one, and once the time since it
  // ended is at least (1 / max_fraction - 1) times what it took. Times are seconds on any clock.
  SavePacing(int64_t every, double max_fraction) : every_(every < 1 ? 1 : every), max_fraction_(max_fraction) {}

  bool due(int64_t items, double now) const {
    if (items - saved_items_ < every_) return false;
    return now - saved_at_ >= last_cost_ * (1.0 / max_fraction_ - 1.0);
  }

  // A save of `items` items that ran from `started` to `finished`.
  void saved(int64_t items, double started, double finished) {
    saved_items_ = items;
    saved_at_ = finished;
    last_cost_ = finished > started ? finished - started : 0.0;
  }

 private:
  int64_t every_;
  double max_fraction_;
  int64_t saved_items_ = 0;
  double saved_at_ = 0.0;
  double last_cost_ = 0.0;
};

}  // namespace vifi::util

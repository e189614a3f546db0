// util/save_pacing: saves of a growing state keep their item rhythm while cheap and stretch once
// a save costs more than the allowed fraction of the time.
#include <gtest/gtest.h>

#include "vifi/util/save_pacing.h"

namespace vifi {
namespace {

TEST(SavePacing, CheapSavesFollowTheItemCount) {
  util::SavePacing pacing(64, 0.05);
  pacing.saved(0, 0.0, 0.0);
  EXPECT_FALSE(pacing.due(63, 100.0));
  EXPECT_TRUE(pacing.due(64, 0.001));
  pacing.saved(64, 10.0, 10.01);  // 10 ms: due again 190 ms after it, and 64 items on
  EXPECT_FALSE(pacing.due(127, 100.0));
  EXPECT_FALSE(pacing.due(128, 10.19));
  EXPECT_TRUE(pacing.due(128, 10.2));
}

TEST(SavePacing, SlowSavesAreSpacedToTheFraction) {
  // A 2 s save at 5%: the next one waits 38 s after it, whatever the item count.
  util::SavePacing pacing(64, 0.05);
  pacing.saved(1000, 100.0, 102.0);
  EXPECT_FALSE(pacing.due(5000, 139.9));
  EXPECT_TRUE(pacing.due(5000, 140.0));
  // Over a run of saves each costing a tenth of a second per thousand items saved, the time spent
  // saving stays near 5% where a save every 64 items would take most of the run.
  util::SavePacing paced(64, 0.05);
  paced.saved(0, 0.0, 0.0);
  double now = 0.0, saving = 0.0;
  for (int64_t items = 8; items <= 100000; items += 8) {
    now += 0.01;  // 8 items embedded
    if (paced.due(items, now)) {
      const double cost = 1e-4 * static_cast<double>(items);
      paced.saved(items, now, now + cost);
      now += cost;
      saving += cost;
    }
  }
  EXPECT_LT(saving / now, 0.06);
  EXPECT_GT(saving / now, 0.03);
  // Less than 1 new item is never enough.
  util::SavePacing every(0, 0.5);
  every.saved(3, 0.0, 0.0);
  EXPECT_FALSE(every.due(3, 10.0));
  EXPECT_TRUE(every.due(4, 10.0));
}

}  // namespace
}  // namespace vifi

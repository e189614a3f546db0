// data/sampling: exact indices against hand-computed cases of the reference's formulas.
#include "vifi/data/sampling.h"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <vector>

namespace vifi::data {
namespace {

using Indices = std::vector<int64_t>;

Rng rng_for(uint64_t seed) { return Rng::keyed(seed, 0, 0, RngStream::sampling); }

TEST(Sampling, TrainWithOneFramePerSegmentIsTheIdentity) {
  // n == T: avg = 1, randint(1) = 0.
  Rng rng = rng_for(1);
  EXPECT_EQ(sample_train_indices(8, 8, rng), (Indices{0, 1, 2, 3, 4, 5, 6, 7}));
  // n = 9, T = 8: avg = 9 // 8 = 1, the last frame is never used.
  EXPECT_EQ(sample_train_indices(9, 8, rng), (Indices{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(Sampling, TrainLongVideoDrawsOneFrameInsideEachSegment) {
  // n = 48, T = 8: avg = 6, index_i in [6i, 6i + 5]; every offset 0..5 occurs over many draws.
  std::vector<std::set<int64_t>> offsets(8);
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng = rng_for(seed);
    const Indices idx = sample_train_indices(48, 8, rng);
    ASSERT_EQ(idx.size(), 8u);
    for (int64_t i = 0; i < 8; ++i) {
      ASSERT_GE(idx[i], 6 * i);
      ASSERT_LT(idx[i], 6 * i + 6);
      offsets[i].insert(idx[i] - 6 * i);
    }
  }
  for (const auto& seen : offsets) EXPECT_EQ(seen.size(), 6u);
}

TEST(Sampling, TrainIsReproducibleForTheSameKey) {
  Rng a = Rng::keyed(7, 3, 11, RngStream::sampling);
  Rng b = Rng::keyed(7, 3, 11, RngStream::sampling);
  EXPECT_EQ(sample_train_indices(300, 16, a), sample_train_indices(300, 16, b));
  // Replaying the formula with the same generator gives the same numbers.
  Rng c = Rng::keyed(7, 3, 11, RngStream::sampling);
  Rng d = Rng::keyed(7, 3, 11, RngStream::sampling);
  const Indices idx = sample_train_indices(300, 16, c);
  for (int64_t i = 0; i < 16; ++i) EXPECT_EQ(idx[i], i * 18 + d.uniform_int(18));
}

TEST(Sampling, TrainShortVideoRoundsHalfToEvenAndWraps) {
  Rng rng = rng_for(0);
  // n = 7, T = 8: i * 0.875 = 0, .875, 1.75, 2.625, 3.5, 4.375, 5.25, 6.125.
  EXPECT_EQ(sample_train_indices(7, 8, rng), (Indices{0, 1, 2, 3, 4, 4, 5, 6}));
  // n = 5, T = 8: i * 0.625; 2.5 rounds to 2 (np.around is half-to-even).
  EXPECT_EQ(sample_train_indices(5, 8, rng), (Indices{0, 1, 1, 2, 2, 3, 4, 4}));
  // n = 4, T = 8: i * 0.5; 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4 which wraps to 0 (mod n).
  EXPECT_EQ(sample_train_indices(4, 8, rng), (Indices{0, 0, 1, 2, 2, 2, 3, 0}));
  // n = 3, T = 8: i * 0.375 -> 0,0,1,1,2,2,2,3 and 3 wraps to 0.
  EXPECT_EQ(sample_train_indices(3, 8, rng), (Indices{0, 0, 1, 1, 2, 2, 2, 0}));
  EXPECT_EQ(sample_train_indices(1, 8, rng), Indices(8, 0));
}

TEST(Sampling, TestModeTakesSegmentCentres) {
  // avg = 6: int(6i + 3).
  EXPECT_EQ(sample_test_indices(48, 8), (Indices{3, 9, 15, 21, 27, 33, 39, 45}));
  // avg = 1.25: int(1.25 i + 0.625).
  EXPECT_EQ(sample_test_indices(10, 8), (Indices{0, 1, 3, 4, 5, 6, 8, 9}));
  // n < T: avg = 0.375: int(0.375 i + 0.1875).
  EXPECT_EQ(sample_test_indices(3, 8), (Indices{0, 0, 0, 1, 1, 2, 2, 2}));
  EXPECT_EQ(sample_test_indices(8, 8), (Indices{0, 1, 2, 3, 4, 5, 6, 7}));
  // avg = 18.75: int(18.75 i + 9.375).
  EXPECT_EQ(sample_test_indices(300, 16),
            (Indices{9, 28, 46, 65, 84, 103, 121, 140, 159, 178, 196, 215, 234, 253, 271, 290}));
}

TEST(Sampling, ViewsAreEvenlyShiftedInsideEachSegment) {
  // avg = 6, V = 2: shifts 6 * 0.5 / 2 = 1.5 and 6 * 1.5 / 2 = 4.5.
  EXPECT_EQ(sample_view_indices(48, 8, 0, 2), (Indices{1, 7, 13, 19, 25, 31, 37, 43}));
  EXPECT_EQ(sample_view_indices(48, 8, 1, 2), (Indices{4, 10, 16, 22, 28, 34, 40, 46}));
  // V = 4: shifts 0.75, 2.25, 3.75, 5.25; view-major concatenation.
  const Indices all = sample_multiview_indices(24, 4, 4);
  EXPECT_EQ(all, (Indices{0, 6, 12, 18, 2, 8, 14, 20, 3, 9, 15, 21, 5, 11, 17, 23}));
  // One view is test mode.
  EXPECT_EQ(sample_multiview_indices(300, 16, 1), sample_test_indices(300, 16));
  // Short video, several views: indices stay in range.
  for (int64_t v : sample_multiview_indices(3, 8, 4)) {
    EXPECT_GE(v, 0);
    EXPECT_LT(v, 3);
  }
}

TEST(Sampling, RejectsEmptyVideosAndBadSizes) {
  Rng rng = rng_for(0);
  EXPECT_THROW(sample_train_indices(0, 8, rng), std::invalid_argument);
  EXPECT_THROW(sample_test_indices(10, 0), std::invalid_argument);
  EXPECT_THROW(sample_view_indices(10, 8, 2, 2), std::invalid_argument);
  EXPECT_THROW(sample_multiview_indices(10, 8, 0), std::invalid_argument);
  try {
    sample_test_indices(0, 8);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("0 frames"), std::string::npos) << e.what();
  }
}

TEST(Rng, UniformIntStaysInRangeAndStreamsDiffer) {
  Rng rng(42);
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = rng.uniform_int(7);
    ASSERT_GE(v, 0);
    ASSERT_LT(v, 7);
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
  Rng a = Rng::keyed(1, 2, 3, RngStream::sampling);
  Rng b = Rng::keyed(1, 2, 3, RngStream::augment);
  Rng c = Rng::keyed(1, 3, 2, RngStream::sampling);
  const uint64_t va = a.next_u64();
  EXPECT_NE(va, b.next_u64());
  EXPECT_NE(va, c.next_u64());
}

}  // namespace
}  // namespace vifi::data

// eval/views: the view layout of evaluation batches and the softmax mean over views.
#include <gtest/gtest.h>

#include <cmath>

#include "vifi/eval/views.h"

namespace vifi {
namespace {

TEST(Views, AverageIsTheSoftmaxMeanOverViews) {
  // 1 video, 2 views, 3 classes; view 0 favours class 0 weakly, view 1 favours class 2 strongly.
  const auto logits = torch::tensor({{1.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 3.0f}});  // [B*V,C]
  const auto agg = eval::average_views(logits, 2);
  ASSERT_EQ(agg.sizes(), (std::vector<int64_t>{1, 3}));
  const double e = std::exp(1.0), e3 = std::exp(3.0);
  const double p0 = (e / (e + 2) + 1 / (e3 + 2)) / 2, p2 = (1 / (e + 2) + e3 / (e3 + 2)) / 2;
  EXPECT_NEAR(agg[0][0].item<double>(), p0, 1e-6);
  EXPECT_NEAR(agg[0][2].item<double>(), p2, 1e-6);
  EXPECT_EQ(agg.argmax(1).item<int64_t>(), 2);
  // [B,V,C] gives the same, and rows of different videos are not mixed.
  const auto two = torch::stack({logits, logits.flip(0)});  // [2,2,3]
  const auto both = eval::average_views(two, 2);
  EXPECT_TRUE(torch::allclose(both[0], agg[0]));
  EXPECT_TRUE(torch::allclose(both[1], agg[0]));
}

TEST(Views, OneViewIsThePlainSoftmax) {
  const auto logits = torch::tensor({{2.0f, 1.0f}, {0.0f, 4.0f}});
  EXPECT_TRUE(torch::allclose(eval::average_views(logits, 1), logits.softmax(-1)));
}

TEST(Views, FlattenKeepsViewsOfAVideoTogether) {
  const auto video = torch::arange(2 * 3 * 1 * 3 * 2 * 2).view({2, 3, 1, 3, 2, 2}).to(torch::kFloat);
  const auto flat = eval::flatten_views(video);
  ASSERT_EQ(flat.sizes(), (std::vector<int64_t>{6, 1, 3, 2, 2}));
  EXPECT_TRUE(torch::equal(flat[4], video[1][1]));
  EXPECT_THROW(eval::flatten_views(video[0]), c10::Error);  // [V,T,...]: no batch axis
}

TEST(Views, LayoutFollowsTheTestKeys) {
  TestConfig test;
  test.num_clip = 2;
  test.num_crop = 3;
  EXPECT_EQ(eval::view_layout(test).count(), 6);
  const auto multi = eval::with_views(test, eval::kMultiViewInference);
  EXPECT_EQ(multi.num_clip, 4);
  EXPECT_EQ(multi.num_crop, 3);
  EXPECT_THROW(eval::average_views(torch::zeros({5, 3}), 2), c10::Error);  // 5 rows are not B*2
}

}  // namespace
}  // namespace vifi

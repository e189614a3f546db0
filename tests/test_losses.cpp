// losses: CE, label smoothing against a hand computation, soft-target CE.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vifi/train/losses.h"

namespace vifi::train {
namespace {

TEST(Losses, CrossEntropyMatchesHandComputation) {
  const auto logits = torch::tensor({{1.0, 2.0, 0.5}, {0.0, 0.0, 3.0}});
  const auto labels = torch::tensor({1, 0}, torch::kLong);
  // -log softmax: row 0 at class 1, row 1 at class 0.
  const double z0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(0.5));
  const double z1 = std::log(2.0 + std::exp(3.0));
  const double expected = ((z0 - 2.0) + (z1 - 0.0)) / 2;
  EXPECT_NEAR(hard_target_cross_entropy(logits, labels).item<double>(), expected, 1e-6);
}

TEST(Losses, LabelSmoothingHandComputation) {
  // s = 0.3, C = 3: off = 0.1, on = 0.8; loss = -sum_c q_c log p_c.
  const auto logits = torch::tensor({{1.0, 2.0, 0.5}});
  const auto labels = torch::tensor({1}, torch::kLong);
  const double z = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(0.5));
  const double lp[3] = {1.0 - z, 2.0 - z, 0.5 - z};
  const double expected = -(0.1 * lp[0] + 0.8 * lp[1] + 0.1 * lp[2]);
  EXPECT_NEAR(hard_target_cross_entropy(logits, labels, 0.3).item<double>(), expected, 1e-6);
  // Same as soft-target CE on the smoothed one-hot (the mixup path).
  const auto q = smooth_one_hot(labels, 3, 0.3);
  EXPECT_TRUE(torch::allclose(q, torch::tensor({{0.1f, 0.8f, 0.1f}})));
  EXPECT_NEAR(soft_target_cross_entropy(logits, q).item<double>(), expected, 1e-6);
}

TEST(Losses, SmoothOneHotRowsSumToOne) {
  const auto q = smooth_one_hot(torch::tensor({0, 3, 2}, torch::kLong), 4, 0.1);
  EXPECT_EQ(q.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(torch::allclose(q.sum(1), torch::ones({3})));
  EXPECT_FLOAT_EQ(q[1][3].item<float>(), 1.0f - 0.1f + 0.025f);
  EXPECT_FLOAT_EQ(q[1][0].item<float>(), 0.025f);
}

TEST(Losses, SoftTargetCrossEntropyHandComputation) {
  const auto logits = torch::tensor({{0.0, 1.0}, {2.0, 0.0}}, torch::kFloat64);
  const auto targets = torch::tensor({{0.25, 0.75}, {1.0, 0.0}}, torch::kFloat64);
  const double z0 = std::log(1.0 + std::exp(1.0));
  const double z1 = std::log(std::exp(2.0) + 1.0);
  const double row0 = -(0.25 * (0.0 - z0) + 0.75 * (1.0 - z0));
  const double row1 = -(1.0 * (2.0 - z1));
  EXPECT_NEAR(soft_target_cross_entropy(logits, targets).item<double>(), (row0 + row1) / 2, 1e-9);
}

TEST(Losses, ClassificationLossDispatchesOnTargetType) {
  const auto logits = torch::randn({4, 5}, torch::kFloat64);
  const auto labels = torch::tensor({0, 4, 2, 2}, torch::kLong);
  EXPECT_TRUE(torch::allclose(classification_loss(logits, labels, 0.1),
                              hard_target_cross_entropy(logits, labels, 0.1)));
  const auto soft = smooth_one_hot(labels, 5, 0.1).to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(classification_loss(logits, soft, 0.1),
                              hard_target_cross_entropy(logits, labels, 0.1)));
}

TEST(Losses, GradientFlowsAndShapesChecked) {
  auto logits = torch::randn({3, 4}, torch::requires_grad());
  hard_target_cross_entropy(logits, torch::tensor({1, 2, 3}, torch::kLong), 0.1).backward();
  EXPECT_TRUE(logits.grad().defined());
  EXPECT_THROW(soft_target_cross_entropy(logits, torch::zeros({3, 5})), c10::Error);
  EXPECT_THROW(hard_target_cross_entropy(logits, torch::tensor({1}, torch::kLong)), c10::Error);
}

}  // namespace
}  // namespace vifi::train

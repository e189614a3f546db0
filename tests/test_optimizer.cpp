// The multi-tensor AdamW against LibTorch's own torch::optim::AdamW (the oracle): bitwise equal
// updates on the CPU over steps with weight decay, learning-rate changes and parameters whose
// step counts differ; checkpoints interchangeable both ways; amsgrad left to LibTorch's step.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "vifi/train/optimizer.h"

namespace vifi::train {
namespace {

// Tensors of the shapes a ViT has (matrix, vector, scalar, 3-d), one fixed set per seed.
std::vector<torch::Tensor> make_params(uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> params;
  for (const auto& shape : std::vector<std::vector<int64_t>>{{7, 5}, {5}, {}, {3, 2, 4}}) {
    params.push_back(torch::randn(shape, gen).requires_grad_(true));
  }
  return params;
}

std::vector<torch::Tensor> clones(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone().requires_grad_(true));
  return out;
}

// Step `s`'s gradients; parameter 1 gets none on odd steps, so step counts come to differ.
void set_grads(std::vector<torch::Tensor>& params, int s) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(100 + s);
  for (size_t i = 0; i < params.size(); ++i) {
    if (i == 1 && s % 2 == 1) {
      params[i].mutable_grad() = torch::Tensor();
      continue;
    }
    params[i].mutable_grad() = torch::randn(params[i].sizes(), gen);
  }
}

torch::optim::AdamWOptions reference_options(double weight_decay) {
  return torch::optim::AdamWOptions(1e-2).betas({0.9, 0.98}).eps(1e-8).weight_decay(weight_decay);
}

void expect_bitwise_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, int step) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i << " after step " << step << ": max difference "
                                          << (a[i] - b[i]).abs().max().item<double>();
  }
}

TEST(MultiTensorAdamW, UpdatesEqualTorchOptimAdamWBitwise) {
  for (double weight_decay : {0.0, 0.001, 0.2}) {
    auto ours = make_params(1);
    auto theirs = clones(ours);
    MultiTensorAdamW optimizer(ours, reference_options(weight_decay));
    torch::optim::AdamW reference(theirs, reference_options(weight_decay));
    for (int s = 0; s < 12; ++s) {
      const double lr = 1e-2 * (1.0 + 0.5 * std::cos(s));  // the schedule changes it every step
      set_learning_rate(optimizer, lr);
      set_learning_rate(reference, lr);
      set_grads(ours, s);
      set_grads(theirs, s);
      optimizer.step();
      reference.step();
      EXPECT_EQ(optimizer.last_kernel(), MultiTensorAdamW::Kernel::foreach);
      expect_bitwise_equal(ours, theirs, s);
    }
    // The update moved the parameters (a step that did nothing would also be "equal").
    EXPECT_FALSE(torch::equal(ours[0], make_params(1)[0]));
  }
}

TEST(MultiTensorAdamW, ParametersWithoutGradientsAreLeftAsTheyAre) {
  auto params = make_params(2);
  const auto before = clones(params);
  MultiTensorAdamW optimizer(params, reference_options(0.1));
  params[0].mutable_grad() = torch::ones_like(params[0]);
  optimizer.step();
  EXPECT_FALSE(torch::equal(params[0], before[0]));
  for (size_t i = 1; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], before[i])) << i;
}

// Checkpoints: state saved by either optimiser continues identically in the other.
TEST(MultiTensorAdamW, CheckpointsAreInterchangeableWithTorchOptimAdamW) {
  auto ours = make_params(3);
  auto theirs = clones(ours);
  auto reference = std::make_unique<torch::optim::AdamW>(theirs, reference_options(0.01));
  for (int s = 0; s < 3; ++s) {
    set_grads(theirs, s);
    reference->step();
  }
  torch::serialize::OutputArchive saved;
  reference->save(saved);
  std::stringstream bytes;
  saved.save_to(bytes);

  // Load LibTorch's state into ours (same parameter values), then step both.
  for (size_t i = 0; i < ours.size(); ++i) ours[i].detach().copy_(theirs[i].detach());
  MultiTensorAdamW optimizer(ours, reference_options(0.01));
  torch::serialize::InputArchive loaded;
  loaded.load_from(bytes);
  optimizer.load(loaded);
  for (int s = 3; s < 6; ++s) {
    set_grads(ours, s);
    set_grads(theirs, s);
    optimizer.step();
    reference->step();
    expect_bitwise_equal(ours, theirs, s);
  }

  // And ours back into LibTorch's.
  torch::serialize::OutputArchive ours_saved;
  optimizer.save(ours_saved);
  std::stringstream ours_bytes;
  ours_saved.save_to(ours_bytes);
  auto copies = clones(ours);
  torch::optim::AdamW resumed(copies, reference_options(0.01));
  torch::serialize::InputArchive ours_loaded;
  ours_loaded.load_from(ours_bytes);
  resumed.load(ours_loaded);
  set_grads(ours, 6);
  set_grads(copies, 6);
  optimizer.step();
  resumed.step();
  expect_bitwise_equal(ours, copies, 6);
}

TEST(MultiTensorAdamW, AmsgradRunsLibTorchsOwnStep) {
  auto ours = make_params(4);
  auto theirs = clones(ours);
  MultiTensorAdamW optimizer(ours, reference_options(0.01).amsgrad(true));
  torch::optim::AdamW reference(theirs, reference_options(0.01).amsgrad(true));
  for (int s = 0; s < 4; ++s) {
    set_grads(ours, s);
    set_grads(theirs, s);
    optimizer.step();
    reference.step();
    EXPECT_EQ(optimizer.last_kernel(), MultiTensorAdamW::Kernel::per_parameter);
    expect_bitwise_equal(ours, theirs, s);
  }
}

TEST(MakeAdamW, BuildsTheMultiTensorOptimiserWithTheReferencesSettings) {
  auto params = make_params(5);
  TrainConfig train;
  train.lr = 3e-4;
  train.weight_decay = 0.05;
  const auto optimizer = make_adamw(params, train);
  ASSERT_NE(dynamic_cast<MultiTensorAdamW*>(optimizer.get()), nullptr);
  const auto& o = static_cast<const torch::optim::AdamWOptions&>(optimizer->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(o.lr(), 3e-4);
  EXPECT_DOUBLE_EQ(o.weight_decay(), 0.05);
  EXPECT_DOUBLE_EQ(std::get<0>(o.betas()), 0.9);
  EXPECT_DOUBLE_EQ(std::get<1>(o.betas()), 0.98);
  EXPECT_DOUBLE_EQ(o.eps(), 1e-8);
}

}  // namespace
}  // namespace vifi::train

// The reference's optimiser: AdamW over every trainable parameter with betas (0.9, 0.98),
// eps 1e-8 and TRAIN.WEIGHT_DECAY on all of them (ViFi-CLIP's build_optimizer does not
// exempt biases or norms), learning rate set per update from the schedule.
//
// The update runs over all parameters at once (ATen's multi-tensor kernels) instead of one
// parameter at a time: on a GPU the per-parameter loop of torch::optim::AdamW launches about ten
// kernels for each of ViT-B/16's ~300 tensors, thousands of launches per step.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "vifi/config/config.h"

namespace vifi::train {

// Parameters with requires_grad, in registration order.
std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& module);
int64_t count_parameters(const std::vector<torch::Tensor>& params);

// torch::optim::AdamW's algorithm, state and checkpoint format (a checkpoint written by either
// loads into the other), with step() computing every parameter of a group at once:
//   fused    ATen's _fused_adamw_ (one kernel for all tensors) where this LibTorch has it and the
//            tensors are on CUDA: equal to the per-parameter update up to float rounding;
//   foreach  ATen's _foreach_ ops (a few kernels for all tensors) otherwise: the same operations
//            in the same order as torch::optim::AdamW, so on the CPU the result is bitwise equal.
// Parameters are grouped by device, dtype and step count; amsgrad and sparse gradients are left to
// torch::optim::AdamW's own step.
class MultiTensorAdamW : public torch::optim::AdamW {
 public:
  enum class Kernel { per_parameter, foreach, fused };

  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;

  // What the last step() ran (for tests and benchmarks).
  Kernel last_kernel() const { return last_kernel_; }
  // Whether this build of LibTorch has the fused kernel (ATen/ops/_fused_adamw.h).
  static bool fused_available();

 private:
  Kernel last_kernel_ = Kernel::per_parameter;
};

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const TrainConfig& train);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace vifi::train

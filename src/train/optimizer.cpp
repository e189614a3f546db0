// AdamW construction and per-step learning rate.
#include "vifi/train/optimizer.h"

namespace vifi::train {

std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> params;
  for (const auto& p : module.parameters(true))
    if (p.requires_grad()) params.push_back(p);
  return params;
}

int64_t count_parameters(const std::vector<torch::Tensor>& params) {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const TrainConfig& train) {
  TORCH_CHECK(!params.empty(), "nothing to train: every parameter is frozen");
  auto options = torch::optim::AdamWOptions(train.lr).betas({0.9, 0.98}).eps(1e-8).weight_decay(train.weight_decay);
  return std::make_unique<torch::optim::AdamW>(params, options);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace vifi::train

// The reference's optimiser: AdamW over every trainable parameter with betas (0.9, 0.98),
// eps 1e-8 and TRAIN.WEIGHT_DECAY on all of them (ViFi-CLIP's build_optimizer does not
// exempt biases or norms), learning rate set per update from the schedule.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "vifi/config/config.h"

namespace vifi::train {

// Parameters with requires_grad, in registration order.
std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& module);
int64_t count_parameters(const std::vector<torch::Tensor>& params);

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const TrainConfig& train);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace vifi::train

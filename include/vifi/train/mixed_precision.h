// TRAIN.OPT_LEVEL on CUDA: O1/O2 run the forward pass under bf16 autocast (no loss scaling
// needed, unlike the reference's apex fp16); O0 and every CPU run stay fp32.
#pragma once
#include <torch/torch.h>

#include "vifi/train/config.h"

namespace vifi::train {

class AutocastGuard {
 public:
  AutocastGuard(OptLevel level, const torch::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
};

}  // namespace vifi::train

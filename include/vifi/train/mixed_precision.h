// TRAIN.OPT_LEVEL on CUDA: O1/O2 run the forward pass under bf16 autocast (no loss scaling
// needed, unlike the reference's apex fp16); O0 and every CPU run stay fp32.
#pragma once
#include <torch/torch.h>

#include "vifi/config/config.h"

namespace vifi::train {

class AutocastGuard {
 public:
  AutocastGuard(OptLevel level, const torch::Device& device);
  // Autocast to `dtype` (bf16 or fp16) on CUDA; fp32 is a no-op. Throws for a reduced dtype on
  // the CPU, which runs fp32 (benchmarks name the dtype directly).
  AutocastGuard(const torch::Device& device, torch::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
};

}  // namespace vifi::train

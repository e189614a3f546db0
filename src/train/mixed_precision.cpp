// Autocast on/off across LibTorch versions (the per-device API arrived in 2.4).
#include "vifi/train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace vifi::train {
namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
void set_cuda_autocast(bool on) {
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
}
#else
void set_cuda_autocast(bool on) {
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(on);
}
#endif

}  // namespace

AutocastGuard::AutocastGuard(OptLevel level, const torch::Device& device)
    : active_(device.is_cuda() && level != OptLevel::O0) {
  if (active_) set_cuda_autocast(true);
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  set_cuda_autocast(false);
  at::autocast::clear_cache();
}

}  // namespace vifi::train

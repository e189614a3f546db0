// Autocast on/off across LibTorch versions (the per-device API arrived in 2.4).
#include "vifi/train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace vifi::train {
namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
void set_cuda_autocast(bool on, torch::ScalarType dtype) {
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, on);
}
#else
void set_cuda_autocast(bool on, torch::ScalarType dtype) {
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(on);
}
#endif

}  // namespace

AutocastGuard::AutocastGuard(OptLevel level, const torch::Device& device)
    : AutocastGuard(device, device.is_cuda() && level != OptLevel::O0 ? torch::kBFloat16 : torch::kFloat32) {}

AutocastGuard::AutocastGuard(const torch::Device& device, torch::ScalarType dtype) {
  if (dtype == torch::kFloat32) return;
  TORCH_CHECK(device.is_cuda(), "bf16/fp16 run under CUDA autocast; the CPU runs fp32");
  set_cuda_autocast(true, dtype);
  active_ = true;
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  set_cuda_autocast(false, torch::kBFloat16);
  at::autocast::clear_cache();
}

}  // namespace vifi::train

// Device plumbing for the benchmarks. CUDA memory statistics need c10/cuda headers, which a
// CPU-only LibTorch (Debian's) lacks: they are compiled in only with VIFI_CUDA_STATS.
#include "runtime.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "vifi/util/memory.h"

#ifdef VIFI_CUDA_STATS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace vifi::bench {
namespace {

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

torch::Device parse_device(const std::string& name) {
  torch::Device device(name);
  TORCH_CHECK(device.is_cpu() || device.is_cuda(), "--device expects cpu or cuda, got ", name);
  TORCH_CHECK(!device.is_cuda() || torch::cuda::is_available(), "--device ", name, ": CUDA is not available");
  return device;
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32") return torch::kFloat32;
  if (name == "bf16") return torch::kBFloat16;
  if (name == "fp16") return torch::kFloat16;
  TORCH_CHECK(false, "--dtype expects fp32, bf16 or fp16, got ", name);
}

void set_threads(int threads) {
  if (threads > 0) torch::set_num_threads(threads);
}

double median_step_seconds(const std::function<void()>& step, int warmup, int iters, const torch::Device& device) {
  TORCH_CHECK(iters > 0, "--iters must be positive, got ", iters);
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> seconds;
  for (int i = 0; i < iters; ++i) {
    synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    step();
    synchronize(device);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

void reset_peak_memory([[maybe_unused]] const torch::Device& device) {
#ifdef VIFI_CUDA_STATS
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
#endif
}

double peak_memory_mb(const torch::Device& device) {
  if (!device.is_cuda()) return util::peak_resident_memory_mib();
#ifdef VIFI_CUDA_STATS
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
  return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);
#else
  return 0.0;
#endif
}

}  // namespace vifi::bench

// Square GEMMs in the benchmark's dtype (fp32 on CPU), 2n^3 FLOPs each.
#include "vifi/bench/gemm_benchmark.h"

#include <cstdio>

#include "runtime.h"

namespace vifi::bench {

GemmBenchResult run_gemm_benchmark(const GemmBenchOptions& o) {
  const auto device = parse_device(o.device);
  const auto dtype = parse_dtype(o.dtype);
  set_threads(o.threads);
  GemmBenchResult r;
  r.size = o.size > 0 ? o.size : (device.is_cuda() ? 8192 : 2048);
  const auto options = torch::TensorOptions(device).dtype(dtype);
  const auto a = torch::randn({r.size, r.size}, options), b = torch::randn({r.size, r.size}, options);
  auto c = torch::empty({r.size, r.size}, options);  // reused: the rate, not the allocator
  c10::InferenceMode inference;
  r.median_seconds = median_step_seconds([&] { torch::mm_out(c, a, b); }, o.warmup, o.iters, device);
  const double n = static_cast<double>(r.size);
  r.tflops = 2.0 * n * n * n / r.median_seconds / 1e12;
  return r;
}

std::string format_gemm_result(const GemmBenchOptions& o, const GemmBenchResult& r) {
  char line[256];
  std::snprintf(line, sizeof(line), "RESULT impl=vifi bench=gemm size=%lld device=%s dtype=%s threads=%d median_ms=%.2f tflops=%.4f",
                static_cast<long long>(r.size), o.device.c_str(), o.dtype.c_str(), torch::get_num_threads(),
                r.median_seconds * 1e3, r.tflops);
  return line;
}

}  // namespace vifi::bench

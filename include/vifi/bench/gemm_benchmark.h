// The device's achievable matrix-product rate: square GEMMs through torch::mm, the ceiling that
// model_benchmark's achieved TFLOP/s is set against.
#pragma once

#include <cstdint>
#include <string>

namespace vifi::bench {

struct GemmBenchOptions {
  int64_t size = 0;            // n for n x n x n; 0 picks 2048 on CPU, 8192 on CUDA
  std::string device = "cpu";
  std::string dtype = "fp32";  // fp32 | bf16 | fp16
  int threads = 0;
  int iters = 5;
  int warmup = 2;
};

struct GemmBenchResult {
  int64_t size = 0;
  double median_seconds = 0;
  double tflops = 0;
};

GemmBenchResult run_gemm_benchmark(const GemmBenchOptions& options);
std::string format_gemm_result(const GemmBenchOptions& options, const GemmBenchResult& result);

}  // namespace vifi::bench

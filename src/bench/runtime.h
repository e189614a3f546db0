// What both benchmarks share: device and dtype from their names, the thread count, an autocast
// scope, a median timer that synchronises CUDA, and the peak memory figure.
#pragma once

#include <torch/torch.h>

#include "vifi/train/mixed_precision.h"

#include <functional>
#include <string>

namespace vifi::bench {

torch::Device parse_device(const std::string& name);       // "cpu" | "cuda" | "cuda:N"
torch::ScalarType parse_dtype(const std::string& name);    // "fp32" | "bf16" | "fp16"
void set_threads(int threads);                             // 0 leaves LibTorch's default

// Autocast to a benchmark's dtype: the trainer's guard (train/mixed_precision).
using BenchAutocast = train::AutocastGuard;

// Runs `step` warmup times, then iters times; the median wall time of one step (CUDA
// synchronised around each so queued kernels count against the step that launched them).
double median_step_seconds(const std::function<void()>& step, int warmup, int iters, const torch::Device& device);

void reset_peak_memory(const torch::Device& device);
double peak_memory_mb(const torch::Device& device);

}  // namespace vifi::bench

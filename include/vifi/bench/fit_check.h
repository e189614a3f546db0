// `vifi_bench fit`: the real Trainer on synthetic tensor batches, for a GPU machine that has
// PyTorch but no FFmpeg (tools/gpu-check.sh). Three colour classes at the run's shape (learnable
// from scratch in a few hundred steps), the trainer's whole path (prefetcher, autocast,
// accumulation, multi-tensor AdamW, epoch checkpoints), then the same run again interrupted
// mid-epoch as Ctrl-C would (util/interrupt), resumed from its interrupted.pth in a fresh
// trainer and finished: its weights are compared with the uninterrupted run's.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vifi::bench {

struct FitCheckOptions {
  std::string arch = "ViT-B/16";  // a clip_config_preset name (vifi-tiny for the CPU test)
  std::string device = "cuda";    // "cpu" | "cuda" | "cuda:N"
  int64_t batch = 8;              // clips per micro-batch
  int64_t accumulation = 2;       // micro-batches per update
  int64_t frames = 8;
  int64_t resolution = 224;       // 0: the architecture's input resolution
  int64_t steps = 300;            // micro-batches in all (rounded up to whole epochs of 20)
  double lr = 1e-4;
  std::string out = "fit-check";  // checkpoints of both runs go below it
};

struct FitCheckResult {
  std::vector<double> epoch_loss;    // mean training loss per epoch, uninterrupted run
  bool finite = true;                // no NaN or Inf loss
  double seconds = 0;                // the uninterrupted run, wall time
  double frames_per_second = 0;      // trained frames / seconds
  double peak_memory_mb = 0;
  int64_t micro_batches = 0;
  std::string adamw_kernel;          // what the optimiser's step ran: fused, foreach, per_parameter
  double resume_max_difference = 0;  // max |param(resumed) - param(uninterrupted)|
  double resume_mean_difference = 0; // mean over tensors of mean |difference|
  double fresh_mean_difference = 0;  // the same for the untrained weights: the scale to compare with
  bool passed = false;               // loss fell below half, finite, resume close (see .cpp)
};

// Throws std::invalid_argument naming a bad option, std::runtime_error when training fails.
FitCheckResult run_fit_check(const FitCheckOptions& options);
std::string format_fit_check(const FitCheckOptions& options, const FitCheckResult& result);

}  // namespace vifi::bench

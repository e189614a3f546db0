// Training throughput of a ViFi-CLIP model as configured (full fine-tuning or prompts only):
// forward, loss, backward and AdamW steps on a random batch of the run's shape, timed with the
// benchmarks' median timer after a warm-up step. The paper compares prompting's cost with full
// fine-tuning's this way (Table 9); `vifi prompt` reports both. The model's trainable tensors are
// restored afterwards, so measuring never changes what is trained next.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "vifi/config/config.h"
#include "vifi/model/vificlip.h"

namespace vifi::bench {

struct ThroughputOptions {
  int64_t batch = 8;                  // TRAIN.BATCH_SIZE
  int64_t frames = 8;                 // DATA.NUM_FRAMES
  int64_t resolution = 224;           // DATA.INPUT_SIZE
  int steps = 2;                      // timed steps after one warm-up; 0 counts parameters only
  torch::Device device = torch::kCPU;
  OptLevel opt_level = OptLevel::O1;  // TRAIN.OPT_LEVEL (autocast on CUDA)
};

struct TrainingThroughput {
  int64_t trainable_parameters = 0;
  double clips_per_second = 0;  // 0: not measured
};

TrainingThroughput measure_training_throughput(model::ViFiCLIP& model, const TrainConfig& train,
                                               const ThroughputOptions& options);

}  // namespace vifi::bench

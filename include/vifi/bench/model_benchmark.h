// Model throughput: ViFi-CLIP's inference (video frames through the image tower, logits against
// cached class-text features) and one full training step (both towers over B*T frames and C class
// prompts, cross-entropy, backward, AdamW), timed after a warm-up, with random weights. The FLOP
// counts are analytic (multiply-add = 2 FLOPs) so achieved TFLOP/s can be set against the device's
// measured GEMM rate (gemm_benchmark.h). tools/bench/reference.py does the same work in eager
// PyTorch; keep the two in step (prompt ids, frozen token embedding, loss, optimiser).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "vifi/clip/clip_config.h"

namespace vifi::bench {

struct ModelBenchOptions {
  std::string arch = "ViT-B/16";
  int64_t frames = 8;          // T
  int64_t batch = 1;           // B clips
  int64_t classes = 400;       // C class prompts (K400)
  bool train = false;          // false: inference images/s; true: training-step frames/s
  std::string device = "cpu";  // cpu | cuda
  std::string dtype = "fp32";  // fp32 | bf16 | fp16 (autocast; CUDA only)
  int threads = 0;             // intra-op threads; 0 keeps LibTorch's default
  int iters = 5;
  int warmup = 2;
};

struct ModelBenchResult {
  double median_seconds = 0;    // per iteration
  double items_per_second = 0;  // images/s (inference) or frames/s (training)
  double flops_per_iter = 0;
  double tflops = 0;            // achieved
  double peak_memory_mb = 0;    // CUDA: peak allocated (if built with stats); CPU: peak RSS
  int64_t text_context = 0;     // positions the text tower runs (max end-of-text + 1)
};

// Synthetic class prompts [C,77] int64: start token, 6..13 word tokens, end-of-text, zero
// padding, so the end-of-text sits at 7..14 as in "a photo of a <class>." prompts.
// Deterministic; reference.py builds the same ids.
torch::Tensor synthetic_prompt_tokens(int64_t classes, int64_t context_length);

// Forward FLOPs of the image tower on `images` frames and of the text tower on `texts` prompts
// of `length` positions (projections included; norms, softmax and elementwise ops left out).
double vision_forward_flops(const clip::CLIPConfig& config, int64_t images);
double text_forward_flops(const clip::CLIPConfig& config, int64_t texts, int64_t length);
// Per iteration: inference = image tower on B*T frames (text cached); training = 3x the forward
// FLOPs (backward costs two forwards) of both towers.
double model_iteration_flops(const clip::CLIPConfig& config, const ModelBenchOptions& options, int64_t text_context);

ModelBenchResult run_model_benchmark(const ModelBenchOptions& options);

// "RESULT impl=vifi bench=model mode=infer ..." : one line that tools/bench/compare.sh parses.
std::string format_model_result(const ModelBenchOptions& options, const ModelBenchResult& result);

}  // namespace vifi::bench

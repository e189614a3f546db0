// Mixup and CutMix on video batches with soft targets, as the reference's CutmixMixupBlending
// (datasets/blending.py), applied to the whole batch when AUG.MIXUP > 0 (main.py):
//   targets = smooth_one_hot(labels, C, AUG.LABEL_SMOOTH)        (off s/C, on 1 - s + s/C)
//   with probability AUG.MIXUP_SWITCH_PROB: cutmix, else mixup; one lambda, one permutation
//   mixup:  lam ~ Beta(MIXUP, MIXUP);  video = lam * video + (1 - lam) * video[perm]
//   cutmix: lam ~ Beta(CUTMIX, CUTMIX); one box for every clip and every frame of the batch,
//           side int(H * sqrt(1 - lam)) x int(W * sqrt(1 - lam)) centred on a uniform pixel,
//           clipped to the image; video[:, :, :, box] = video[perm][:, :, :, box];
//           lam = 1 - box area / (H * W)
//   targets = lam * targets + (1 - lam) * targets[perm]
// vifi: AUG.CUTMIX = 0 means mixup only (the reference would fail on Beta(0, 0)).
// Randomness comes only from the at::Generator passed in (draw order: switch, lambda,
// permutation, box centre x, box centre y), so a (seed, step) pair reproduces a batch exactly.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <cstdint>

#include "vifi/config/config.h"

namespace vifi::train {

struct MixupOptions {
  double mixup_alpha = 0.8;      // AUG.MIXUP
  double cutmix_alpha = 1.0;     // AUG.CUTMIX (0 = never cutmix)
  double switch_prob = 0.5;      // AUG.MIXUP_SWITCH_PROB: probability of cutmix
  double label_smoothing = 0.1;  // AUG.LABEL_SMOOTH
  int64_t num_classes = 400;     // DATA.NUM_CLASSES
};

MixupOptions mixup_options(const AugConfig& aug, int64_t num_classes);
// AUG.MIXUP > 0, as main.py decides whether to blend at all.
bool mixup_enabled(const AugConfig& aug);

enum class MixKind { mixup, cutmix };

// Half-open pixel box [y1, y2) x [x1, x2).
struct CutBox {
  int64_t y1 = 0, y2 = 0, x1 = 0, x2 = 0;
  int64_t area() const { return (y2 - y1) * (x2 - x1); }
};

// One batch's random choices; tests build it by hand to fix lambda and the permutation.
struct MixDraw {
  MixKind kind = MixKind::mixup;
  double lam = 1.0;    // weight of each clip's own target (cutmix: 1 - box area / (H*W))
  torch::Tensor perm;  // [B] int64, CPU: partner of each clip
  CutBox box;          // cutmix only
};

// The reference's rand_bbox for a Beta draw `lam` and centre (cy, cx).
CutBox cutmix_box(double lam, int64_t height, int64_t width, int64_t cy, int64_t cx);

// Draws kind, lambda, permutation and box for a batch of `batch` clips of height x width.
MixDraw draw_mix(const MixupOptions& options, int64_t batch, int64_t height, int64_t width,
                 at::Generator& gen);

struct MixedBatch {
  torch::Tensor video;    // [B,T,3,H,W], same dtype/device as the input
  torch::Tensor targets;  // [B,C] float32 on the labels' device; rows sum to 1
};

// video [B,T,3,H,W] floating, labels [B] int64 -> mixed video and soft targets. Pure.
MixedBatch apply_mix(const torch::Tensor& video, const torch::Tensor& labels, const MixDraw& draw,
                     const MixupOptions& options);

// draw_mix + apply_mix.
MixedBatch mix_batch(const torch::Tensor& video, const torch::Tensor& labels,
                     const MixupOptions& options, at::Generator& gen);

// A CPU generator for training step `step` of a run seeded with `seed`: mixing draws depend on
// (seed, step) only, so a resumed run mixes exactly as an uninterrupted one.
at::Generator mix_generator(uint64_t seed, int64_t step);

}  // namespace vifi::train

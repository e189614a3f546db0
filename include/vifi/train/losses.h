// Classification losses on logits, as the reference's main.py chooses them:
//   AUG.MIXUP > 0        -> soft-target CE on mixup/cutmix targets (smoothing already folded in)
//   AUG.LABEL_SMOOTH > 0 -> CE with label smoothing (timm LabelSmoothingCrossEntropy)
//   otherwise            -> CE
// Label smoothing s over C classes means the target distribution off = s/C, on = 1 - s + s/C,
// i.e. loss = (1 - s) * NLL + s * mean_c(-log p_c), which is torch's label_smoothing. All
// results are 0-dim tensors on the logits' device (no host sync).
#pragma once
#include <torch/torch.h>

namespace vifi::train {

// logits [N,C], labels [N] int64 -> mean CE with smoothing s in [0, 1).
torch::Tensor hard_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                        double label_smoothing = 0.0);

// logits [...,C], targets [...,C] (rows are distributions) -> mean over rows of
// sum_c -target_c * log_softmax(logits)_c (timm SoftTargetCrossEntropy).
torch::Tensor soft_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets);

// labels [N] int64 -> [N,C] float32: off = s/C, on = 1 - s + s/C (reference blending.one_hot).
torch::Tensor smooth_one_hot(const torch::Tensor& labels, int64_t num_classes, double smoothing);

// The training criterion: integer targets [N] -> hard_target_cross_entropy with `label_smoothing`;
// floating targets [N,C] (from mixup, smoothing already inside) -> soft_target_cross_entropy.
torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                  double label_smoothing);

// The loss for logits [B,C] or per-frame logits [B,T,C] (Fusion::image: every frame carries its
// clip's target). Targets are labels [B] or soft targets [B,C].
torch::Tensor video_loss(const torch::Tensor& logits, const torch::Tensor& targets, double label_smoothing);

}  // namespace vifi::train

// Cross-entropy variants on fused ops (log_softmax / cross_entropy); see losses.h.
#include "vifi/train/losses.h"

namespace vifi::train {

torch::Tensor hard_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                        double label_smoothing) {
  TORCH_CHECK(logits.dim() == 2, "hard_target_cross_entropy: logits must be [N,C], got ",
              logits.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0),
              "hard_target_cross_entropy: labels must be [N] with N = ", logits.size(0), ", got ",
              labels.sizes());
  TORCH_CHECK(label_smoothing >= 0 && label_smoothing < 1,
              "hard_target_cross_entropy: label_smoothing must be in [0, 1), got ",
              label_smoothing);
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits, labels,
                          F::CrossEntropyFuncOptions().label_smoothing(label_smoothing));
}

torch::Tensor soft_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  TORCH_CHECK(logits.sizes() == targets.sizes(),
              "soft_target_cross_entropy: targets must have the logits' shape ", logits.sizes(),
              ", got ", targets.sizes());
  return (-targets * torch::log_softmax(logits, -1)).sum(-1).mean();
}

torch::Tensor smooth_one_hot(const torch::Tensor& labels, int64_t num_classes, double smoothing) {
  TORCH_CHECK(labels.dim() == 1, "smooth_one_hot: labels must be [N], got ", labels.sizes());
  const double off = smoothing / static_cast<double>(num_classes);
  const double on = 1.0 - smoothing + off;
  auto options = torch::TensorOptions().dtype(torch::kFloat32).device(labels.device());
  return torch::full({labels.size(0), num_classes}, off, options)
      .scatter_(1, labels.to(torch::kLong).view({-1, 1}), on);
}

torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                  double label_smoothing) {
  if (targets.is_floating_point()) return soft_target_cross_entropy(logits, targets);
  return hard_target_cross_entropy(logits, targets, label_smoothing);
}

torch::Tensor video_loss(const torch::Tensor& logits, const torch::Tensor& targets, double label_smoothing) {
  if (logits.dim() == 2) return classification_loss(logits, targets, label_smoothing);
  const auto frames = logits.size(1);
  auto per_frame_targets = targets.repeat_interleave(frames, 0);  // [B*T] or [B*T,C]
  return classification_loss(logits.flatten(0, 1), per_frame_targets, label_smoothing);
}

}  // namespace vifi::train

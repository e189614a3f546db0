// Mixup/CutMix draws and blending; semantics in include/vifi/train/mixup.h.
#include "vifi/train/mixup.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "vifi/train/losses.h"

namespace vifi::train {
namespace {

// U[0,1) from the generator.
double uniform(at::Generator& gen) { return torch::rand({1}, gen, torch::kFloat64).item<double>(); }

// Beta(alpha, alpha) as G1 / (G1 + G2) with G ~ Gamma(alpha, 1).
double beta_symmetric(double alpha, at::Generator& gen) {
  const auto g = at::_standard_gamma(torch::full({2}, alpha, torch::kFloat64), gen);
  const double a = g[0].item<double>();
  const double sum = a + g[1].item<double>();
  return sum > 0 ? a / sum : 0.5;
}

int64_t uniform_int(int64_t high, at::Generator& gen) {
  return torch::randint(high, {1}, gen, torch::kLong).item<int64_t>();
}

}  // namespace

MixupOptions mixup_options(const AugConfig& aug, int64_t num_classes) {
  MixupOptions o;
  o.mixup_alpha = aug.mixup;
  o.cutmix_alpha = aug.cutmix;
  o.switch_prob = aug.mixup_switch_prob;
  o.label_smoothing = aug.label_smooth;
  o.num_classes = num_classes;
  return o;
}

bool mixup_enabled(const AugConfig& aug) { return aug.mixup > 0; }

CutBox cutmix_box(double lam, int64_t height, int64_t width, int64_t cy, int64_t cx) {
  const double cut_ratio = std::sqrt(1.0 - lam);
  const int64_t half_w = static_cast<int64_t>(static_cast<double>(width) * cut_ratio) / 2;
  const int64_t half_h = static_cast<int64_t>(static_cast<double>(height) * cut_ratio) / 2;
  CutBox box;
  box.x1 = std::clamp<int64_t>(cx - half_w, 0, width);
  box.x2 = std::clamp<int64_t>(cx + half_w, 0, width);
  box.y1 = std::clamp<int64_t>(cy - half_h, 0, height);
  box.y2 = std::clamp<int64_t>(cy + half_h, 0, height);
  return box;
}

MixDraw draw_mix(const MixupOptions& options, int64_t batch, int64_t height, int64_t width,
                 at::Generator& gen) {
  TORCH_CHECK(options.mixup_alpha > 0, "draw_mix: AUG.MIXUP must be > 0 when mixing, got ",
              options.mixup_alpha);
  MixDraw draw;
  const bool cutmix = uniform(gen) < options.switch_prob && options.cutmix_alpha > 0;
  draw.kind = cutmix ? MixKind::cutmix : MixKind::mixup;
  draw.lam = beta_symmetric(cutmix ? options.cutmix_alpha : options.mixup_alpha, gen);
  draw.perm = torch::randperm(batch, gen, torch::kLong);
  if (cutmix) {
    const int64_t cx = uniform_int(width, gen);
    const int64_t cy = uniform_int(height, gen);
    draw.box = cutmix_box(draw.lam, height, width, cy, cx);
    draw.lam = 1.0 - static_cast<double>(draw.box.area()) / static_cast<double>(height * width);
  }
  return draw;
}

MixedBatch apply_mix(const torch::Tensor& video, const torch::Tensor& labels, const MixDraw& draw,
                     const MixupOptions& options) {
  TORCH_CHECK(video.dim() == 5 && video.is_floating_point(),
              "apply_mix: video must be floating [B,T,3,H,W], got ", video.sizes());
  TORCH_CHECK(
      labels.dim() == 1 && labels.size(0) == video.size(0) && draw.perm.numel() == video.size(0),
      "apply_mix: labels and perm must be [B] with B = ", video.size(0));
  const auto targets = smooth_one_hot(labels, options.num_classes, options.label_smoothing);
  const auto partner = draw.perm.to(video.device());
  MixedBatch out;
  if (draw.kind == MixKind::mixup) {
    out.video = draw.lam * video + (1.0 - draw.lam) * video.index_select(0, partner);
  } else {
    using torch::indexing::Slice;
    const auto& b = draw.box;
    const std::vector<torch::indexing::TensorIndex> region{Slice(), Slice(), Slice(),
                                                           Slice(b.y1, b.y2), Slice(b.x1, b.x2)};
    out.video = video.clone();
    out.video.index_put_(region, video.index_select(0, partner).index(region));
  }
  const auto partner_targets = targets.index_select(0, draw.perm.to(targets.device()));
  out.targets = draw.lam * targets + (1.0 - draw.lam) * partner_targets;
  return out;
}

MixedBatch mix_batch(const torch::Tensor& video, const torch::Tensor& labels,
                     const MixupOptions& options, at::Generator& gen) {
  const auto draw = draw_mix(options, video.size(0), video.size(-2), video.size(-1), gen);
  return apply_mix(video, labels, draw, options);
}

at::Generator mix_generator(uint64_t seed, int64_t step) {
  // SplitMix64 finaliser of (seed, step): neighbouring steps get unrelated streams.
  uint64_t z = seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(step) + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return at::detail::createCPUGenerator(z ^ (z >> 31));
}

}  // namespace vifi::train

// mixup/cutmix: numbers with lambda and permutation fixed by hand, and properties of draws.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "vifi/train/losses.h"
#include "vifi/train/mixup.h"

namespace vifi::train {
namespace {

MixupOptions options(int64_t num_classes) {
  MixupOptions o;
  o.num_classes = num_classes;
  o.label_smoothing = 0.1;
  return o;
}

torch::Tensor video(int64_t b, int64_t t, int64_t h, int64_t w) {
  return torch::arange(b * t * 3 * h * w, torch::kFloat32).reshape({b, t, 3, h, w});
}

TEST(Mixup, MixupWithFixedLambdaAndFlip) {
  const auto x = video(4, 2, 5, 6);
  const auto labels = torch::tensor({0, 1, 2, 3}, torch::kLong);
  MixDraw draw;
  draw.kind = MixKind::mixup;
  draw.lam = 0.3;
  draw.perm = torch::tensor({3, 2, 1, 0}, torch::kLong);
  const auto out = apply_mix(x, labels, draw, options(5));
  EXPECT_TRUE(torch::allclose(out.video, 0.3 * x + 0.7 * x.flip(0)));
  const auto q = smooth_one_hot(labels, 5, 0.1);
  EXPECT_TRUE(torch::allclose(out.targets, 0.3 * q + 0.7 * q.flip(0)));
  EXPECT_TRUE(torch::allclose(out.targets.sum(1), torch::ones({4})));
  // Clip 0 mixes with clip 3: 0.3 * (1 - 0.1 + 0.02) + 0.7 * 0.02 on class 0.
  EXPECT_NEAR(out.targets[0][0].item<double>(), 0.3 * 0.92 + 0.7 * 0.02, 1e-6);
  EXPECT_NEAR(out.targets[0][3].item<double>(), 0.3 * 0.02 + 0.7 * 0.92, 1e-6);
}

TEST(Mixup, CutmixBoxIsTheReferences) {
  // lam 0.75: cut ratio 0.5, cut 8 x 10 on a 16 x 20 image, centre (y 8, x 10).
  const CutBox box = cutmix_box(0.75, 16, 20, 8, 10);
  EXPECT_EQ(box.y1, 4);
  EXPECT_EQ(box.y2, 12);
  EXPECT_EQ(box.x1, 5);
  EXPECT_EQ(box.x2, 15);
  // Near a corner the box is clipped: centre (1, 19) keeps [0, 5) x [14, 20).
  const CutBox clipped = cutmix_box(0.75, 16, 20, 1, 19);
  EXPECT_EQ(clipped.y1, 0);
  EXPECT_EQ(clipped.y2, 5);
  EXPECT_EQ(clipped.x1, 14);
  EXPECT_EQ(clipped.x2, 20);
  EXPECT_EQ(clipped.area(), 30);
}

TEST(Mixup, CutmixPastesTheSameBoxInEveryFrame) {
  const auto x = video(3, 4, 16, 20);
  const auto labels = torch::tensor({0, 1, 2}, torch::kLong);
  MixDraw draw;
  draw.kind = MixKind::cutmix;
  draw.box = cutmix_box(0.75, 16, 20, 8, 10);
  draw.lam = 1.0 - static_cast<double>(draw.box.area()) / (16 * 20);
  draw.perm = torch::tensor({2, 0, 1}, torch::kLong);
  const auto out = apply_mix(x, labels, draw, options(3));
  // Inside the box every frame of clip i comes from clip perm[i]; outside it is unchanged.
  auto mask = torch::zeros({16, 20}, torch::kBool);
  mask.index_put_({torch::indexing::Slice(4, 12), torch::indexing::Slice(5, 15)}, true);
  const auto expected = torch::where(mask, x.index_select(0, draw.perm), x);
  EXPECT_TRUE(torch::equal(out.video, expected));
  // Area fraction of pixels taken from the partner equals 1 - lam.
  const double changed = (out.video != x).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(changed, 1.0 - draw.lam, 1e-12);
  EXPECT_DOUBLE_EQ(draw.lam, 0.75);
  const auto q = smooth_one_hot(labels, 3, 0.1);
  EXPECT_TRUE(torch::allclose(out.targets, 0.75 * q + 0.25 * q.index_select(0, draw.perm)));
  EXPECT_TRUE(torch::equal(x, video(3, 4, 16, 20)));  // input untouched
}

TEST(Mixup, DrawsAreReproducibleAndConsistent) {
  auto o = options(7);
  o.switch_prob = 0.5;
  const auto x = video(6, 2, 16, 16);
  const auto labels = torch::tensor({0, 1, 2, 3, 4, 5}, torch::kLong);
  int cutmixes = 0;
  for (int64_t step = 0; step < 40; ++step) {
    auto g1 = mix_generator(1024, step), g2 = mix_generator(1024, step);
    const MixDraw a = draw_mix(o, 6, 16, 16, g1);
    const MixDraw b = draw_mix(o, 6, 16, 16, g2);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.lam, b.lam);
    EXPECT_TRUE(torch::equal(a.perm, b.perm));
    EXPECT_TRUE(torch::equal(std::get<0>(a.perm.sort()), torch::arange(6)));
    EXPECT_GE(a.lam, 0.0);
    EXPECT_LE(a.lam, 1.0);
    const auto out = apply_mix(x, labels, a, o);
    EXPECT_TRUE(torch::allclose(out.targets.sum(1), torch::ones({6})));
    if (a.kind == MixKind::cutmix) {
      ++cutmixes;
      EXPECT_DOUBLE_EQ(a.lam, 1.0 - a.box.area() / 256.0);  // area-adjusted lambda
    }
  }
  EXPECT_GT(cutmixes, 5);
  EXPECT_LT(cutmixes, 35);
  auto g1 = mix_generator(1024, 0), g2 = mix_generator(1024, 1);
  EXPECT_NE(draw_mix(o, 6, 16, 16, g1).lam, draw_mix(o, 6, 16, 16, g2).lam);
}

TEST(Mixup, SwitchProbabilityAndCutmixOff) {
  auto o = options(3);
  o.switch_prob = 1.0;
  auto g = mix_generator(1, 0);
  EXPECT_EQ(draw_mix(o, 2, 8, 8, g).kind, MixKind::cutmix);
  o.cutmix_alpha = 0.0;  // vifi: cutmix off, mixup only
  EXPECT_EQ(draw_mix(o, 2, 8, 8, g).kind, MixKind::mixup);
  o.switch_prob = 0.0;
  o.cutmix_alpha = 1.0;
  EXPECT_EQ(draw_mix(o, 2, 8, 8, g).kind, MixKind::mixup);
}

TEST(Mixup, OptionsFromConfig) {
  AugConfig aug;
  const auto o = mixup_options(aug, 400);
  EXPECT_DOUBLE_EQ(o.mixup_alpha, 0.8);
  EXPECT_DOUBLE_EQ(o.cutmix_alpha, 1.0);
  EXPECT_DOUBLE_EQ(o.switch_prob, 0.5);
  EXPECT_DOUBLE_EQ(o.label_smoothing, 0.1);
  EXPECT_EQ(o.num_classes, 400);
  EXPECT_TRUE(mixup_enabled(aug));
  aug.mixup = 0;
  EXPECT_FALSE(mixup_enabled(aug));
}

TEST(Mixup, MixBatchMatchesDrawThenApply) {
  const auto o = options(4);
  const auto x = video(4, 3, 8, 8);
  const auto labels = torch::tensor({3, 2, 1, 0}, torch::kLong);
  auto g1 = mix_generator(7, 3), g2 = mix_generator(7, 3);
  const auto direct = mix_batch(x, labels, o, g1);
  const auto manual = apply_mix(x, labels, draw_mix(o, 4, 8, 8, g2), o);
  EXPECT_TRUE(torch::equal(direct.video, manual.video));
  EXPECT_TRUE(torch::equal(direct.targets, manual.targets));
}

}  // namespace
}  // namespace vifi::train

// data/transforms and data/color_jitter: geometry, normalisation numbers, one draw per clip.
#include "vifi/data/transforms.h"

#include <opencv2/imgproc.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/util/npy.h"

namespace vifi::data {
namespace {

// A frame whose pixel (x, y) is (x, y, 77): crops can be read back from the output values.
cv::Mat position_frame(int width, int height) {
  cv::Mat m(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(x), static_cast<uint8_t>(y), 77);
  }
  return m;
}

cv::Mat constant_frame(int width, int height, cv::Vec3b rgb) {
  return cv::Mat(height, width, CV_8UC3, cv::Scalar(rgb[0], rgb[1], rgb[2]));
}

float normalized(int value, int channel) {
  return (static_cast<float>(value) - kPixelMean[channel]) / kPixelStd[channel];
}

AugmentConfig small_config() {
  AugmentConfig cfg;
  cfg.input_size = 32;
  return cfg;
}

TEST(Transforms, ShortSideResizeFollowsMmcvRounding) {
  EXPECT_EQ(train_resize_short_side(224), 256);
  EXPECT_EQ(train_resize_short_side(32), 36);
  EXPECT_EQ(train_resize_short_side(336), 384);
  EXPECT_EQ(resize_short_side({96, 64}, 36), cv::Size(54, 36));
  EXPECT_EQ(resize_short_side({64, 96}, 36), cv::Size(36, 54));
  EXPECT_EQ(resize_short_side({320, 240}, 256), cv::Size(341, 256));  // 341.33 -> 341
  EXPECT_EQ(resize_short_side({340, 256}, 224), cv::Size(298, 224));  // 297.5 + .5 -> 298
}

TEST(Transforms, MultiScaleCropCandidatesMatchTheReference) {
  // Resized 54x36, S = 32: sizes int(36 * s) = 36, 31, 27, 23; 31 snaps to 32.
  const auto sizes = multiscale_crop_sizes({54, 36}, small_config());
  const std::vector<cv::Size> expected{{36, 36}, {32, 36}, {36, 32}, {32, 32}, {27, 32},
                                       {32, 27}, {27, 27}, {23, 27}, {27, 23}, {23, 23}};
  EXPECT_EQ(sizes, expected);
  // 341x256, S = 224: 256, 224, 192, 168 (256 * .66 = 168.96).
  AugmentConfig cfg;
  const auto big = multiscale_crop_sizes({341, 256}, cfg);
  EXPECT_EQ(big.front(), cv::Size(256, 256));
  EXPECT_EQ(big.back(), cv::Size(168, 168));
  EXPECT_EQ(big.size(), 10u);
}

TEST(Transforms, MultiScaleCropOffsetsAreTheFixedGrid) {
  // Frame 54x36, crop 32x36: w_step = 22 // 4 = 5, h_step = 0.
  const std::vector<cv::Point> five{{0, 0}, {20, 0}, {0, 0}, {20, 0}, {10, 0}};
  EXPECT_EQ(multiscale_crop_offsets({54, 36}, {32, 36}, 5), five);
  // Frame 341x256, crop 192x224: w_step = 37, h_step = 8.
  const auto thirteen = multiscale_crop_offsets({341, 256}, {192, 224}, 13);
  const std::vector<cv::Point> expected{{0, 0},   {148, 0}, {0, 32}, {148, 32}, {74, 16}, {0, 16},  {148, 16},
                                        {74, 32}, {74, 0},  {37, 8}, {111, 8},  {37, 24}, {111, 24}};
  EXPECT_EQ(thirteen, expected);
}

TEST(Transforms, DrawnParamsComeFromTheCandidateSets) {
  const AugmentConfig cfg = small_config();
  std::set<std::pair<int, int>> sizes_seen;
  int flips = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    Rng rng(seed);
    const ClipAugmentParams p = draw_train_params(rng, {96, 64}, cfg);
    EXPECT_EQ(p.resized, cv::Size(54, 36));
    const auto sizes = multiscale_crop_sizes(p.resized, cfg);
    const cv::Size crop(p.crop.width, p.crop.height);
    ASSERT_NE(std::find(sizes.begin(), sizes.end(), crop), sizes.end());
    const auto offsets = multiscale_crop_offsets(p.resized, crop, 5);
    ASSERT_NE(std::find(offsets.begin(), offsets.end(), cv::Point(p.crop.x, p.crop.y)), offsets.end());
    sizes_seen.insert({crop.width, crop.height});
    flips += p.flip ? 1 : 0;
  }
  EXPECT_EQ(sizes_seen.size(), 10u);
  EXPECT_GT(flips, 140);
  EXPECT_LT(flips, 260);
}

TEST(Transforms, ApplyCropsResizesAndFlipsExactly) {
  AugmentConfig cfg = small_config();
  ClipAugmentParams p;
  p.resized = {54, 36};
  p.crop = {10, 2, 32, 32};  // already S x S: the final resize is the identity
  const std::vector<cv::Mat> frames{position_frame(54, 36)};
  auto out = apply_train_params(p, frames, cfg);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].size(), cv::Size(32, 32));
  EXPECT_EQ(out[0].at<cv::Vec3b>(0, 0), cv::Vec3b(10, 2, 77));
  EXPECT_EQ(out[0].at<cv::Vec3b>(31, 31), cv::Vec3b(41, 33, 77));
  p.flip = true;
  out = apply_train_params(p, frames, cfg);
  EXPECT_EQ(out[0].at<cv::Vec3b>(0, 0), cv::Vec3b(41, 2, 77));
  EXPECT_EQ(out[0].at<cv::Vec3b>(5, 31), cv::Vec3b(10, 7, 77));
  // A non-square crop is resized to S x S.
  p.crop = {0, 0, 27, 23};
  out = apply_train_params(p, frames, cfg);
  EXPECT_EQ(out[0].size(), cv::Size(32, 32));
}

TEST(Transforms, OneDrawPerClipGivesIdenticalFramesIdenticalOutputs) {
  AugmentConfig cfg = small_config();
  cfg.color_jitter = 1.0;  // force every random stage on
  cfg.gray_scale = 0.0;
  cv::Mat noise(64, 96, CV_8UC3);
  cv::randu(noise, 0, 255);
  const std::vector<cv::Mat> frames{noise, noise.clone(), position_frame(96, 64), noise.clone()};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    const torch::Tensor clip = train_transform(frames, rng, cfg);  // [T,3,S,S]
    ASSERT_EQ(clip.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
    EXPECT_TRUE(torch::equal(clip[0], clip[1]));
    EXPECT_TRUE(torch::equal(clip[0], clip[3]));
    EXPECT_FALSE(torch::equal(clip[0], clip[2]));
  }
}

TEST(Transforms, NormalisationOfAConstantColour) {
  AugmentConfig cfg = small_config();
  cfg.color_jitter = 0.0;
  cfg.gray_scale = 0.0;
  const std::vector<cv::Mat> frames(2, constant_frame(96, 64, {200, 100, 50}));
  Rng rng(3);
  const torch::Tensor clip = train_transform(frames, rng, cfg);
  EXPECT_NEAR(clip[0][0][5][5].item<float>(), (200.0 - 123.675) / 58.395, 1e-5);  // 1.307047
  EXPECT_NEAR(clip[1][1][0][31].item<float>(), (100.0 - 116.28) / 57.12, 1e-5);   // -0.285014
  EXPECT_NEAR(clip[0][2][31][0].item<float>(), (50.0 - 103.53) / 57.375, 1e-5);   // -0.932985
  EXPECT_NEAR(clip[0][0].std().item<float>(), 0.0, 1e-6);
}

TEST(Transforms, GrayscaleMakesChannelsEqual) {
  AugmentConfig cfg = small_config();
  cfg.color_jitter = 0.0;
  cfg.gray_scale = 1.0;
  Rng rng(5);
  const torch::Tensor clip = train_transform({constant_frame(96, 64, {200, 100, 50})}, rng, cfg);
  // L = (200*19595 + 100*38470 + 50*7471 + 32768) >> 16 = 124 in every channel.
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(clip[0][c][0][0].item<float>(), normalized(124, c), 1e-5);
}

TEST(Transforms, CentreCropGeometry) {
  EvalTransformConfig cfg{32, 1};
  EXPECT_EQ(eval_resize_size({96, 64}, cfg), cv::Size(54, 36));
  EXPECT_EQ(eval_crop_boxes({54, 36}, cfg), (std::vector<CropBox>{{11, 2, 32, 32}}));
  EvalTransformConfig big{224, 1};
  EXPECT_EQ(eval_crop_boxes({341, 256}, big), (std::vector<CropBox>{{58, 16, 224, 224}}));
}

TEST(Transforms, ThreeCropOffsetsAlongTheLongSide) {
  EvalTransformConfig cfg{32, 3};
  EXPECT_EQ(eval_resize_size({96, 64}, cfg), cv::Size(48, 32));
  // Landscape: step (48 - 32) // 2 = 8, order left, right, middle.
  EXPECT_EQ(eval_crop_boxes({48, 32}, cfg), (std::vector<CropBox>{{0, 0, 32, 32}, {16, 0, 32, 32}, {8, 0, 32, 32}}));
  // Portrait: top, bottom, middle.
  EXPECT_EQ(eval_crop_boxes({32, 48}, cfg), (std::vector<CropBox>{{0, 0, 32, 32}, {0, 16, 32, 32}, {0, 8, 32, 32}}));
}

TEST(Transforms, EvalTransformShapesAndValues) {
  // The frame is already 48x32 (short side = S), so the three crops read positions directly.
  const std::vector<cv::Mat> frames(5, position_frame(48, 32));
  const torch::Tensor three = eval_transform(frames, {32, 3});  // [C,T,3,S,S]
  ASSERT_EQ(three.sizes(), (std::vector<int64_t>{3, 5, 3, 32, 32}));
  EXPECT_NEAR(three[0][0][0][0][0].item<float>(), normalized(0, 0), 1e-5);
  EXPECT_NEAR(three[1][4][0][0][0].item<float>(), normalized(16, 0), 1e-5);
  EXPECT_NEAR(three[2][2][0][3][0].item<float>(), normalized(8, 0), 1e-5);
  EXPECT_NEAR(three[2][2][1][3][0].item<float>(), normalized(3, 1), 1e-5);
  EXPECT_NEAR(three[2][2][2][3][0].item<float>(), normalized(77, 2), 1e-5);
  const torch::Tensor centre = eval_transform(frames, {32, 1});
  ASSERT_EQ(centre.sizes(), (std::vector<int64_t>{1, 5, 3, 32, 32}));
}

// out= (how the loader writes a clip into its batch row): the same values written into the given
// tensor, and a tensor of another shape, dtype or layout refused by name.
TEST(Transforms, OutWritesIntoTheGivenTensorAndRefusesOthers) {
  const std::vector<cv::Mat> frames(4, position_frame(48, 32));
  const torch::Tensor expected = eval_transform(frames, {32, 3});
  torch::Tensor batch = torch::full({2, 3, 4, 3, 32, 32}, -7.0f);
  const torch::Tensor written = eval_transform(frames, {32, 3}, batch[1]);
  EXPECT_EQ(written.data_ptr(), batch[1].data_ptr());
  EXPECT_TRUE(torch::equal(batch[1], expected));
  EXPECT_TRUE(torch::all(batch[0] == -7.0f).item<bool>());  // the neighbouring row untouched

  const AugmentConfig augment = small_config();
  Rng a(5), b(5);
  torch::Tensor clip = torch::empty({4, 3, 32, 32});
  train_transform(frames, a, augment, clip);
  EXPECT_TRUE(torch::equal(clip, train_transform(frames, b, augment)));

  EXPECT_THROW(frames_to_tensor(frames, torch::empty({4, 3, 48, 32})), std::invalid_argument);
  EXPECT_THROW(frames_to_tensor(frames, torch::empty({4, 3, 32, 48}, torch::kFloat64)), std::invalid_argument);
  EXPECT_THROW(frames_to_tensor(frames, torch::empty({4, 3, 48, 32}).transpose(2, 3)), std::invalid_argument);
  test::expect_error<std::invalid_argument>([&] { eval_transform(frames, {32, 3}, torch::empty({1, 4, 3, 32, 32})); },
                                            {"eval transform: out= must be a contiguous float32 tensor of shape",
                                             "[3, 4, 3, 32, 32]", "[1, 4, 3, 32, 32]"});
}

// A clip whose picture size changes mid-stream: the geometry is drawn on the first frame, and a
// frame of another size is resized straight to that geometry's resized size.
TEST(Transforms, FramesOfAnotherSizeTakeTheFirstFramesGeometry) {
  const cv::Mat first = position_frame(48, 32), other = position_frame(40, 56);
  const auto resized = [](const cv::Mat& m, cv::Size to) {
    cv::Mat out;
    cv::resize(m, out, to, 0, 0, cv::INTER_LINEAR);
    return out;
  };
  for (int crops : {1, 3}) {
    const EvalTransformConfig eval{32, crops};
    const cv::Size to = eval_resize_size(first.size(), eval);
    EXPECT_TRUE(torch::equal(eval_transform({first, other}, eval), eval_transform({first, resized(other, to)}, eval)));
  }
  Rng rng(9);
  const ClipAugmentParams params = draw_train_params(rng, first.size(), small_config());
  const auto mixed = apply_train_params(params, {first, other}, small_config());
  const auto same = apply_train_params(params, {first, resized(other, params.resized)}, small_config());
  EXPECT_EQ(cv::norm(mixed[1], same[1], cv::NORM_INF), 0.0);
  EXPECT_EQ(mixed[1].size(), cv::Size(32, 32));
}

TEST(Transforms, RejectsBadFramesAndConfigs) {
  EXPECT_THROW(eval_transform({cv::Mat(8, 8, CV_8UC1)}, {32, 1}), std::invalid_argument);
  EXPECT_THROW(eval_transform({}, {32, 1}), std::invalid_argument);
  EXPECT_THROW(validate(EvalTransformConfig{32, 2}), std::invalid_argument);
  AugmentConfig bad = small_config();
  bad.gray_scale = 1.5;
  try {
    validate(bad);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("AUG.GRAY_SCALE"), std::string::npos) << e.what();
  }
}

TEST(ColorJitter, PilArithmetic) {
  cv::Mat px(1, 1, CV_8UC3, cv::Scalar(100, 101, 250));
  adjust_brightness(px, 1.2);  // 120, 121.2 -> 121, 300 -> clipped 255
  EXPECT_EQ(px.at<cv::Vec3b>(0, 0), cv::Vec3b(120, 121, 255));
  px = cv::Mat(1, 1, CV_8UC3, cv::Scalar(101, 3, 0));
  adjust_brightness(px, 0.5);  // 50.5 -> 50 (truncation), 1.5 -> 1
  EXPECT_EQ(px.at<cv::Vec3b>(0, 0), cv::Vec3b(50, 1, 0));

  // Contrast: L of black and white is 0 and 255, mean 127.5 -> int(128.0) = 128.
  cv::Mat two(1, 2, CV_8UC3);
  two.at<cv::Vec3b>(0, 0) = {0, 0, 0};
  two.at<cv::Vec3b>(0, 1) = {255, 255, 255};
  adjust_contrast(two, 0.5);  // 128 + .5 * (0 - 128) = 64; 128 + .5 * 127 = 191.5 -> 191
  EXPECT_EQ(two.at<cv::Vec3b>(0, 0), cv::Vec3b(64, 64, 64));
  EXPECT_EQ(two.at<cv::Vec3b>(0, 1), cv::Vec3b(191, 191, 191));

  // Saturation 0 is the PIL luma.
  px = cv::Mat(1, 1, CV_8UC3, cv::Scalar(200, 100, 50));
  adjust_saturation(px, 0.0);
  EXPECT_EQ(px.at<cv::Vec3b>(0, 0), cv::Vec3b(124, 124, 124));
  EXPECT_EQ(pil_luma(255, 255, 255), 255);
  EXPECT_EQ(pil_luma(0, 0, 0), 0);
}

TEST(ColorJitter, HueRotatesThroughPilHsv) {
  cv::Mat red(1, 1, CV_8UC3, cv::Scalar(255, 0, 0));
  adjust_hue(red, 1.0 / 3.0);  // H 0 + uint8(85) = 85 -> sector 2: (p, v, t) = (0, 255, 0)
  EXPECT_EQ(red.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 255, 0));
  red = cv::Mat(1, 1, CV_8UC3, cv::Scalar(255, 0, 0));
  adjust_hue(red, -1.0 / 3.0);  // -85 wraps to 171 -> sector 4, f = 0.0235: (t, p, v) = (6, 0, 255)
  EXPECT_EQ(red.at<cv::Vec3b>(0, 0), cv::Vec3b(6, 0, 255));
  cv::Mat gray(1, 1, CV_8UC3, cv::Scalar(90, 90, 90));
  adjust_hue(gray, 0.1);  // no saturation: unchanged
  EXPECT_EQ(gray.at<cv::Vec3b>(0, 0), cv::Vec3b(90, 90, 90));
}

// A [H,W,3] tensor of 0..255 values (load_npy widens integers to int64) as an RGB image.
cv::Mat image_of(const torch::Tensor& hwc) {
  const torch::Tensor t = hwc.to(torch::kUInt8).contiguous();
  return cv::Mat(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3, t.data_ptr()).clone();
}

ColorOp color_op(const std::string& name) {
  if (name == "brightness") return ColorOp::brightness;
  if (name == "contrast") return ColorOp::contrast;
  if (name == "saturation") return ColorOp::saturation;
  if (name == "hue") return ColorOp::hue;
  throw std::invalid_argument("unknown colour op " + name);
}

// PIL's own output (tools/make_color_jitter_fixtures.py): single adjustments with chosen factors,
// and four-step sequences run through apply_color_jitter in the fixture's order.
TEST(ColorJitter, ReproducesPilBitForBit) {
  const torch::Tensor input = util::load_npy(test::fixture("color_jitter/input.npy"));
  const torch::Tensor outputs = util::load_npy(test::fixture("color_jitter/outputs.npy"));
  std::ifstream in(test::fixture("color_jitter/cases.json"));
  const auto cases = nlohmann::json::parse(in).at("cases");
  ASSERT_EQ(static_cast<int64_t>(cases.size()), outputs.size(0));
  int sequences = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    const auto& steps = cases[k];
    cv::Mat img = image_of(input);
    if (steps.size() == 4) {
      ColorJitterParams params;
      for (size_t i = 0; i < 4; ++i) {
        const std::string op = steps[i].at("op");
        const double factor = steps[i].at("factor");
        params.order[i] = color_op(op);
        (op == "brightness" ? params.brightness
         : op == "contrast" ? params.contrast
         : op == "saturation" ? params.saturation
                              : params.hue) = factor;
      }
      apply_color_jitter(params, img);
      ++sequences;
    } else {
      ASSERT_EQ(steps.size(), 1U);
      const std::string op = steps[0].at("op");
      const double factor = steps[0].at("factor");
      if (op == "grayscale") {
        to_grayscale_rgb(img);
      } else if (op == "brightness") {
        adjust_brightness(img, factor);
      } else if (op == "contrast") {
        adjust_contrast(img, factor);
      } else if (op == "saturation") {
        adjust_saturation(img, factor);
      } else {
        adjust_hue(img, factor);
      }
    }
    const cv::Mat expected = image_of(outputs[static_cast<int64_t>(k)]);
    cv::Mat differs;
    cv::compare(img.reshape(1), expected.reshape(1), differs, cv::CMP_NE);
    EXPECT_EQ(cv::countNonZero(differs), 0) << "case " << k << ": " << steps.dump();
  }
  EXPECT_EQ(sequences, 4);
}

// The hue step's tables against the per-pixel formulas on all 2^24 colours.
TEST(ColorJitter, HueTablesAgreeWithTheFormulasOnEveryColour) {
  cv::Mat all(4096, 4096, CV_8UC3);
  for (int y = 0; y < all.rows; ++y) {
    auto* p = all.ptr<uint8_t>(y);
    for (int x = 0; x < all.cols; ++x, p += 3) {
      const int colour = y * 4096 + x;
      p[0] = static_cast<uint8_t>(colour >> 16);
      p[1] = static_cast<uint8_t>(colour >> 8);
      p[2] = static_cast<uint8_t>(colour);
    }
  }
  for (const double shift : {0.1, -0.037, 0.5}) {
    cv::Mat fast = all.clone(), formula = all.clone();
    adjust_hue(fast, shift);
    detail::adjust_hue_per_pixel(formula, shift);
    cv::Mat differs;
    cv::compare(fast.reshape(1), formula.reshape(1), differs, cv::CMP_NE);
    EXPECT_EQ(cv::countNonZero(differs), 0) << "shift " << shift;
    EXPECT_GT(cv::norm(fast, all, cv::NORM_L1), 0.0) << "shift " << shift << " changed nothing";
  }
}

// frames_to_tensor against the same formula written as tensor arithmetic.
TEST(Transforms, NormalisationMatchesTensorArithmetic) {
  cv::Mat a(5, 7, CV_8UC3), b(5, 7, CV_8UC3);
  cv::randu(a, 0, 256);
  cv::randu(b, 0, 256);
  const torch::Tensor got = frames_to_tensor({a, b});
  for (int t = 0; t < 2; ++t) {
    const cv::Mat& m = t == 0 ? a : b;
    const auto hwc = torch::from_blob(m.data, {5, 7, 3}, torch::kUInt8).to(torch::kFloat32);
    const auto mean = torch::tensor({kPixelMean[0], kPixelMean[1], kPixelMean[2]});
    const auto inv_std = torch::tensor({static_cast<float>(1.0 / kPixelStd[0]), static_cast<float>(1.0 / kPixelStd[1]),
                                        static_cast<float>(1.0 / kPixelStd[2])});
    const auto expected = ((hwc - mean) * inv_std).permute({2, 0, 1});
    EXPECT_TRUE(torch::equal(got[t], expected)) << "frame " << t;
  }
}

TEST(ColorJitter, DrawStaysInRangesAndPermutesTheOrder) {
  std::set<std::array<ColorOp, 4>> orders;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    Rng rng(seed);
    const ColorJitterParams p = draw_color_jitter(rng, {});
    EXPECT_GE(p.brightness, 0.6);
    EXPECT_LE(p.brightness, 1.4);
    EXPECT_GE(p.contrast, 0.6);
    EXPECT_LE(p.saturation, 1.2);
    EXPECT_GE(p.saturation, 0.8);
    EXPECT_LE(std::abs(p.hue), 0.1);
    orders.insert(p.order);
  }
  EXPECT_EQ(orders.size(), 24u);
}

}  // namespace
}  // namespace vifi::data

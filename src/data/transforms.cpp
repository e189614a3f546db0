// Train and test frame transforms; the reference semantics are spelled out in the header.
#include "vifi/data/transforms.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace vifi::data {
namespace {

std::string size_str(cv::Size s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// The clip's geometry is drawn on its first frame. A later frame of another size (a file whose
// picture size changes mid-stream: phone rotation, screen recordings) is resized straight to
// that geometry's resized size, so the clip's one crop applies to every frame.
cv::Size clip_frame_size(const std::vector<cv::Mat>& frames, const char* who) {
  require(!frames.empty(), std::string(who) + ": no frames");
  for (size_t i = 0; i < frames.size(); ++i) {
    require(frames[i].type() == CV_8UC3, std::string(who) + ": frame " + std::to_string(i) +
                                             " is not RGB CV_8UC3 (type " + std::to_string(frames[i].type()) + ")");
    require(frames[i].cols > 0 && frames[i].rows > 0, std::string(who) + ": frame " + std::to_string(i) + " is empty");
  }
  return frames.front().size();
}

// frames_to_tensor's input: one size for all.
cv::Size common_frame_size(const std::vector<cv::Mat>& frames, const char* who) {
  const cv::Size size = clip_frame_size(frames, who);
  for (size_t i = 0; i < frames.size(); ++i) {
    require(frames[i].size() == size, std::string(who) + ": frame " + std::to_string(i) + " is " +
                                          size_str(frames[i].size()) + ", frame 0 is " + size_str(size));
  }
  return size;
}

cv::Mat resize_to(const cv::Mat& frame, cv::Size size) {
  if (frame.size() == size) return frame.clone();
  cv::Mat out;
  cv::resize(frame, out, size, 0.0, 0.0, cv::INTER_LINEAR);
  return out;
}

cv::Rect to_rect(const CropBox& b) { return {b.x, b.y, b.width, b.height}; }

bool box_inside(const CropBox& b, cv::Size frame) {
  return b.x >= 0 && b.y >= 0 && b.width > 0 && b.height > 0 && b.x + b.width <= frame.width &&
         b.y + b.height <= frame.height;
}

}  // namespace

void validate(const AugmentConfig& cfg) {
  require(cfg.input_size > 0, "AugmentConfig.input_size must be positive, got " + std::to_string(cfg.input_size));
  require(!cfg.scales.empty(), "AugmentConfig.scales must not be empty");
  for (double s : cfg.scales)
    require(s > 0.0 && s <= 1.0, "AugmentConfig.scales: " + std::to_string(s) + " not in (0, 1]");
  require(cfg.max_wh_scale_gap >= 0, "AugmentConfig.max_wh_scale_gap must be >= 0");
  require(cfg.num_fixed_crops == 5 || cfg.num_fixed_crops == 13,
          "AugmentConfig.num_fixed_crops must be 5 or 13, got " + std::to_string(cfg.num_fixed_crops));
  const auto prob = [](double p) { return p >= 0.0 && p <= 1.0; };
  require(prob(cfg.flip_ratio), "AugmentConfig.flip_ratio must be in [0, 1]");
  require(prob(cfg.color_jitter), "AugmentConfig.color_jitter (AUG.COLOR_JITTER) must be in [0, 1]");
  require(prob(cfg.gray_scale), "AugmentConfig.gray_scale (AUG.GRAY_SCALE) must be in [0, 1]");
  require(cfg.jitter.hue >= 0.0 && cfg.jitter.hue <= 0.5, "ColorJitterRanges.hue must be in [0, 0.5]");
}

void validate(const EvalTransformConfig& cfg) {
  require(cfg.input_size > 0, "EvalTransformConfig.input_size must be positive, got " + std::to_string(cfg.input_size));
  require(cfg.num_crops == 1 || cfg.num_crops == 3,
          "EvalTransformConfig.num_crops (TEST.NUM_CROP) must be 1 or 3, got " + std::to_string(cfg.num_crops));
}

int train_resize_short_side(int input_size) {
  return static_cast<int>(256.0 / 224.0 * static_cast<double>(input_size));
}

cv::Size resize_short_side(cv::Size frame, int short_side) {
  require(frame.width > 0 && frame.height > 0 && short_side > 0,
          "resize_short_side: frame " + size_str(frame) + ", short side " + std::to_string(short_side));
  const double k = static_cast<double>(short_side) / static_cast<double>(std::min(frame.width, frame.height));
  return {static_cast<int>(frame.width * k + 0.5), static_cast<int>(frame.height * k + 0.5)};
}

std::vector<cv::Size> multiscale_crop_sizes(cv::Size frame, const AugmentConfig& cfg) {
  const int base = std::min(frame.width, frame.height);
  std::vector<int> sizes;
  for (double s : cfg.scales) sizes.push_back(static_cast<int>(base * s));
  const auto snap = [&cfg](int v) { return std::abs(v - cfg.input_size) < 3 ? cfg.input_size : v; };
  std::vector<cv::Size> out;
  for (size_t i = 0; i < sizes.size(); ++i) {    // i indexes the height
    for (size_t j = 0; j < sizes.size(); ++j) {  // j indexes the width
      const auto gap = i > j ? i - j : j - i;
      if (gap <= static_cast<size_t>(cfg.max_wh_scale_gap)) out.emplace_back(snap(sizes[j]), snap(sizes[i]));
    }
  }
  return out;
}

std::vector<cv::Point> multiscale_crop_offsets(cv::Size frame, cv::Size crop, int num_fixed_crops) {
  const int ws = (frame.width - crop.width) / 4;
  const int hs = (frame.height - crop.height) / 4;
  std::vector<cv::Point> out{{0, 0}, {4 * ws, 0}, {0, 4 * hs}, {4 * ws, 4 * hs}, {2 * ws, 2 * hs}};
  if (num_fixed_crops == 13) {
    const std::vector<cv::Point> extra{{0, 2 * hs}, {4 * ws, 2 * hs}, {2 * ws, 4 * hs}, {2 * ws, 0},
                                       {ws, hs},    {3 * ws, hs},     {ws, 3 * hs},     {3 * ws, 3 * hs}};
    out.insert(out.end(), extra.begin(), extra.end());
  }
  return out;
}

ClipAugmentParams draw_train_params(Rng& rng, cv::Size frame_size, const AugmentConfig& cfg) {
  ClipAugmentParams p;
  p.resized = resize_short_side(frame_size, train_resize_short_side(cfg.input_size));
  const auto sizes = multiscale_crop_sizes(p.resized, cfg);
  const cv::Size crop = sizes[static_cast<size_t>(rng.uniform_int(static_cast<int64_t>(sizes.size())))];
  const auto offsets = multiscale_crop_offsets(p.resized, crop, cfg.num_fixed_crops);
  const cv::Point at = offsets[static_cast<size_t>(rng.uniform_int(static_cast<int64_t>(offsets.size())))];
  p.crop = {at.x, at.y, crop.width, crop.height};
  require(box_inside(p.crop, p.resized), "MultiScaleCrop: crop " + size_str(crop) + " does not fit the resized frame " +
                                             size_str(p.resized) + " (input_size " + std::to_string(cfg.input_size) +
                                             ")");
  p.flip = rng.bernoulli(cfg.flip_ratio);
  if (rng.bernoulli(cfg.color_jitter)) p.color = draw_color_jitter(rng, cfg.jitter);
  p.grayscale = rng.bernoulli(cfg.gray_scale);
  return p;
}

std::vector<cv::Mat> apply_train_params(const ClipAugmentParams& params, const std::vector<cv::Mat>& frames,
                                        const AugmentConfig& cfg) {
  clip_frame_size(frames, "train transform");
  require(box_inside(params.crop, params.resized),
          "train transform: crop box outside the resized frame " + size_str(params.resized));
  const cv::Size out_size(cfg.input_size, cfg.input_size);
  std::vector<cv::Mat> out;
  out.reserve(frames.size());
  for (const cv::Mat& frame : frames) {
    // Frames scaled in the decoder's conversion already have the resized size: crop them as they are.
    const cv::Mat resized = frame.size() == params.resized ? frame : resize_to(frame, params.resized);
    cv::Mat img = resize_to(resized(to_rect(params.crop)), out_size);
    if (params.flip) cv::flip(img, img, 1);
    if (params.color) apply_color_jitter(*params.color, img);
    if (params.grayscale) to_grayscale_rgb(img);
    out.push_back(std::move(img));
  }
  return out;
}

cv::Size eval_resize_size(cv::Size frame, const EvalTransformConfig& cfg) {
  const int short_side = cfg.num_crops == 3 ? cfg.input_size : train_resize_short_side(cfg.input_size);
  return resize_short_side(frame, short_side);
}

std::vector<CropBox> eval_crop_boxes(cv::Size resized, const EvalTransformConfig& cfg) {
  const int s = cfg.input_size;
  if (cfg.num_crops == 1) return {{(resized.width - s) / 2, (resized.height - s) / 2, s, s}};
  require(resized.width == s || resized.height == s,
          "three-crop: resized frame " + size_str(resized) + " has no side equal to " + std::to_string(s));
  if (resized.height == s) {
    const int step = (resized.width - s) / 2;
    return {{0, 0, s, s}, {2 * step, 0, s, s}, {step, 0, s, s}};  // left, right, middle
  }
  const int step = (resized.height - s) / 2;
  return {{0, 0, s, s}, {0, 2 * step, s, s}, {0, step, s, s}};  // top, bottom, middle
}

namespace {

// `out`, when given, must be the contiguous float32 tensor the result would have been: the loader
// passes a row of its batch so the clip is written once, in the worker, and never copied again.
torch::Tensor output_tensor(const torch::Tensor& out, const std::vector<int64_t>& shape, const char* what) {
  if (!out.defined()) return torch::empty(shape, torch::kFloat32);
  if (out.scalar_type() != torch::kFloat32 || !out.is_contiguous() || out.sizes() != torch::IntArrayRef(shape)) {
    std::ostringstream os;
    os << what << ": out= must be a contiguous float32 tensor of shape " << torch::IntArrayRef(shape) << ", got "
       << out.scalar_type() << " " << out.sizes() << (out.is_contiguous() ? "" : " (not contiguous)");
    throw std::invalid_argument(os.str());
  }
  return out;
}

}  // namespace

torch::Tensor frames_to_tensor(const std::vector<cv::Mat>& frames, torch::Tensor out) {
  const cv::Size size = common_frame_size(frames, "frames_to_tensor");
  const int64_t h = size.height, w = size.width;
  out = output_tensor(out, {static_cast<int64_t>(frames.size()), 3, h, w}, "frames_to_tensor");
  // mmcv.imnormalize_: subtract the mean, multiply by 1/std; a table per channel holds the 256
  // results (the same float arithmetic, done once), and each row is written plane by plane.
  std::array<std::array<float, 256>, 3> normalised{};
  for (size_t c = 0; c < 3; ++c) {
    const auto inv_std = static_cast<float>(1.0 / kPixelStd[c]);
    for (size_t v = 0; v < 256; ++v) normalised[c][v] = (static_cast<float>(v) - kPixelMean[c]) * inv_std;
  }
  float* dst = out.data_ptr<float>();
  for (const cv::Mat& frame : frames) {
    for (int64_t y = 0; y < h; ++y) {
      const uint8_t* src = frame.ptr<uint8_t>(static_cast<int>(y));
      float* red = dst + y * w;
      float* green = red + h * w;
      float* blue = green + h * w;
      for (int64_t x = 0; x < w; ++x, src += 3) {
        red[x] = normalised[0][src[0]];
        green[x] = normalised[1][src[1]];
        blue[x] = normalised[2][src[2]];
      }
    }
    dst += 3 * h * w;
  }
  return out;
}

torch::Tensor train_transform(const std::vector<cv::Mat>& frames, Rng& rng, const AugmentConfig& cfg,
                              torch::Tensor out) {
  const cv::Size size = clip_frame_size(frames, "train transform");
  const ClipAugmentParams params = draw_train_params(rng, size, cfg);
  return frames_to_tensor(apply_train_params(params, frames, cfg), std::move(out));
}

torch::Tensor eval_transform(const std::vector<cv::Mat>& frames, const EvalTransformConfig& cfg, torch::Tensor out) {
  const cv::Size resized_size = eval_resize_size(clip_frame_size(frames, "eval transform"), cfg);
  const auto boxes = eval_crop_boxes(resized_size, cfg);
  std::vector<cv::Mat> resized;
  resized.reserve(frames.size());
  for (const cv::Mat& frame : frames) resized.push_back(resize_to(frame, resized_size));
  const int64_t s = cfg.input_size;
  out = output_tensor(out, {static_cast<int64_t>(boxes.size()), static_cast<int64_t>(frames.size()), 3, s, s},
                      "eval transform");
  for (size_t c = 0; c < boxes.size(); ++c) {
    const CropBox& box = boxes[c];
    require(box_inside(box, resized_size), "eval transform: crop " + std::to_string(box.width) + "x" +
                                               std::to_string(box.height) + " does not fit " + size_str(resized_size));
    std::vector<cv::Mat> views;
    views.reserve(resized.size());
    for (const cv::Mat& r : resized) views.push_back(r(to_rect(box)));
    frames_to_tensor(views, out[static_cast<int64_t>(c)]);
  }
  return out;
}

}  // namespace vifi::data

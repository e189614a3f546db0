// Frame transforms of the train and test pipelines (OpenCV on RGB uint8 frames of one clip).
// Owns: the geometry (short-side resize, MultiScaleCrop, centre and three-crop), flip, colour
// jitter / grayscale gates, and normalisation into a float tensor.
//
// Train (reference datasets/build.py train_pipeline, mmaction2 semantics):
//   Resize short side to int(256/224 * S) (mmcv rescale: long side int(long * k + 0.5))
//   MultiScaleCrop: base = min(h, w); sizes int(base * s) for s in (1, .875, .75, .66); a
//     (w, h) pair with |i_w - i_h| <= max_wh_scale_gap drawn uniformly; a side within 2 px of S
//     snaps to S; offset drawn from the fixed grid (step = (img - crop) // 4): upper-left,
//     upper-right, lower-left, lower-right, centre (+8 more with num_fixed_crops = 13)
//   Resize to S x S (bilinear), Flip p=.5, ColorJitter p=AUG.COLOR_JITTER, GrayScale
//   p=AUG.GRAY_SCALE, Normalize (x - mean) / std on 0-255 RGB.
// Test: short side to int(256/224 * S) + centre crop S; with three crops: short side to S and
//   crops at offsets 0, 2*step, step along the long side (left/top, right/bottom, middle).
// One draw per clip: every frame of a clip gets the same crop, flip, colour and grayscale. The
// geometry is drawn on the first frame; a frame of another size is resized straight to its
// resized size (a picture whose size changes mid-stream is stretched, not cropped differently).
// All functions are pure apart from the Rng they are handed.
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <optional>
#include <vector>

#include "vifi/data/color_jitter.h"
#include "vifi/data/rng.h"

namespace vifi::data {

// Per-channel RGB statistics on the 0-255 scale (ImageNet's, as the reference uses).
inline constexpr float kPixelMean[3] = {123.675F, 116.28F, 103.53F};
inline constexpr float kPixelStd[3] = {58.395F, 57.12F, 57.375F};

struct CropBox {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  bool operator==(const CropBox& o) const { return x == o.x && y == o.y && width == o.width && height == o.height; }
};

struct AugmentConfig {
  int input_size = 224;                                // DATA.INPUT_SIZE (S)
  std::vector<double> scales{1.0, 0.875, 0.75, 0.66};  // MultiScaleCrop scales
  int max_wh_scale_gap = 1;
  int num_fixed_crops = 5;  // 5 or 13 fixed offsets
  double flip_ratio = 0.5;
  double color_jitter = 0.8;  // AUG.COLOR_JITTER: probability per clip
  double gray_scale = 0.2;    // AUG.GRAY_SCALE: probability per clip
  ColorJitterRanges jitter;
};

struct EvalTransformConfig {
  int input_size = 224;  // DATA.INPUT_SIZE
  int num_crops = 1;     // TEST.NUM_CROP: 1 (centre) or 3 (three-crop)
};

// Throw std::invalid_argument naming the offending field.
void validate(const AugmentConfig& cfg);
void validate(const EvalTransformConfig& cfg);

// The random choices for one clip: a value that can be inspected and replayed.
struct ClipAugmentParams {
  cv::Size resized;  // frame size after the short-side resize
  CropBox crop;      // MultiScaleCrop box inside the resized frame
  bool flip = false;
  std::optional<ColorJitterParams> color;  // set when colour jitter applies to this clip
  bool grayscale = false;
};

// int(256 / 224 * input_size), computed in double as the reference does (224 -> 256, 32 -> 36).
int train_resize_short_side(int input_size);

// mmcv.rescale_size with scale (inf, short_side): the short side becomes `short_side`.
cv::Size resize_short_side(cv::Size frame, int short_side);

// MultiScaleCrop's (width, height) candidates for a frame, in the reference's order.
std::vector<cv::Size> multiscale_crop_sizes(cv::Size frame, const AugmentConfig& cfg);

// MultiScaleCrop's fixed offsets (x, y) for a crop inside a frame, in the reference's order.
std::vector<cv::Point> multiscale_crop_offsets(cv::Size frame, cv::Size crop, int num_fixed_crops);

ClipAugmentParams draw_train_params(Rng& rng, cv::Size frame_size, const AugmentConfig& cfg);

// Applies `params` to every frame (same geometry and colour); returns S x S RGB CV_8UC3 frames.
std::vector<cv::Mat> apply_train_params(const ClipAugmentParams& params, const std::vector<cv::Mat>& frames,
                                        const AugmentConfig& cfg);

// Test geometry: the resized frame size and the crop boxes inside it (1 or 3 boxes).
cv::Size eval_resize_size(cv::Size frame, const EvalTransformConfig& cfg);
std::vector<CropBox> eval_crop_boxes(cv::Size resized, const EvalTransformConfig& cfg);

// RGB CV_8UC3 frames (all the same size) -> [T,3,H,W] float32, (x - mean) / std.
// `out` (PyTorch's out=): when defined, the result is written into it and it is returned; it must
// be a contiguous float32 tensor of the result's shape, else std::invalid_argument.
torch::Tensor frames_to_tensor(const std::vector<cv::Mat>& frames, torch::Tensor out = {});

// Whole pipelines. frames: the T decoded frames of one clip (RGB CV_8UC3, any sizes; see above).
// `out` as for frames_to_tensor.
torch::Tensor train_transform(const std::vector<cv::Mat>& frames, Rng& rng, const AugmentConfig& cfg,
                              torch::Tensor out = {});  // [T,3,S,S]
torch::Tensor eval_transform(const std::vector<cv::Mat>& frames, const EvalTransformConfig& cfg,
                             torch::Tensor out = {});  // [C,T,3,S,S]

}  // namespace vifi::data

// The frames a clip is made of, as pictures: `vifi data frames`.
// Owns: for one video, choosing frame indices the way the loader does (train or test sampling, or
// indices given by hand), reading them, and turning the transformed clip tensor back into RGB
// uint8 images. It owns no formula: it composes data/sampling, data/video_reader and
// data/transforms exactly as data/video_clip does, so what it shows is what the model gets.
//
// Train sampling draws from the Rngs the loader gives the sample at position 0 of epoch 0 under
// seed S (Rng::keyed(S, 0, 0, sampling / augment)): `--seed SEED` shows the first clip a run with
// that SEED draws for whichever video comes first in its epoch order.
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vifi/data/video_clip.h"
#include "vifi/data/video_reader.h"

namespace vifi::data {

enum class FramePick {
  indices,  // the indices given, in that order (transformed: the evaluation transform)
  train,    // sample_train_indices (transformed: train_transform with its random draw)
  test,     // sample_multiview_indices over num_clips views (transformed: eval_transform's crops)
};

enum class FrameStage {
  decoded,      // frames as VideoReader returns them (full size, RGB)
  transformed,  // the S x S frames the model sees, de-normalised to RGB uint8
};

struct ClipFramesRequest {
  FramePick pick = FramePick::test;
  FrameStage stage = FrameStage::decoded;
  std::vector<int64_t> indices;  // FramePick::indices: each in [0, num_frames)
  uint64_t seed = 0;             // FramePick::train: the loader's SEED
  ClipConfig clip;               // num_frames (T), num_clips (test views), transforms
};

struct ClipFrame {
  cv::Mat rgb;        // CV_8UC3, RGB order
  int64_t slot = 0;   // position in the clip: 0..T-1 (test: view-major, v*T + t)
  int64_t index = 0;  // frame index in the video
  int64_t crop = -1;  // spatial crop of a transformed test frame (0..NUM_CROP-1), -1: one image per slot
};

struct ClipFrames {
  VideoInfo info;
  std::vector<int64_t> indices;  // [slots] the frame indices, in clip order
  int64_t num_crops = 1;         // images per slot
  std::vector<ClipFrame> frames; // crop-major, then slot order
};

// Frame indices of a `num_frames`-frame video (pure). Throws std::invalid_argument naming the
// index and the frame count when a given index is outside [0, num_frames), or when no index is
// given.
std::vector<int64_t> pick_frame_indices(int64_t num_frames, const ClipFramesRequest& request);

// Opens `path`, picks indices, reads them (sparse decoding, as the loader reads) and applies the
// transform of the pick when request.stage is transformed. Throws VideoError for a file it cannot
// read, std::runtime_error for one without frames, std::invalid_argument for a bad index; each
// names the file.
ClipFrames read_clip_frames(const std::string& path, const ClipFramesRequest& request);

// The inverse of frames_to_tensor: [T,3,H,W] normalised float -> T RGB CV_8UC3 images
// (x * std + mean, rounded and clamped to 0..255).
std::vector<cv::Mat> denormalize_frames(const torch::Tensor& clip);

}  // namespace vifi::data

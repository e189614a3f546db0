// One video's clip as pictures: indices, decoded frames, transformed frames (see header).
#include "vifi/data/clip_frames.h"

#include <stdexcept>
#include <string>

#include "vifi/data/sampling.h"
#include "vifi/data/transforms.h"

namespace vifi::data {
namespace {

// The loader's draws for the sample at position 0 of epoch 0 (data/loader: keyed by seed, epoch,
// position and stream).
constexpr int64_t kEpoch = 0;
constexpr int64_t kPosition = 0;

std::vector<ClipFrame> as_frames(const std::vector<cv::Mat>& images, const std::vector<int64_t>& indices,
                                 int64_t crop) {
  std::vector<ClipFrame> out;
  for (size_t k = 0; k < images.size(); ++k)
    out.push_back({images[k], static_cast<int64_t>(k), indices[k], crop});
  return out;
}

}  // namespace

std::vector<int64_t> pick_frame_indices(int64_t num_frames, const ClipFramesRequest& request) {
  switch (request.pick) {
    case FramePick::indices:
      if (request.indices.empty()) throw std::invalid_argument("no frame indices given");
      for (const int64_t i : request.indices) {
        if (i < 0 || i >= num_frames) {
          throw std::invalid_argument("frame index " + std::to_string(i) + " is outside the video's " +
                                      std::to_string(num_frames) + " frames (0.." + std::to_string(num_frames - 1) +
                                      ")");
        }
      }
      return request.indices;
    case FramePick::train: {
      Rng sampling = Rng::keyed(request.seed, kEpoch, kPosition, RngStream::sampling);
      return sample_train_indices(num_frames, request.clip.num_frames, sampling);
    }
    case FramePick::test:
      return sample_multiview_indices(num_frames, request.clip.num_frames, request.clip.num_clips);
  }
  throw std::logic_error("pick_frame_indices: unknown FramePick");
}

ClipFrames read_clip_frames(const std::string& path, const ClipFramesRequest& request) {
  validate(request.clip);
  // Decoded frames are shown at their stored size; transformed ones are read as the loader does.
  VideoReaderOptions options;
  if (request.stage == FrameStage::transformed) {
    options = request.pick == FramePick::train ? train_reader_options(request.clip) : eval_reader_options(request.clip);
  }
  VideoReader reader(path, options);
  ClipFrames out;
  out.info = reader.info();
  if (out.info.num_frames < 1) throw std::runtime_error(path + ": the video has no frames");
  try {
    out.indices = pick_frame_indices(out.info.num_frames, request);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
  const std::vector<cv::Mat> decoded = reader.read_frames(out.indices);
  if (request.stage == FrameStage::decoded) {
    out.frames = as_frames(decoded, out.indices, -1);
  } else if (request.pick == FramePick::train) {
    Rng augment = Rng::keyed(request.seed, kEpoch, kPosition, RngStream::augment);
    out.frames = as_frames(denormalize_frames(train_transform(decoded, augment, request.clip.augment)), out.indices, -1);
  } else {
    const torch::Tensor crops = eval_transform(decoded, request.clip.eval);  // [C,slots,3,S,S]
    out.num_crops = crops.size(0);
    for (int64_t c = 0; c < out.num_crops; ++c) {
      auto images = as_frames(denormalize_frames(crops[c]), out.indices, out.num_crops > 1 ? c : -1);
      out.frames.insert(out.frames.end(), images.begin(), images.end());
    }
  }
  return out;
}

std::vector<cv::Mat> denormalize_frames(const torch::Tensor& clip) {
  if (clip.dim() != 4 || clip.size(1) != 3)
    throw std::invalid_argument("denormalize_frames: expected [T,3,H,W], got " + std::to_string(clip.dim()) + " dims");
  const auto mean = torch::tensor({kPixelMean[0], kPixelMean[1], kPixelMean[2]}).view({1, 3, 1, 1});
  const auto stdev = torch::tensor({kPixelStd[0], kPixelStd[1], kPixelStd[2]}).view({1, 3, 1, 1});
  const auto pixels = (clip.to(torch::kCPU, torch::kFloat) * stdev + mean)
                          .round()
                          .clamp(0, 255)
                          .to(torch::kUInt8)
                          .permute({0, 2, 3, 1})
                          .contiguous();  // [T,H,W,3]
  std::vector<cv::Mat> frames;
  for (int64_t t = 0; t < pixels.size(0); ++t) {
    cv::Mat view(static_cast<int>(pixels.size(1)), static_cast<int>(pixels.size(2)), CV_8UC3, pixels[t].data_ptr());
    frames.push_back(view.clone());
  }
  return frames;
}

}  // namespace vifi::data

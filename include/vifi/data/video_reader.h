// Sparse video decoding with FFmpeg (libavformat/libavcodec/libswscale).
// Owns: opening a file, its frame count/fps/size, and decoding only the frames a sampler asked
// for. Frame i is the i-th frame in presentation order, exactly as a full decode counts it
// (B-frames and variable frame rate included). All FFmpeg handles are RAII.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace vifi::data {

// Thrown for a missing, unreadable, truncated or zero-frame video; what() names the file and
// the failing step ("path: cannot open: No such file or directory").
class VideoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct VideoInfo {
  int64_t num_frames = 0;  // frames a full decode yields
  double fps = 0.0;        // average frame rate
  int width = 0;
  int height = 0;
  std::string codec;       // FFmpeg codec name, e.g. "h264"
};

struct DecodeStats {
  int64_t frames_decoded = 0;  // frames the decoder produced (wanted or not)
  int64_t seeks = 0;
};

class VideoReader {
 public:
  explicit VideoReader(const std::string& path);  // throws VideoError
  ~VideoReader();
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;

  const VideoInfo& info() const;
  const std::string& path() const;

  // RGB uint8 frames (CV_8UC3, RGB order) for `indices` in the order given; duplicates allowed.
  // Decodes as little as possible: seeks to the keyframe before each run of wanted frames.
  std::vector<cv::Mat> read_frames(const std::vector<int64_t>& indices);
  // Baseline for benchmarks: decodes every frame, keeps those in `indices`.
  std::vector<cv::Mat> read_frames_full_decode(const std::vector<int64_t>& indices);

  const DecodeStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vifi::data

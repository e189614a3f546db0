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
  // Coded frames handed to the decoder: the decoding work done. With B-frames this exceeds the
  // frames that come out, since a frame is decoded before the ones displayed ahead of it.
  int64_t frames_decoded = 0;
  int64_t frames_output = 0;  // frames the decoder produced (wanted or not)
  int64_t seeks = 0;
  // Times decoded timestamps contradicted the packet index, so the reader fell back to
  // numbering frames by decoding from the start (correct, but no longer sparse). Logged too.
  int64_t timestamp_fallbacks = 0;
};

struct VideoReaderOptions {
  // Decoder threads per video. 1 by default: the loader runs one reader per worker thread and
  // parallelises across videos, which scales better than threads inside one small decode.
  int decoder_threads = 1;
};

class VideoReader {
 public:
  // Opens the file and indexes its packets (demuxing only, no decoding). Throws VideoError.
  explicit VideoReader(const std::string& path, const VideoReaderOptions& options = {});
  ~VideoReader();
  VideoReader(VideoReader&&) noexcept;
  VideoReader& operator=(VideoReader&&) noexcept;

  const VideoInfo& info() const;
  const std::string& path() const;

  // RGB uint8 frames (CV_8UC3, RGB order) for `indices` in the order given; duplicates allowed
  // (each gets its own copy). Decodes as little as possible: seeks to the keyframe before
  // each run of wanted frames unless decoding on from where the decoder stands is shorter.
  // An index outside [0, num_frames) throws std::out_of_range (a caller bug, not bad data);
  // a frame the file cannot deliver (truncated, corrupt) throws VideoError.
  std::vector<cv::Mat> read_frames(const std::vector<int64_t>& indices);
  // Baseline for benchmarks and the ground truth for tests: decodes every frame from the start,
  // numbering them in output order, and keeps those in `indices`.
  std::vector<cv::Mat> read_frames_full_decode(const std::vector<int64_t>& indices);

  // Cumulative over this reader's lifetime.
  const DecodeStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vifi::data

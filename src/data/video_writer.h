// Private to src/data: encoding RGB frames into a video file through libav, for synthetic data
// and `vifi data prepare`. Owns the per-codec encoder settings (the ones that make files look
// like the real datasets': MPEG-4 Part 2 in AVI, H.264 with B-frames in MP4, VP9 with hidden
// alt-ref frames in WebM; Motion JPEG for prepared sets) and the encode/mux loop. Errors are std::runtime_error naming the file and the libav call.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace vifi::data {

struct EncoderSettings {
  std::string codec = "mpeg4";  // "mpeg4", "h264", "vp9", "mjpeg", "xvid"
  int width = 96;
  int height = 64;
  double fps = 25.0;        // nominal rate
  bool millisecond_timestamps = false;  // time base 1/1000 instead of 1/fps, for irregular pts
  int gop_size = 12;
  int max_b_frames = -1;    // -1: the codec's default here (h264: 3, mpeg4: 0; vp9 has none)
  bool open_gop = false;    // h264: non-IDR keyframes whose leading B-frames need the GOP before
  int display_rotation = 0; // clockwise degrees, stored as the stream's display matrix
  int crf = 18;             // h264: constant rate factor (x264's default is 23)
  std::string preset = "veryfast";  // h264: x264 preset
  int mjpeg_quality = 3;    // mjpeg: qscale, 2 (best) .. 31
};

// libav encoder name for a vifi codec name ("h264" -> "libx264"); throws listing valid names.
std::string encoder_name(const std::string& codec);

class VideoWriter {
 public:
  // The container follows the extension of `path`.
  VideoWriter(const std::string& path, const EncoderSettings& settings);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // `rgb`: CV_8UC3 RGB, scaled (bilinear) to the configured size when it differs; `pts` in the
  // time base (frame number, or ms).
  void write(const cv::Mat& rgb, int64_t pts);
  // Drains the encoder and writes the trailer. Without it the file is incomplete.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vifi::data

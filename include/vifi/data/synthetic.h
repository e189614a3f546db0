// Synthetic videos for tests and the demo, encoded through libav like real datasets.
// Owns: class-dependent appearance and motion, the frame-index stamp every frame carries, and
// writing a dataset laid out like the real ones (videos, annotation lists, label CSV).
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace vifi::data {

struct SyntheticVideoSpec {
  int label = 0;              // class: sets colour, shape and motion direction
  int num_classes = 4;
  int64_t num_frames = 32;
  int width = 96;
  int height = 64;
  double fps = 25.0;
  std::string codec = "mpeg4";  // "h264" (libx264, B-frames), "mpeg4" (AVI), "vp9" (WebM)
  bool variable_frame_rate = false;  // irregular timestamps
  uint64_t seed = 0;          // per-video nuisance (start position, noise)
};

// Writes one video; the container follows the extension of `path` (.mp4, .avi, .webm, .mkv).
// Throws std::runtime_error naming the path and the failing libav call.
void write_synthetic_video(const std::string& path, const SyntheticVideoSpec& spec);

// Reads back the index stamped into an RGB frame (robust to lossy coding and to the
// frame being resized); -1 if no stamp is found.
int64_t read_frame_stamp(const cv::Mat& rgb);

struct SyntheticDatasetSpec {
  int num_classes = 4;
  int train_per_class = 8;
  int val_per_class = 4;
  int64_t num_frames = 32;
  int width = 96;
  int height = 64;
  std::string codec = "mpeg4";
  uint64_t seed = 0;
};

// Writes DIR/videos/<class>/<n>.<ext>, DIR/train.txt, DIR/val.txt ("relative/path label"),
// DIR/labels.csv ("id,name"). Returns the class names.
std::vector<std::string> write_synthetic_dataset(const std::string& dir, const SyntheticDatasetSpec& spec);

}  // namespace vifi::data

// Synthetic videos for tests and the demo, encoded through libav like real datasets.
// Owns: class-dependent appearance and motion, the frame-index stamp every frame carries, and
// writing a dataset laid out like the real ones (videos, annotation lists, label CSV).
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace vifi::data {

// Class `label` looks like: a shape of one of 3 kinds, in one of 7 colours, normal or small,
// moving in one of 8 directions over a textured grey background. The combination is unique for
// labels below kMaxSyntheticClasses, so every pair of classes differs in motion or appearance
// (consecutive labels differ in both).
inline constexpr int kMaxSyntheticClasses = 336;

struct SyntheticVideoSpec {
  int label = 0;              // class: sets colour, shape, size and motion direction
  int num_classes = 4;
  int64_t num_frames = 32;    // 0 writes a valid container without frames (for error tests)
  int width = 96;             // >= 48, even
  int height = 64;            // >= 32, even
  double fps = 25.0;
  std::string codec = "mpeg4";  // "h264" (libx264, B-frames), "mpeg4" (AVI), "vp9" (WebM),
                                // "xvid" (libxvid AVI, packed B-frames as HMDB-51/UCF-101 store them)
  bool variable_frame_rate = false;  // irregular timestamps (not in AVI, which has none)
  int gop_size = 12;          // keyframe interval
  int max_b_frames = -1;      // -1: codec default (h264: 3, xvid: 2, mpeg4: 0)
  bool open_gop = false;      // h264 only: B-frames before a keyframe may reference across it
  std::string x264_preset = "veryfast";  // h264 only: x264's speed preset, which also sets its
                                         // reference frames (veryfast: 1; medium, the default: 3)
  int x264_crf = 18;          // h264 only: constant rate factor, 0..51 (x264's default: 23)
  uint64_t seed = 0;          // per-video nuisance (start position, size, colour, noise)
  int noise = 6;              // sensor-like noise per pixel and frame, 0..noise grey levels: what
                              // makes the bitrate (454x340, 30 fps, H.264: 6 gives ~120 kbit/s
                              // at veryfast/CRF 18; 30 gives ~570 at medium/CRF 23, Kinetics')
  int display_rotation = 0;   // clockwise degrees a player should turn the stored picture (a
                              // phone's display matrix); 0, 90, 180, 270 (mp4/mov/mkv)
};

// Writes one video; the container follows the extension of `path` (.mp4, .avi, .webm, .mkv).
// Throws std::runtime_error naming the path and the failing libav call.
void write_synthetic_video(const std::string& path, const SyntheticVideoSpec& spec);

// The RGB image (CV_8UC3) of frame `index` at time `seconds`, exactly as it is encoded.
cv::Mat render_synthetic_frame(const SyntheticVideoSpec& spec, int64_t index, double seconds);

// Reads back the index stamped into an RGB frame (robust to lossy coding and to the
// frame being resized); -1 if no stamp is found. The stamp is two rows of 12 black/white
// cells along the bottom quarter of the frame (8x8 px at 96x64): a start marker, then the
// index in binary with a parity bit, so indices up to 2^19 - 1.
int64_t read_frame_stamp(const cv::Mat& rgb);

// "moving up red square", ...; throws std::invalid_argument past kMaxSyntheticClasses.
std::string synthetic_class_name(int label);

// x264's speed presets, fastest first (what SyntheticVideoSpec::x264_preset accepts).
const std::vector<std::string>& x264_presets();

// Whether this FFmpeg build has the encoder for a codec name ("mpeg4", "h264", "vp9", "xvid").
bool synthetic_codec_available(const std::string& codec);
// The container each codec is written in, as the real datasets ship it: ".avi", ".mp4", ".webm".
std::string synthetic_extension(const std::string& codec);

struct SyntheticDatasetSpec {
  int num_classes = 4;
  int train_per_class = 8;
  int val_per_class = 4;
  int64_t num_frames = 32;
  int width = 96;
  int height = 64;
  double fps = 25.0;
  int gop_size = 12;          // keyframe interval (x264's default is 250)
  int noise = 6;              // SyntheticVideoSpec::noise
  std::string codec = "mpeg4";
  std::string x264_preset = "veryfast";  // SyntheticVideoSpec::x264_preset
  int x264_crf = 18;                     // SyntheticVideoSpec::x264_crf
  uint64_t seed = 0;
};

// Files like the 454x340 Kinetics copies researchers train from (mmaction2's
// tools/data/resize_videos.py: `ffmpeg -vf scale=-2:340 -c:v libx264`, so x264's defaults:
// preset medium with 3 reference frames, CRF 23, B-frames in a pyramid, keyframe interval 250):
// 454x340, 30 fps, about 570 kbit/s; `videos` spread over 4 classes, all in train.txt,
// `num_frames` each (300: 10 s). What `vifi bench loader --synthetic kinetics` measures.
SyntheticDatasetSpec kinetics_like_spec(int videos, int64_t num_frames = 300);

// Writes DIR/videos/<class_name_with_underscores>/<nnnn>.<ext>, DIR/train.txt, DIR/val.txt
// ("relative/path label" per line, paths without spaces), DIR/labels.csv (header "id,name",
// then "0,moving up red square" ...), and last DIR/synthetic.txt, the spec it was written
// from. Returns the class names.
std::vector<std::string> write_synthetic_dataset(const std::string& dir, const SyntheticDatasetSpec& spec);

// Whether DIR holds a complete set written from `spec` (its synthetic.txt says this spec), so
// that a set kept from an older vifi with other encoder settings is not reused as if it were
// this one. False for a missing folder or file.
bool synthetic_dataset_matches(const std::string& dir, const SyntheticDatasetSpec& spec);

}  // namespace vifi::data

// `vifi bench loader --synthetic kinetics`: how many cores feed a GPU (see the .cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vifi::cli {

struct LoaderSizingOptions {
  std::string work;               // folder for the source and prepared sets (kept for reuse)
  int videos = 8;                 // Kinetics-like videos in the set
  int64_t video_frames = 300;     // frames per video (10 s at 30 fps)
  std::vector<int64_t> frames = {8, 16};  // DATA.NUM_FRAMES measured
  int max_threads = 0;            // worker threads up to this (0: the machine's cores)
  int clips = 48;                 // clips per measurement
  double gpu_clips_per_s = 120;   // one GPU's training rate to size for, in clips of gpu_clip_frames
  // Frames per clip of gpu_clips_per_s. A GPU's training cost is per frame (every frame goes
  // through the image encoder), so at T frames it takes gpu_clips_per_s * gpu_clip_frames / T.
  int64_t gpu_clip_frames = 8;
};

void run_loader_sizing_bench(const LoaderSizingOptions& options);

}  // namespace vifi::cli

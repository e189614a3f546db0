// Dataset health check before a long run: open every video of a list and report each bad one.
// Owns: the scan (a small thread pool over the records) and its report. The CLI's
// `vifi data check` prints the report; a trainer can call it too.
// Per video: the file opens and its header/packet index gives >= 1 frame (VideoReader); with
// full_decode, VideoReader::verify decodes it whole through the loader's own decode path, so
// the check flags exactly the files training, evaluation and predict would reject, with the
// same reason (VideoFault); with num_classes > 0, the label is in range.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vifi/data/dataset.h"

namespace vifi::data {

struct CheckOptions {
  int num_threads = 4;
  bool full_decode = false;
  int64_t num_classes = 0;  // > 0: labels must be < num_classes
  // VideoReaderOptions::numbering_store: a full decode keeps the numbering of each file that
  // needs one there, so the runs after the check start with it.
  std::string numbering_store;
};

struct VideoProblem {
  int64_t index = -1;  // position in the list (0-based)
  std::string path;
  std::string reason;
  std::string fault;   // VideoFault name ("truncated", "corrupt", ...), or "label"
};

struct CheckReport {
  int64_t num_videos = 0;
  int64_t num_ok = 0;
  int64_t total_frames = 0;            // over the readable videos
  std::vector<VideoProblem> problems;  // ordered by index
};

// `progress(done, total)` is called from worker threads (serialised) as videos finish.
CheckReport check_videos(const std::vector<VideoRecord>& records, const CheckOptions& options,
                         const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace vifi::data

// `vifi data prepare`: a dataset re-encoded for fast sparse decoding. This is the preprocessing
// researchers already do for Kinetics (short side 320, a short keyframe interval; see
// docs/performance.md), done with vifi's own decoder and the FFmpeg libraries, no shelling out.
// Owns: walking SRC, re-encoding every video into DST at the same relative path, copying the
// other files, rewriting annotation lists whose video names change extension, and the report.
//
// Frames: the prepared file holds exactly the frames a full decode of the source yields, in
// order, at a constant rate (the source's average), displayed upright (a display rotation is
// applied), so a list's frame numbering, labels and sampling are unchanged. Audio is dropped.
// Resumable: each video is encoded under a temporary name and renamed when complete; a video
// whose prepared file exists (and is not an unchanged copy of a video that failed) is skipped,
// and temporary files of a killed run are removed. A video that cannot be decoded is listed in the report
// with its reason, copied to DST unchanged (its list lines keep its name, so training still
// meets and names it), and never stops the run. Folders reached through links are prepared like
// any other (util/file_tree); what cannot be carried over (a broken link, an unreadable folder,
// a loop) is listed in the report.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vifi/batch/clip_batch.h"

namespace vifi::data {

struct PrepareOptions {
  int short_side = 320;        // the displayed picture's short side, 0 = keep; never upscales
  int keyint = 16;             // h264: frames between keyframes
  std::string codec = "h264";  // "h264" (libx264 in .mp4) or "mjpeg" (every frame a keyframe, .avi)
  int crf = 23;                // h264: x264's constant rate factor (its default)
  int jobs = 1;                // videos encoded at once (one thread each)
};

// Throws std::invalid_argument naming the field.
void validate(const PrepareOptions& options);

// An entry under SRC with nothing in DST, and why.
struct NotCarried {
  std::string relative;  // below SRC, '/'-separated; folders end in '/'
  std::string reason;    // "a broken symbolic link to 'x', which does not exist", "cannot be read (...)"
};

struct PrepareReport {
  int64_t videos = 0;     // video files found under SRC
  int64_t converted = 0;  // encoded by this run
  int64_t reused = 0;     // prepared by an earlier run, skipped
  // Videos that could not be prepared (reason names the file); copied to DST unchanged.
  std::vector<FailedVideo> failed;
  int64_t source_bytes = 0;    // of the converted and reused videos
  int64_t prepared_bytes = 0;  // their prepared files
  int64_t lists_rewritten = 0;  // annotation lists with renamed videos
  int64_t files_copied = 0;     // other files (label CSVs, lists without videos to rename, ...)
  double seconds = 0;
  // What SRC holds that DST does not, sorted by path: broken links (named like videos or not),
  // FIFOs and other non-files, files and folders that cannot be read, folders reached again
  // through a link (a loop), other files that cannot be read. Never stops the run.
  std::vector<NotCarried> not_carried;
  // Relative paths (under DST) of the prepared videos, in SRC's sorted order.
  std::vector<std::string> prepared;
};

// Name of a video's prepared file: `relative` with the codec's container extension.
std::string prepared_name(const std::string& relative, const std::string& codec);

// Called after each video with (videos done, videos in total), from the worker threads under a
// lock.
using PrepareProgress = std::function<void(int64_t done, int64_t total)>;

// Prepares every video under `src` into `dst`. Throws std::invalid_argument for a bad option,
// a missing `src` or a `dst` inside `src`; std::runtime_error naming the file when DST cannot be
// written (a full disk ends the run; every file finished before stays complete).
PrepareReport prepare_dataset(const std::string& src, const std::string& dst, const PrepareOptions& options,
                              const PrepareProgress& progress = {});

}  // namespace vifi::data

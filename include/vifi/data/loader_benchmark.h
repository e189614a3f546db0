// Input-pipeline throughput, the numbers behind `vifi bench loader`.
// Owns: finding the videos to measure (a directory tree or an annotation list), timing clip
// decoding in three modes over the same files, and timing one epoch of the threaded training
// loader. It returns numbers only; the CLI formats the table.
//
// Decoding is measured as the loader fetches a clip: open the file, sample T test-mode indices
// (data/sampling), decode them. Worker threads each own a reader and take whole clips from a
// shared counter, `repeat` passes over the list; time is wall clock over all workers. A clip that
// throws (any std::exception: a bad file, or an unexpected error on one) is counted in
// `failures` and not in `clips`, and its file is listed once in `bad_videos` with the reason, so
// a bad file never stops a measurement and the caller can name it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vifi/data/dataset.h"
#include "vifi/data/loader.h"
#include "vifi/data/video_clip.h"
#include "vifi/data/video_reader.h"

namespace vifi::data {

struct VideoSearch {
  std::string videos;  // directory (searched recursively) or annotation list
  std::string root;    // for a list: directory its paths are relative to ("": the list's own)
};

// Every regular video file under a directory (sorted by path), or the path of each record of an
// annotation list (list order; existence is not checked). Throws std::runtime_error when nothing
// is found, and load_annotation_list's errors for a malformed list.
std::vector<std::string> find_videos(const VideoSearch& search);

enum class DecodeMode {
  open,    // open, probe, index the packets: the fixed cost every clip pays, no decoding
  sparse,  // VideoReader::read_frames on the sampled indices (seek + decode forward)
  full,    // VideoReader::read_frames_full_decode: decode every frame from the start (baseline)
};

struct DecodeBenchOptions {
  int64_t num_segments = 8;  // T frames per clip (TSN test-mode indices); unused by open
  DecodeMode mode = DecodeMode::sparse;
  int threads = 1;  // decoding workers, one clip each at a time (>= 1)
  int repeat = 1;   // passes over the videos (>= 1)
  VideoReaderOptions reader;  // how each clip is decoded (sparse mode)
};

struct DecodeMeasurement {
  double seconds = 0;          // wall clock for all passes
  int64_t clips = 0;           // clips decoded without error
  int64_t frames_decoded = 0;  // coded frames decoded (DecodeStats::frames_decoded), over `clips`
  int64_t seeks = 0;           // DecodeStats::seeks, summed over `clips`
  int64_t failures = 0;        // clips that threw
  // Each file that threw, once, with the first reason seen (it names the file); sorted by
  // `index`, the position in the measured list.
  std::vector<FailedVideo> bad_videos;
  int threads = 1;             // workers that shared the clips
  // Sparse mode on files whose frames only a full decode can number (decoded timestamps that
  // contradict their packets, packed B-frames): the first clip of such a file decodes it whole
  // (DecodeStats::counting_reads) and records its numbering; its later clips seek with that
  // numbering (DecodeStats::learned_numbering_reads).
  int64_t counted_clips = 0;
  int64_t counted_frames_decoded = 0;
  int64_t learned_clips = 0;
  int64_t learned_frames_decoded = 0;
  // Clips whose file's numbering came from the store on disk (DecodeStats::stored_numberings):
  // learned by an earlier process, so this one decodes none of those files whole.
  int64_t stored_clips = 0;

  // All 0 when no clip succeeded.
  double clips_per_second() const;         // clips/s
  double frames_decoded_per_clip() const;  // frames/clip: >= T for sparse (decoding starts at
                                           // a keyframe), the whole video for full
  double seeks_per_clip() const;           // seeks/clip
  double worker_ms_per_clip() const;       // ms of one worker per clip: 1000*seconds*threads/clips
};

// Decodes every video `repeat` times as `options.mode` says. Throws std::invalid_argument
// (naming the field) on an empty list or an option out of range; per-clip errors are counted.
DecodeMeasurement measure_decoding(const std::vector<std::string>& videos, const DecodeBenchOptions& options);

struct LoaderMeasurement {
  double seconds = 0;  // wall clock: start_epoch(0) to the end of the epoch
  int64_t clips = 0;   // clips in the batches received (replaced bad samples included)
  BadDataStats bad_data;  // the loader's bad videos and replaced samples over the epoch

  double clips_per_second() const;  // clips/s (0 for a zero-length time)
};

// One training epoch (epoch 0) of VideoLoader: train sampling, sparse decoding, augmentation,
// batching, with loader.num_workers threads. Throws what VideoLoader throws (std::invalid_argument
// on a bad config or empty records, std::runtime_error past the bad-data limit).
LoaderMeasurement measure_training_loader(std::vector<VideoRecord> records, const ClipConfig& clip,
                                          const LoaderConfig& loader);

}  // namespace vifi::data

// Threaded batch loader: worker threads decode samples in parallel into a bounded prefetch
// window; the consumer receives batches in a fixed order.
// Owns: batching, prefetching, per-epoch order and rank sharding (data/sharding), determinism,
// bad-data policy, and shutdown.
//
// Determinism: every random draw of a sample is keyed by (seed, epoch, global position in the
// epoch, stream), never by thread or timing, so batches are identical for 1 or N workers.
// Bad data: any std::exception while loading one video (opening, decoding, sampling,
// transforming) is that video's failure, never the run's. VideoError is the expected kind
// (missing, unreadable, truncated, zero-frame); anything else (a transform rejecting odd frames,
// std::bad_alloc on a huge file, cv::Exception, std::out_of_range) is handled the same way but
// logged as unexpected, since it may be a vifi bug. Each bad file is logged once (util::log_warn,
// path and reason; the reason always names the path) and remembered, so it is not reopened.
//   train: the sample is replaced by a deterministic other one (drawn from the whole dataset,
//          keyed like the sample) and counted; when the distinct bad videos exceed the limit
//          (LoaderConfig::max_bad_fraction, min_bad_limit), next() throws, so a systematic bug
//          that fails every video still stops the run.
//   eval:  the sample is not silently skipped: it is left out of `video`/`label`/`index` and
//          listed in ClipBatch::failed with its reason, so reports can name it.
// What is not one video's failure is rethrown by next() for the batch it belongs to: a training
// sample with no decodable replacement in max_replacement_tries draws, or an exception that is
// not a std::exception.
// Shutdown: the destructor (or a new start_epoch) abandons the epoch; workers finish the sample
// they are decoding and exit; nothing blocks on an unconsumed queue.
// Thread safety: one consumer thread calls start_epoch / next; the rest is internal.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vifi/batch/clip_batch.h"
#include "vifi/data/dataset.h"
#include "vifi/data/video_clip.h"

namespace vifi::data {

enum class LoaderMode { train, eval };

struct LoaderConfig {
  int64_t batch_size = 8;    // per rank
  int num_workers = 4;       // decoding threads (>= 1)
  int prefetch_batches = 4;  // bounded queue: batches decoded ahead of the consumer (>= 1)
  int rank = 0;
  int world_size = 1;
  uint64_t seed = 0;               // SEED
  bool shuffle = true;             // train only; eval keeps list order
  // train only: clips this rank loads per epoch, the first of its shard; 0 = the whole shard.
  // Fewer leaves out the epoch's tail (TRAIN.DROP_LAST: whole updates only, train/batch_plan).
  // Evaluation always visits every sample.
  int64_t samples_per_epoch = 0;
  // train: next() throws once the distinct bad videos exceed
  // max(max_bad_fraction x dataset size, min_bad_limit) (DATA.MAX_BAD_FRACTION, DATA.MIN_BAD_LIMIT).
  double max_bad_fraction = 0.01;
  int64_t min_bad_limit = 10;
  int max_replacement_tries = 16;  // train: replacements drawn before a sample fails
};

struct BadDataStats {
  int64_t bad_videos = 0;        // distinct files found bad so far
  int64_t replaced_samples = 0;  // train: samples replaced (cumulative over epochs)
  int64_t failed_samples = 0;    // eval: samples reported in ClipBatch::failed (cumulative)
};

// Throws std::runtime_error, naming the shape, the GiB and the settings to lower, when
// `batches_held` float32 batches of `batch_size` samples of `sample_shape` exceed
// `available_mib` (util::available_memory_mib(); <= 0: no check). VideoLoader checks its own
// batches before any is allocated, so a request that cannot fit ends with this line instead of
// the kernel's OOM killer.
void check_batches_fit(const std::vector<int64_t>& sample_shape, int64_t batch_size, size_t batches_held,
                       double available_mib);

class VideoLoader {
 public:
  // Starts the worker threads; they wait for start_epoch. Throws std::invalid_argument on a bad
  // config (naming the field) or an empty training set.
  VideoLoader(std::vector<VideoRecord> records, ClipConfig clip, LoaderConfig cfg, LoaderMode mode);
  ~VideoLoader();
  VideoLoader(const VideoLoader&) = delete;
  VideoLoader& operator=(const VideoLoader&) = delete;

  // Begins epoch `epoch` (abandoning an unfinished one): computes this rank's order and lets the
  // workers prefetch. `first_batch` > 0 resumes mid-epoch: the earlier batches are skipped
  // without decoding, and the rest are identical to those of an uninterrupted epoch.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);

  // The next batch of the epoch, std::nullopt after the last. Throws std::logic_error before the
  // first start_epoch, std::runtime_error past the bad-data limit or when a training sample has
  // no decodable replacement, or a worker's non-std::exception.
  std::optional<ClipBatch> next();  // eval: video [B,V,T,3,S,S], V >= 1

  int64_t dataset_size() const;
  int64_t shard_size() const;   // samples in this rank's shard (before samples_per_epoch)
  int64_t num_batches() const;  // batches per epoch on this rank
  // Clips in batch `batch` of every epoch on this rank (the last may be short); throws
  // std::out_of_range outside [0, num_batches()).
  int64_t batch_clips(int64_t batch) const;
  BadDataStats bad_data() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vifi::data

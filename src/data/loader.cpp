// Worker threads, the prefetch window and batch assembly; the policies are in the header.
//
// Work is handed out per sample in epoch order. A worker may claim sample p only while its batch
// p / B is fewer than prefetch_batches ahead of the batch the consumer waits for, so at most
// prefetch_batches batches (plus the samples in flight) are held in memory. Results land in
// their batch's slot, so the output order never depends on which worker finished first. An epoch
// carries a generation number; results of an abandoned epoch are dropped on arrival.
//
// A batch's tensor is allocated when its first sample is claimed, and each worker writes its clip
// straight into its row (the transforms' out=): collating is then no copy at all, and the copy
// that remained (77 MB per 16-frame batch) no longer serialises the workers behind the consumer.
#include "vifi/data/loader.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <new>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "batch_memory.h"
#include "vifi/data/rng.h"
#include "vifi/data/sharding.h"
#include "vifi/data/video_reader.h"
#include "vifi/util/error_message.h"
#include "vifi/util/logging.h"
#include "vifi/util/memory.h"

namespace vifi::data {
namespace {

struct SampleResult {
  int64_t index = -1;   // dataset index of the video in `video`
  int64_t label = -1;
  std::optional<FailedVideo> failed;  // eval: the sample could not be loaded
  std::exception_ptr error;            // what is not one video's failure (header: bad data)
};

struct PendingBatch {
  torch::Tensor video;  // [n, sample shape...]: row i is written by the worker loading sample i
  std::vector<SampleResult> samples;
  int64_t remaining = 0;
};

// Why a video failed to load: VideoError is the reader's expected verdict on a broken file;
// anything else is unexpected (and may be a bug), though still that one video's failure.
enum class LoadFailure { video_error, unexpected };

// Failure reasons name the file: VideoError's do already, a transform's or OpenCV's do not.
std::string naming_path(const std::string& path, const std::string& reason) {
  if (reason.find(path) != std::string::npos) return reason;
  return path + ": " + (reason.empty() ? std::string("unknown error") : reason);
}

std::string fraction_text(double value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

void validate(const LoaderConfig& cfg, LoaderMode mode) {
  const auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("LoaderConfig." + what);
  };
  require(cfg.batch_size >= 1, "batch_size must be >= 1, got " + std::to_string(cfg.batch_size));
  require(cfg.num_workers >= 1, "num_workers must be >= 1, got " + std::to_string(cfg.num_workers));
  require(cfg.prefetch_batches >= 1, "prefetch_batches must be >= 1, got " + std::to_string(cfg.prefetch_batches));
  require(cfg.world_size >= 1 && cfg.rank >= 0 && cfg.rank < cfg.world_size,
          "rank " + std::to_string(cfg.rank) + " / world_size " + std::to_string(cfg.world_size) +
              ": expected 0 <= rank < world_size");
  require(cfg.max_bad_fraction >= 0.0 && cfg.max_bad_fraction <= 1.0, "max_bad_fraction must be in [0, 1]");
  require(cfg.min_bad_limit >= 0, "min_bad_limit must be >= 0");
  require(cfg.max_replacement_tries >= 1, "max_replacement_tries must be >= 1");
  require(cfg.samples_per_epoch >= 0, "samples_per_epoch must be >= 0, got " + std::to_string(cfg.samples_per_epoch));
  require(mode == LoaderMode::train || cfg.samples_per_epoch == 0,
          "samples_per_epoch is for training; evaluation visits every sample");
}

}  // namespace

struct VideoLoader::State {
  // Fixed at construction.
  std::vector<VideoRecord> records;
  ClipConfig clip;
  LoaderConfig cfg;
  LoaderMode mode;

  // Epoch progress, guarded by `mutex`.
  std::mutex mutex;
  std::condition_variable work_cv;   // workers: claimable work or stop
  std::condition_variable ready_cv;  // consumer: its batch is complete
  bool stop = false;
  bool started = false;
  uint64_t generation = 0;
  int64_t epoch = 0;
  std::vector<int64_t> order;  // this rank's dataset indices for the epoch
  int64_t epoch_samples = 0;   // samples loaded this epoch (samples_per_epoch)
  int64_t next_claim = 0;      // next sample position a worker takes
  int64_t next_batch = 0;      // next batch the consumer takes
  std::map<int64_t, PendingBatch> pending;

  // Bad-data bookkeeping, guarded by `bad_mutex`.
  mutable std::mutex bad_mutex;
  std::unordered_map<std::string, std::string> bad_reasons;  // path -> reason
  BadDataStats stats;

  std::vector<std::thread> workers;
  std::shared_ptr<detail::BatchMemory> memory;  // batch tensors' memory, reused

  int64_t n() const { return static_cast<int64_t>(records.size()); }
  int64_t batch_size() const { return cfg.batch_size; }

  int64_t shard_size() const {
    if (mode == LoaderMode::eval) return (n() - cfg.rank + cfg.world_size - 1) / cfg.world_size;
    return (n() + cfg.world_size - 1) / cfg.world_size;
  }

  int64_t samples_per_epoch() const {
    const int64_t s = shard_size();
    return cfg.samples_per_epoch > 0 ? std::min(cfg.samples_per_epoch, s) : s;
  }

  int64_t batches_per_epoch() const { return (samples_per_epoch() + batch_size() - 1) / batch_size(); }

  int64_t batch_length(int64_t batch) const { return std::min(batch_size(), epoch_samples - batch * batch_size()); }

  bool claimable() const {
    return started && next_claim < epoch_samples && next_claim / batch_size() < next_batch + cfg.prefetch_batches;
  }

  // Known-bad files are not opened again; returns the reason if `path` is known bad.
  std::optional<std::string> known_bad(const std::string& path) const {
    std::lock_guard<std::mutex> lock(bad_mutex);
    const auto it = bad_reasons.find(path);
    if (it == bad_reasons.end()) return std::nullopt;
    return it->second;
  }

  // `failure` says whether the reason is an expected VideoError or something unexpected, which
  // the log marks as a possible bug so it is not read as just another broken file.
  void record_bad(const std::string& path, const std::string& reason, LoadFailure failure) {
    std::lock_guard<std::mutex> lock(bad_mutex);
    if (!bad_reasons.emplace(path, reason).second) return;
    ++stats.bad_videos;
    const std::string what = failure == LoadFailure::video_error ? "bad video" : "unexpected error loading video";
    util::log_warn(what + " '" + path + "': " + reason +
                   (mode == LoaderMode::train ? " (replaced by another sample in training)"
                                              : " (reported as failed in evaluation)") +
                   (failure == LoadFailure::unexpected ? "; if the file plays elsewhere, this may be a vifi bug" : ""));
  }

  std::vector<int64_t> sample_shape() const {
    return mode == LoaderMode::train ? train_sample_shape(clip) : eval_sample_shape(clip);
  }

  void load_clip(const VideoRecord& record, int64_t epoch_no, int64_t position, const torch::Tensor& out) const {
    if (mode == LoaderMode::eval) {
      load_eval_clip(record, clip, out);
      return;
    }
    Rng sampling = Rng::keyed(cfg.seed, epoch_no, position, RngStream::sampling);
    Rng augment = Rng::keyed(cfg.seed, epoch_no, position, RngStream::augment);
    load_train_clip(record, clip, sampling, augment, out);
  }

  // Loads dataset index `index` into `out`; returns the reason when the video cannot be loaded
  // (`out` may then hold part of a clip: a replacement overwrites it, an eval failure drops it).
  // Every std::exception from one video's decoding and transforms is that video's failure, not
  // the run's: a transform rejecting odd frames, std::bad_alloc on a huge file, cv::Exception
  // or c10::Error must not end a long run any more than an unreadable file does. A systematic
  // bug still surfaces: every failure is logged, and the bad-video limit stops training.
  std::optional<std::string> try_load(int64_t index, int64_t epoch_no, int64_t position, const torch::Tensor& out) {
    const VideoRecord& record = records[static_cast<size_t>(index)];
    if (auto reason = known_bad(record.path)) return reason;
    std::string reason;
    LoadFailure failure = LoadFailure::video_error;
    try {
      load_clip(record, epoch_no, position, out);
      return std::nullopt;
    } catch (const VideoError& e) {
      reason = e.what();
    } catch (const std::bad_alloc&) {
      reason = "out of memory while decoding or transforming (std::bad_alloc)";
      failure = LoadFailure::unexpected;
    } catch (const std::exception& e) {
      reason = util::error_message(e);
      failure = LoadFailure::unexpected;
    }
    reason = naming_path(record.path, reason);
    record_bad(record.path, reason, failure);
    return reason;
  }

  SampleResult load_train(int64_t index, int64_t epoch_no, int64_t position, const torch::Tensor& out) {
    SampleResult r;
    bool loaded = !try_load(index, epoch_no, position, out);
    if (loaded) {
      r.index = index;
    } else {
      Rng pick = Rng::keyed(cfg.seed, epoch_no, position, RngStream::replace);
      for (int t = 0; t < cfg.max_replacement_tries && !loaded; ++t) {
        const int64_t candidate = pick.uniform_int(n());
        loaded = !try_load(candidate, epoch_no, position, out);
        if (loaded) r.index = candidate;
      }
      if (!loaded) {
        throw std::runtime_error("training sample " + std::to_string(index) + " ('" +
                                 records[static_cast<size_t>(index)].path +
                                 "') is bad and no decodable replacement was found in " +
                                 std::to_string(cfg.max_replacement_tries) + " tries");
      }
      std::lock_guard<std::mutex> lock(bad_mutex);
      ++stats.replaced_samples;
    }
    r.label = records[static_cast<size_t>(r.index)].label;
    return r;
  }

  SampleResult load_eval(int64_t index, const torch::Tensor& out) {
    SampleResult r;
    r.index = index;
    r.label = records[static_cast<size_t>(index)].label;
    if (auto reason = try_load(index, 0, 0, out)) {
      r.failed = FailedVideo{index, records[static_cast<size_t>(index)].path, *reason};
      std::lock_guard<std::mutex> lock(bad_mutex);
      ++stats.failed_samples;
    }
    return r;
  }

  SampleResult load_sample(int64_t index, int64_t epoch_no, int64_t position, const torch::Tensor& out) {
    try {
      return mode == LoaderMode::train ? load_train(index, epoch_no, position, out) : load_eval(index, out);
    } catch (...) {
      SampleResult r;
      r.error = std::current_exception();
      return r;
    }
  }

  void worker_loop() {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      work_cv.wait(lock, [this] { return stop || claimable(); });
      if (stop) return;
      const int64_t pos = next_claim++;
      const int64_t batch = pos / batch_size();
      const uint64_t gen = generation;
      const int64_t epoch_no = epoch;
      const int64_t index = order[static_cast<size_t>(pos)];
      PendingBatch& slot = pending[batch];
      if (slot.samples.empty()) {
        slot.samples.resize(static_cast<size_t>(batch_length(batch)));
        slot.remaining = batch_length(batch);
      }
      // The row keeps the batch's memory alive even if the epoch is abandoned meanwhile. A failed
      // allocation is this sample's error (the consumer rethrows it); the next claim retries.
      torch::Tensor row;
      std::exception_ptr alloc_error;
      try {
        if (!slot.video.defined()) {
          std::vector<int64_t> shape = sample_shape();
          shape.insert(shape.begin(), batch_length(batch));
          slot.video = memory->empty_float(shape);
        }
        row = slot.video[pos % batch_size()];
      } catch (...) {
        alloc_error = std::current_exception();
      }
      lock.unlock();
      const int64_t position = cfg.rank + pos * cfg.world_size;  // global position in the epoch
      SampleResult result;
      if (alloc_error) {
        result.error = alloc_error;
      } else {
        result = load_sample(index, epoch_no, position, row);
      }
      lock.lock();
      if (gen != generation) continue;  // the epoch was abandoned meanwhile
      PendingBatch& done = pending[batch];
      done.samples[static_cast<size_t>(pos % batch_size())] = std::move(result);
      if (--done.remaining == 0) ready_cv.notify_all();
    }
  }

  // The clips are in pb.video already; only failed evaluation samples' rows are left out.
  ClipBatch collate(PendingBatch&& pb) const {
    ClipBatch batch;
    std::vector<int64_t> labels;
    std::vector<int64_t> rows;
    for (size_t i = 0; i < pb.samples.size(); ++i) {
      SampleResult& s = pb.samples[i];
      if (s.error) std::rethrow_exception(s.error);
      if (s.failed) {
        batch.failed.push_back(std::move(*s.failed));
        continue;
      }
      rows.push_back(static_cast<int64_t>(i));
      labels.push_back(s.label);
      batch.index.push_back(s.index);
    }
    if (rows.size() == pb.samples.size()) {
      batch.video = std::move(pb.video);
    } else if (rows.empty()) {
      std::vector<int64_t> shape = sample_shape();
      shape.insert(shape.begin(), 0);
      batch.video = torch::empty(shape, torch::kFloat32);
    } else {
      batch.video = pb.video.index_select(0, torch::tensor(rows, torch::kInt64));
    }
    batch.label = torch::tensor(labels, torch::kInt64);
    return batch;
  }

  void check_bad_limit() const {
    if (mode != LoaderMode::train) return;
    std::lock_guard<std::mutex> lock(bad_mutex);
    const auto by_fraction = static_cast<int64_t>(cfg.max_bad_fraction * static_cast<double>(n()));
    const int64_t limit = std::max(by_fraction, cfg.min_bad_limit);
    if (stats.bad_videos > limit) {
      throw std::runtime_error("too many bad training videos: " + std::to_string(stats.bad_videos) + " of " +
                               std::to_string(n()) + " (limit " + std::to_string(limit) +
                               " = max(DATA.MAX_BAD_FRACTION " + fraction_text(cfg.max_bad_fraction) +
                               " x videos, DATA.MIN_BAD_LIMIT " + std::to_string(cfg.min_bad_limit) +
                               ")); run `vifi data check --decode` on the list to see them all");
    }
  }
};

void check_batches_fit(const std::vector<int64_t>& sample_shape, int64_t batch_size, size_t batches_held,
                       double available_mib) {
  if (available_mib <= 0) return;  // nothing to compare with
  double bytes = 4.0 * static_cast<double>(batch_size) * static_cast<double>(batches_held);  // float32
  std::string shape = "[" + std::to_string(batch_size);
  for (const auto d : sample_shape) {
    bytes *= static_cast<double>(d);
    shape += "," + std::to_string(d);
  }
  shape += "]";
  const double gib = bytes / (1024.0 * 1024.0 * 1024.0);
  if (bytes <= available_mib * 1024.0 * 1024.0) return;
  std::ostringstream text;
  text.precision(3);
  text << "data loader: its " << batches_held << " batches of " << shape << " float32 need " << gib
       << " GiB, but this machine has " << available_mib / 1024.0
       << " GiB available; lower the clips per batch (TRAIN.BATCH_SIZE), the frames (DATA.NUM_FRAMES), the views "
          "(TEST.NUM_CLIP, TEST.NUM_CROP) or the size (DATA.INPUT_SIZE)";
  throw std::runtime_error(text.str());
}

VideoLoader::VideoLoader(std::vector<VideoRecord> records, ClipConfig clip, LoaderConfig cfg, LoaderMode mode)
    : state_(std::make_unique<State>()) {
  validate(cfg, mode);
  validate(clip);
  if (mode == LoaderMode::train && records.empty())
    throw std::invalid_argument("VideoLoader: the training set is empty");
  state_->records = std::move(records);
  state_->clip = std::move(clip);
  // DATA.DECODER_THREADS 0: the cores the workers leave idle go to each worker's decoder.
  if (state_->clip.decode.decoder_threads == 0) {
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    state_->clip.decode.decoder_threads = std::max(1, cores / cfg.num_workers);
  }
  state_->cfg = cfg;
  state_->mode = mode;
  // The batches the queue holds, the one being trained on and the one being collated.
  const auto batches_held = static_cast<size_t>(cfg.prefetch_batches) + 2;
  check_batches_fit(mode == LoaderMode::train ? train_sample_shape(state_->clip) : eval_sample_shape(state_->clip),
                    cfg.batch_size, batches_held, util::available_memory_mib());
  state_->memory = detail::BatchMemory::create(batches_held);
  try {
    for (int i = 0; i < cfg.num_workers; ++i) state_->workers.emplace_back([s = state_.get()] { s->worker_loop(); });
  } catch (const std::exception& e) {  // std::thread can fail to start: stop the ones that did before unwinding
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->stop = true;
    }
    state_->work_cv.notify_all();
    for (std::thread& t : state_->workers) t.join();
    // std::system_error's what() alone ("Resource temporarily unavailable") names no setting.
    throw std::runtime_error("data loader: could not start decoding thread " + std::to_string(state_->workers.size() + 1) +
                             " of " + std::to_string(cfg.num_workers) + " (" + e.what() +
                             "); lower DATA.NUM_WORKERS (--workers)");
  }
}

VideoLoader::~VideoLoader() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
  }
  state_->work_cv.notify_all();
  for (std::thread& t : state_->workers) t.join();
}

void VideoLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  State& s = *state_;
  if (first_batch < 0 || first_batch > s.batches_per_epoch()) {
    throw std::invalid_argument("VideoLoader::start_epoch: first_batch " + std::to_string(first_batch) +
                                " not in [0, " + std::to_string(s.batches_per_epoch()) + "]");
  }
  std::vector<int64_t> order = s.mode == LoaderMode::train
                                   ? train_shard(s.n(), s.cfg.rank, s.cfg.world_size, s.cfg.shuffle, s.cfg.seed, epoch)
                                   : eval_shard(s.n(), s.cfg.rank, s.cfg.world_size);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    ++s.generation;
    s.epoch = epoch;
    s.order = std::move(order);
    s.epoch_samples = s.samples_per_epoch();
    s.next_claim = std::min(first_batch * s.batch_size(), s.epoch_samples);
    s.next_batch = first_batch;
    s.pending.clear();
    s.started = true;
  }
  s.work_cv.notify_all();
}

std::optional<ClipBatch> VideoLoader::next() {
  State& s = *state_;
  PendingBatch pb;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    if (!s.started) throw std::logic_error("VideoLoader::next called before start_epoch");
    if (s.next_batch >= s.batches_per_epoch()) return std::nullopt;
    s.ready_cv.wait(lock, [&s] {
      const auto it = s.pending.find(s.next_batch);
      return it != s.pending.end() && !it->second.samples.empty() && it->second.remaining == 0;
    });
    const auto it = s.pending.find(s.next_batch);
    pb = std::move(it->second);
    s.pending.erase(it);
    ++s.next_batch;
  }
  s.work_cv.notify_all();  // the prefetch window moved
  // The limit first: when most videos fail, "too many bad videos" explains a sample that found
  // no replacement better than that sample's own error does.
  s.check_bad_limit();
  return s.collate(std::move(pb));
}

int64_t VideoLoader::dataset_size() const { return state_->n(); }
int64_t VideoLoader::shard_size() const { return state_->shard_size(); }
int64_t VideoLoader::num_batches() const { return state_->batches_per_epoch(); }

int64_t VideoLoader::batch_clips(int64_t batch) const {
  const State& s = *state_;
  if (batch < 0 || batch >= s.batches_per_epoch())
    throw std::out_of_range("VideoLoader::batch_clips: batch " + std::to_string(batch) + " of " +
                            std::to_string(s.batches_per_epoch()));
  return std::min(s.batch_size(), s.samples_per_epoch() - batch * s.batch_size());
}

BadDataStats VideoLoader::bad_data() const {
  std::lock_guard<std::mutex> lock(state_->bad_mutex);
  return state_->stats;
}

}  // namespace vifi::data

// Input-pipeline throughput: see loader_benchmark.h.
#include "vifi/data/loader_benchmark.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "vifi/data/sampling.h"
#include "vifi/data/video_files.h"
#include "vifi/data/video_reader.h"
#include "vifi/util/error_message.h"

namespace vifi::data {
namespace {

namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double ratio(double numerator, int64_t clips) { return clips > 0 ? numerator / static_cast<double>(clips) : 0.0; }

std::vector<std::string> videos_in_list(const std::string& list, const std::string& root) {
  const std::string base = root.empty() ? fs::path(list).parent_path().string() : root;
  std::vector<std::string> paths;
  for (const auto& record : load_annotation_list(list, base)) paths.push_back(record.path);
  return paths;
}

void check_options(const std::vector<std::string>& videos, const DecodeBenchOptions& options) {
  if (videos.empty()) throw std::invalid_argument("measure_decoding: videos is empty");
  if (options.num_segments < 1) throw std::invalid_argument("measure_decoding: num_segments must be >= 1");
  if (options.threads < 1) throw std::invalid_argument("measure_decoding: threads must be >= 1");
  if (options.repeat < 1) throw std::invalid_argument("measure_decoding: repeat must be >= 1");
}

// One clip as the loader would fetch it: open, sample T test-mode indices, decode them.
void decode_clip(const std::string& path, const DecodeBenchOptions& options, DecodeMeasurement& into) {
  const int64_t num_segments = options.num_segments;
  const DecodeMode mode = options.mode;
  VideoReader reader(path, options.reader);
  if (mode == DecodeMode::open) return;
  const auto indices = sample_test_indices(reader.info().num_frames, num_segments);
  const auto frames = mode == DecodeMode::sparse ? reader.read_frames(indices) : reader.read_frames_full_decode(indices);
  if (frames.size() != indices.size()) throw std::runtime_error(path + ": wrong number of frames returned");
  const DecodeStats& stats = reader.stats();
  into.frames_decoded += stats.frames_decoded;
  into.seeks += stats.seeks;
  into.stored_clips += stats.stored_numberings;
  if (stats.counting_reads > 0) {
    ++into.counted_clips;
    into.counted_frames_decoded += stats.frames_decoded;
  } else if (stats.learned_numbering_reads > 0) {
    ++into.learned_clips;
    into.learned_frames_decoded += stats.frames_decoded;
  }
}

// The reason names the file, as VideoError's do; OpenCV's or the allocator's do not.
std::string naming_path(const std::string& path, const std::string& reason) {
  return reason.find(path) != std::string::npos ? reason : path + ": " + reason;
}

// Lists video `index` as bad unless it already is (a file fails on every pass; one line is enough).
void add_bad_video(std::vector<FailedVideo>& bad, int64_t index, const std::string& path, const std::string& reason) {
  const auto listed = [index](const FailedVideo& f) { return f.index == index; };
  if (std::none_of(bad.begin(), bad.end(), listed)) bad.push_back({index, path, naming_path(path, reason)});
}

// A worker's share: clips taken from `next` until `total` jobs are handed out.
DecodeMeasurement decode_share(const std::vector<std::string>& videos, const DecodeBenchOptions& options,
                               std::atomic<int64_t>& next, int64_t total) {
  DecodeMeasurement mine;
  for (int64_t job = next++; job < total; job = next++) {
    const auto index = job % static_cast<int64_t>(videos.size());
    const std::string& path = videos[static_cast<size_t>(index)];
    try {
      decode_clip(path, options, mine);
      ++mine.clips;
    } catch (const std::exception& e) {
      ++mine.failures;
      add_bad_video(mine.bad_videos, index, path, util::error_message(e));
    }
  }
  return mine;
}

void add_counts(DecodeMeasurement& into, const DecodeMeasurement& share) {
  into.clips += share.clips;
  into.frames_decoded += share.frames_decoded;
  into.seeks += share.seeks;
  into.failures += share.failures;
  into.counted_clips += share.counted_clips;
  into.counted_frames_decoded += share.counted_frames_decoded;
  into.learned_clips += share.learned_clips;
  into.learned_frames_decoded += share.learned_frames_decoded;
  into.stored_clips += share.stored_clips;
  for (const auto& f : share.bad_videos) add_bad_video(into.bad_videos, f.index, f.path, f.reason);
}

}  // namespace

std::vector<std::string> find_videos(const VideoSearch& search) {
  std::error_code not_a_folder;
  auto paths = fs::is_directory(search.videos, not_a_folder) ? videos_under(search.videos)
                                                             : videos_in_list(search.videos, search.root);
  if (paths.empty()) throw std::runtime_error(search.videos + ": no videos found");
  return paths;
}

double DecodeMeasurement::clips_per_second() const { return seconds > 0 ? static_cast<double>(clips) / seconds : 0.0; }
double DecodeMeasurement::frames_decoded_per_clip() const { return ratio(static_cast<double>(frames_decoded), clips); }
double DecodeMeasurement::seeks_per_clip() const { return ratio(static_cast<double>(seeks), clips); }
double DecodeMeasurement::worker_ms_per_clip() const { return ratio(1000.0 * seconds * threads, clips); }

DecodeMeasurement measure_decoding(const std::vector<std::string>& videos, const DecodeBenchOptions& options) {
  check_options(videos, options);
  const int64_t total = static_cast<int64_t>(videos.size()) * options.repeat;
  std::atomic<int64_t> next{0};
  std::mutex mutex;
  DecodeMeasurement result;
  result.threads = options.threads;
  auto worker = [&] {
    const DecodeMeasurement mine = decode_share(videos, options, next, total);
    std::lock_guard<std::mutex> lock(mutex);
    add_counts(result, mine);
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < options.threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  result.seconds = seconds_since(start);
  std::sort(result.bad_videos.begin(), result.bad_videos.end(),
            [](const FailedVideo& a, const FailedVideo& b) { return a.index < b.index; });
  return result;
}

double LoaderMeasurement::clips_per_second() const { return seconds > 0 ? static_cast<double>(clips) / seconds : 0.0; }

LoaderMeasurement measure_training_loader(std::vector<VideoRecord> records, const ClipConfig& clip,
                                          const LoaderConfig& loader) {
  VideoLoader videos(std::move(records), clip, loader, LoaderMode::train);
  LoaderMeasurement result;
  const auto start = std::chrono::steady_clock::now();
  videos.start_epoch(0);
  while (auto batch = videos.next()) result.clips += batch->label.size(0);
  result.seconds = seconds_since(start);
  result.bad_data = videos.bad_data();
  return result;
}

}  // namespace vifi::data

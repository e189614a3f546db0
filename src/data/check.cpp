// Parallel scan of a dataset's videos.
#include "vifi/data/check.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "vifi/data/video_reader.h"
#include "vifi/util/error_message.h"

namespace vifi::data {
namespace {

struct VideoVerdict {
  std::optional<std::string> problem;
  std::string fault;
  int64_t frames = 0;
};

VideoVerdict check_one(const VideoRecord& record, const CheckOptions& options) {
  VideoVerdict v;
  if (options.num_classes > 0 && record.label >= options.num_classes) {
    v.problem = "label " + std::to_string(record.label) + " is not below the " + std::to_string(options.num_classes) +
                " classes of the label file";
    v.fault = "label";
    return v;
  }
  try {
    VideoReaderOptions reader_options;
    reader_options.numbering_store = options.numbering_store;
    VideoReader reader(record.path, reader_options);
    v.frames = reader.info().num_frames;
    if (options.full_decode) reader.verify();
  } catch (const VideoError& e) {
    v.problem = e.what();
    v.fault = fault_name(e.fault());
  } catch (const std::exception& e) {  // what the loader would also count as this file's fault
    v.problem = record.path + ": " + util::error_message(e);
    v.fault = "error";
  }
  return v;
}

}  // namespace

CheckReport check_videos(const std::vector<VideoRecord>& records, const CheckOptions& options,
                         const std::function<void(int64_t, int64_t)>& progress) {
  if (options.num_threads < 1) throw std::invalid_argument("CheckOptions.num_threads must be >= 1");
  const auto total = static_cast<int64_t>(records.size());
  std::vector<VideoVerdict> verdicts(records.size());
  std::atomic<int64_t> next{0};
  std::mutex progress_mutex;
  int64_t done = 0;
  const auto work = [&] {
    for (int64_t i = next++; i < total; i = next++) {
      verdicts[static_cast<size_t>(i)] = check_one(records[static_cast<size_t>(i)], options);
      std::lock_guard<std::mutex> lock(progress_mutex);
      ++done;
      if (progress) progress(done, total);
    }
  };
  std::vector<std::thread> threads;
  const int64_t n_threads = std::min<int64_t>(options.num_threads, std::max<int64_t>(total, 1));
  for (int64_t t = 0; t < n_threads; ++t) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();

  CheckReport report;
  report.num_videos = total;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    if (verdicts[i].problem) {
      report.problems.push_back({static_cast<int64_t>(i), records[i].path, *verdicts[i].problem, verdicts[i].fault});
    } else {
      ++report.num_ok;
      report.total_frames += verdicts[i].frames;
    }
  }
  return report;
}

}  // namespace vifi::data

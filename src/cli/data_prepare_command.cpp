// `vifi data prepare SRC DST`: maps flags to data/prepare, prints progress, and reports bytes
// and decoding speed before and after (data/loader_benchmark on a sample of the videos).
// Registered under the `data` group by data_command.cpp through add_data_prepare_command.
#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "vifi/data/loader_benchmark.h"
#include "vifi/data/video_files.h"
#include "vifi/data/prepare.h"

namespace vifi::cli {
namespace {

namespace fs = std::filesystem;

struct PrepareCommandOptions {
  std::string src;
  std::string dst;
  data::PrepareOptions prepare;
  int sample = 16;  // videos timed before and after
};

// Progress lines at most every 10 s (and at the end), with the rate and the time left.
class PrepareProgressLine {
 public:
  void operator()(int64_t done, int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::seconds(10)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    std::printf("prepare: %lld/%lld videos, %.2f videos/s, ETA %.0f s\n", static_cast<long long>(done),
                static_cast<long long>(total), rate, rate > 0 ? static_cast<double>(total - done) / rate : 0.0);
    std::fflush(stdout);
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

// Up to `count` paths spread evenly over `all`.
std::vector<std::string> spread(const std::vector<std::string>& all, int count) {
  std::vector<std::string> out;
  const size_t n = std::min(all.size(), static_cast<size_t>(count));
  for (size_t i = 0; i < n; ++i) out.push_back(all[i * all.size() / n]);
  return out;
}

// Sparse decoding of 8-frame clips, one thread, as `vifi bench loader` measures it.
double clips_per_second(const std::vector<std::string>& videos) {
  data::DecodeBenchOptions options;
  options.num_segments = 8;
  return data::measure_decoding(videos, options).clips_per_second();
}

void print_speed(const fs::path& src, const fs::path& dst, const data::PrepareReport& report, int sample) {
  if (report.prepared.empty() || sample == 0) return;
  std::vector<std::string> before, after;
  for (const std::string& relative : spread(report.prepared, sample)) {
    after.push_back((dst / relative).string());
  }
  // The sources of the sampled prepared files: same relative path up to the extension.
  for (const std::string& path : after) {
    const fs::path relative = fs::relative(path, dst);
    std::error_code error;
    for (fs::directory_iterator it((src / relative).parent_path(), error), end; !error && it != end; it.increment(error)) {
      if (it->path().stem() == relative.stem() && data::has_video_extension(it->path().string())) {
        before.push_back(it->path().string());
        break;
      }
    }
  }
  if (before.empty()) return;  // the sources were moved or cannot be listed: nothing to compare
  const double a = clips_per_second(before), b = clips_per_second(after);
  std::printf("decoding (8-frame clips, 1 thread, %zu videos): %.1f clips/s before, %.1f after (%.2fx)\n",
              after.size(), a, b, a > 0 ? b / a : 0.0);
}

void run_prepare(const PrepareCommandOptions& o) {
  PrepareProgressLine progress;
  const auto report = data::prepare_dataset(o.src, o.dst, o.prepare, std::ref(progress));
  const double mb = 1024.0 * 1024.0;
  std::printf("prepared %lld of %lld videos into %s in %.1f s (%lld encoded now, %lld from an earlier run)\n",
              static_cast<long long>(report.converted + report.reused), static_cast<long long>(report.videos),
              o.dst.c_str(), report.seconds, static_cast<long long>(report.converted),
              static_cast<long long>(report.reused));
  std::printf("bytes: %.1f MiB before, %.1f MiB after (%.2fx)\n", report.source_bytes / mb,
              report.prepared_bytes / mb,
              report.source_bytes > 0 ? static_cast<double>(report.prepared_bytes) / report.source_bytes : 0.0);
  std::printf("lists rewritten: %lld; other files copied: %lld\n", static_cast<long long>(report.lists_rewritten),
              static_cast<long long>(report.files_copied));
  print_speed(o.src, o.dst, report, o.sample);
  if (!report.not_carried.empty()) {
    std::printf("%zu entries under %s are not in %s:\n", report.not_carried.size(), o.src.c_str(), o.dst.c_str());
    for (const auto& n : report.not_carried) std::printf("SKIPPED %s: %s\n", n.relative.c_str(), n.reason.c_str());
  }
  if (!report.failed.empty()) {
    std::printf("%zu videos could not be prepared (copied unchanged where readable; their list lines keep their names):\n",
                report.failed.size());
    for (const auto& f : report.failed) std::printf("BAD %s\n", f.reason.c_str());
  }
  if (!report.failed.empty() || !report.not_carried.empty()) throw CLI::RuntimeError(1);
}

}  // namespace

void add_data_prepare_command(CLI::App& data_app) {
  auto o = std::make_shared<PrepareCommandOptions>();
  auto& p = o->prepare;
  p.jobs = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  auto* cmd = data_app.add_subcommand(
      "prepare", "Re-encode a dataset for fast sparse decoding (short side, keyframe interval), keeping its layout and "
                 "rewriting its lists; resumable (exit 1 if any video could not be prepared or anything under SRC "
                 "could not be carried over)");
  cmd->add_option("SRC", o->src, "Dataset folder (videos, annotation lists, label files)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("DST", o->dst, "Output folder (created; finished videos there are kept)")->required();
  cmd->add_option("--short-side", p.short_side, "Short side of the displayed picture, 0 = keep (never upscales)")
      ->capture_default_str()
      ->check(CLI::Range(0, 8192));
  cmd->add_option("--keyint", p.keyint, "h264: frames between keyframes")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_option("--codec", p.codec, "h264 (.mp4) or mjpeg (.avi, every frame a keyframe)")
      ->capture_default_str()
      ->check(CLI::IsMember({"h264", "mjpeg"}));
  cmd->add_option("--crf", p.crf, "h264: x264 constant rate factor")->capture_default_str()->check(CLI::Range(0, 51));
  cmd->add_option("--jobs", p.jobs, "Videos encoded at once (default: the cores)")->capture_default_str()->check(CLI::Range(1, 1024));
  cmd->add_option("--sample", o->sample, "Videos timed before and after (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->callback([o] { run_prepare(*o); });
}

}  // namespace vifi::cli

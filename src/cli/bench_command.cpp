// `vifi bench ...`: throughput benchmarks, each against its baseline in the same run.
//   loader  clips/s and frames decoded per clip for sparse decoding (VideoReader::read_frames on
//           TSN test-mode indices) against decoding every frame (read_frames_full_decode), on
//           the same files, for 8 and 16 frames per clip by default, plus the cost of opening
//           alone. Worker threads each own a reader and take whole clips, as the loader does.
//   model   images/s (inference) or frames/s (--train: a full step, both towers, AdamW) of a
//           random-weight CLIP driven as ViFi-CLIP, its FLOP rate and the fraction of
//           `bench gemm`; tools/bench/compare.sh sets it against tools/bench/reference.py.
//   gemm    the device's square-GEMM rate, the ceiling for `model`.
// The threaded data loader (data/loader, with transforms) plugs in as another row of the
// loader table. `model` and `gemm` live in vifi_core (vifi/bench) so the core-only `vifi_bench`
// executable runs the same code.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "commands.h"
#include "config_yaml.h"
#include "vifi/data/dataset.h"
#include "vifi/data/loader.h"
#include "vifi/data/sampling.h"
#include "vifi/data/video_batch_source.h"
#include "vifi/data/video_reader.h"
#include "vifi/bench/gemm_benchmark.h"
#include "vifi/bench/model_benchmark.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

namespace fs = std::filesystem;

struct LoaderBenchOptions {
  std::string config;  // run config: DATA.TRAIN_FILE under DATA.ROOT, and its transforms
  std::string videos;  // directory (searched recursively) or annotation list
  std::string root;    // for a list: directory its paths are relative to (default: the list's)
  std::vector<int64_t> frames = {8, 16};
  int threads = 1;
  int repeat = 3;
};

bool is_video_file(const fs::path& p) {
  static const std::vector<std::string> kExtensions = {".avi", ".mp4", ".webm", ".mkv", ".mov", ".m4v"};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

// Every video under a directory, or the first field of each line of an annotation list.
std::vector<std::string> find_videos(const std::string& videos, const std::string& root) {
  std::vector<std::string> paths;
  if (fs::is_directory(videos)) {
    for (const auto& entry : fs::recursive_directory_iterator(videos)) {
      if (entry.is_regular_file() && is_video_file(entry.path())) paths.push_back(entry.path().string());
    }
    std::sort(paths.begin(), paths.end());
  } else {
    const std::string base = root.empty() ? fs::path(videos).parent_path().string() : root;
    for (const auto& record : data::load_annotation_list(videos, base)) paths.push_back(record.path);
  }
  if (paths.empty()) throw std::runtime_error(videos + ": no videos found");
  return paths;
}

// open: the fixed cost every clip pays (open, probe, index the packets), no decoding.
enum class Mode { open, sparse, full };

struct Measurement {
  double seconds = 0;
  int64_t clips = 0;
  int64_t frames_decoded = 0;
  int64_t seeks = 0;
  int64_t failures = 0;
  double clips_per_second() const { return seconds > 0 ? static_cast<double>(clips) / seconds : 0.0; }
  double per_clip(int64_t total) const { return clips > 0 ? static_cast<double>(total) / static_cast<double>(clips) : 0.0; }
};

// One clip as the loader would fetch it: open, sample T test-mode indices, decode them.
void decode_clip(const std::string& path, int64_t num_segments, Mode mode, Measurement& into) {
  data::VideoReader reader(path);
  if (mode == Mode::open) return;
  const auto indices = data::sample_test_indices(reader.info().num_frames, num_segments);
  const auto frames = mode == Mode::sparse ? reader.read_frames(indices) : reader.read_frames_full_decode(indices);
  if (frames.size() != indices.size()) throw std::runtime_error(path + ": wrong number of frames returned");
  into.frames_decoded += reader.stats().frames_decoded;
  into.seeks += reader.stats().seeks;
}

// `repeat` passes over all videos, clips shared out to `threads` workers; wall-clock time.
Measurement measure(const std::vector<std::string>& videos, int64_t num_segments, Mode mode, int threads, int repeat) {
  const int64_t total = static_cast<int64_t>(videos.size()) * repeat;
  std::atomic<int64_t> next{0};
  std::mutex mutex;
  Measurement result;
  auto worker = [&] {
    Measurement mine;
    for (int64_t job = next++; job < total; job = next++) {
      const std::string& path = videos[static_cast<size_t>(job) % videos.size()];
      try {
        decode_clip(path, num_segments, mode, mine);
        ++mine.clips;
      } catch (const std::exception& e) {
        if (mine.failures++ == 0) util::log_warn("bench: " + std::string(e.what()));
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    result.clips += mine.clips;
    result.frames_decoded += mine.frames_decoded;
    result.seeks += mine.seeks;
    result.failures += mine.failures;
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string describe_videos(const std::vector<std::string>& videos) {
  data::VideoReader first(videos.front());
  const auto& info = first.info();
  std::ostringstream s;
  s << videos.size() << " videos (first: " << info.num_frames << " frames, " << info.codec << " " << info.width
    << "x" << info.height << ")";
  return s.str();
}

void print_row(int64_t frames, const char* mode, const Measurement& m, const std::string& speedup) {
  std::printf("%-7lld %-7s %10.1f %14.1f %11.2f %9s\n", static_cast<long long>(frames), mode, m.clips_per_second(),
              m.per_clip(m.frames_decoded), m.per_clip(m.seeks), speedup.c_str());
}

// The whole training input pipeline (data/loader: sampling, sparse decoding, transforms,
// batching) over one epoch with `threads` workers.
void measure_training_loader(const train::Config& config, int64_t frames, int threads) {
  auto c = config;
  c.data.num_frames = frames;
  auto records = data::load_annotation_list(c.data.train_file, c.data.root);
  auto loader_config = data::loader_config_from(c, data::LoaderMode::train, 0, 1);
  loader_config.num_workers = threads;
  data::VideoLoader loader(records, data::clip_config_from(c), loader_config, data::LoaderMode::train);
  const auto start = std::chrono::steady_clock::now();
  loader.start_epoch(0);
  int64_t clips = 0;
  while (auto batch = loader.next()) clips += batch->label.size(0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%-7lld %-7s %10.1f   (threaded loader with transforms to %lldx%lld, batch %lld)\n",
              static_cast<long long>(frames), "loader", seconds > 0 ? clips / seconds : 0.0,
              static_cast<long long>(c.data.input_size), static_cast<long long>(c.data.input_size),
              static_cast<long long>(c.train.batch_size));
}

void run_loader_bench(const LoaderBenchOptions& o) {
  std::optional<train::Config> config;
  if (!o.config.empty()) config = load_config(o.config);
  if (!config && o.videos.empty()) throw std::runtime_error("bench loader: give --config or --videos");
  const auto videos = config ? find_videos(config->data.train_file, config->data.root) : find_videos(o.videos, o.root);
  std::printf("bench loader: %s; %d pass(es), %d thread(s); decoding only (no transforms)\n",
              describe_videos(videos).c_str(), o.repeat, o.threads);
  std::printf("%-7s %-7s %10s %14s %11s %9s\n", "frames", "mode", "clips/s", "decoded/clip", "seeks/clip", "speed-up");
  int64_t failures = 0;
  for (int64_t t : o.frames) {
    const Measurement sparse = measure(videos, t, Mode::sparse, o.threads, o.repeat);
    const Measurement full = measure(videos, t, Mode::full, o.threads, o.repeat);
    char ratio[32];
    std::snprintf(ratio, sizeof(ratio), "%.1fx", full.clips_per_second() > 0 ? sparse.clips_per_second() / full.clips_per_second() : 0.0);
    print_row(t, "sparse", sparse, ratio);
    print_row(t, "full", full, "1.0x");
    if (config) measure_training_loader(*config, t, o.threads);
    failures += sparse.failures + full.failures;
  }
  const Measurement open = measure(videos, 1, Mode::open, o.threads, o.repeat);
  std::printf("opening and indexing alone (the fixed cost inside both modes): %.1f clips/s, %.2f ms per clip\n",
              open.clips_per_second(), open.clips > 0 ? 1000.0 * open.seconds * o.threads / static_cast<double>(open.clips) : 0.0);
  if (failures > 0) {
    std::printf("%lld clip decodes failed (first reason logged above); they are not counted\n", static_cast<long long>(failures));
  }
}

void add_bench_loader_command(CLI::App& bench) {
  auto o = std::make_shared<LoaderBenchOptions>();
  auto* cmd = bench.add_subcommand("loader", "Clips/s and frames decoded per clip: sparse decoding vs full decode");
  cmd->add_option("--config", o->config, "Run config: benchmark DATA.TRAIN_FILE, plus the threaded loader with its transforms")
      ->check(CLI::ExistingFile);
  cmd->add_option("--videos", o->videos, "Directory of videos (recursive) or annotation list (instead of --config)")
      ->check(CLI::ExistingPath);
  cmd->add_option("--root", o->root, "For a list: directory its paths are relative to (default: the list's)");
  cmd->add_option("--frames", o->frames, "Frames per clip (TSN segments), one row pair each")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
  cmd->add_option("--threads", o->threads, "Decoding threads, one clip each at a time")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--repeat", o->repeat, "Passes over the videos per measurement")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->callback([o] { run_loader_bench(*o); });
}

void add_device_options(CLI::App& cmd, std::string& device, std::string& dtype, int& threads, int& iters, int& warmup) {
  cmd.add_option("--device", device, "cpu or cuda")->capture_default_str();
  cmd.add_option("--dtype", dtype, "fp32, or bf16/fp16 autocast on CUDA")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  cmd.add_option("--threads", threads, "Intra-op threads (0: LibTorch's default)")->capture_default_str()->check(CLI::Range(0, 1024));
  cmd.add_option("--iters", iters, "Timed iterations (the median is reported)")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd.add_option("--warmup", warmup, "Untimed iterations first")->capture_default_str()->check(CLI::Range(0, 10000));
}

void run_model_bench(const bench::ModelBenchOptions& o, bool with_gemm) {
  const auto result = bench::run_model_benchmark(o);
  std::printf("%s\n", bench::format_model_result(o, result).c_str());
  if (!with_gemm) return;
  bench::GemmBenchOptions g;
  g.device = o.device;
  g.dtype = o.dtype;
  g.threads = o.threads;
  const auto gemm = bench::run_gemm_benchmark(g);
  std::printf("%s\n", bench::format_gemm_result(g, gemm).c_str());
  std::printf("achieved %.4f TFLOP/s = %.1f%% of the measured GEMM rate\n", result.tflops, 100.0 * result.tflops / gemm.tflops);
}

void add_bench_model_command(CLI::App& bench) {
  auto o = std::make_shared<bench::ModelBenchOptions>();
  auto with_gemm = std::make_shared<bool>(false);
  auto* cmd = bench.add_subcommand("model", "Images/s (inference) or frames/s (--train) of ViFi-CLIP, random weights");
  cmd->add_option("--arch", o->arch, "CLIP architecture preset")->capture_default_str();
  cmd->add_option("--frames", o->frames, "Frames per clip (T)")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{1024}));
  cmd->add_option("--batch", o->batch, "Clips per step (B)")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--classes", o->classes, "Class prompts through the text tower (C)")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000}));
  cmd->add_flag("--train", o->train, "Time a full training step instead of inference");
  cmd->add_flag("--gemm", *with_gemm, "Also measure the GEMM rate and print the fraction reached");
  add_device_options(*cmd, o->device, o->dtype, o->threads, o->iters, o->warmup);
  cmd->callback([o, with_gemm] { run_model_bench(*o, *with_gemm); });
}

void add_bench_gemm_command(CLI::App& bench) {
  auto o = std::make_shared<bench::GemmBenchOptions>();
  auto* cmd = bench.add_subcommand("gemm", "Square-GEMM rate of the device (the ceiling for bench model)");
  cmd->add_option("--size", o->size, "n of n x n x n (0: 2048 on CPU, 8192 on CUDA)")->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{65536}));
  add_device_options(*cmd, o->device, o->dtype, o->threads, o->iters, o->warmup);
  cmd->callback([o] { std::printf("%s\n", bench::format_gemm_result(*o, bench::run_gemm_benchmark(*o)).c_str()); });
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Throughput benchmarks, each against a baseline in the same run");
  bench->require_subcommand(1);
  add_bench_loader_command(*bench);
  add_bench_model_command(*bench);
  add_bench_gemm_command(*bench);
}

}  // namespace vifi::cli

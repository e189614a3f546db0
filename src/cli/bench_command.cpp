// `vifi bench ...`: throughput benchmarks, each against its baseline in the same run.
//   loader  clips/s and frames decoded per clip for sparse decoding (VideoReader::read_frames on
//           TSN test-mode indices) against decoding every frame (read_frames_full_decode), on
//           the same files, for 8 and 16 frames per clip by default, plus the cost of opening
//           alone. Worker threads each own a reader and take whole clips, as the loader does.
//           Bad files never stop the table: their clips are left out of it, and each file is
//           listed after it once ("BAD <path>: <reason>", as `vifi data check` does).
//   model   images/s (inference) or frames/s (--train: a full step, both towers, AdamW) of a
//           random-weight CLIP driven as ViFi-CLIP, its FLOP rate and the fraction of
//           `bench gemm`; tools/bench/compare.sh sets it against tools/bench/reference.py.
//   gemm    the device's square-GEMM rate, the ceiling for `model`.
// With --config, the threaded data loader (data/loader, with transforms) plugs in as another
// row of the loader table. This file maps flags to runs and prints the tables: the loader
// measurements live in vifi_video (data/loader_benchmark), `model` and `gemm` in vifi_core
// (vifi/bench) so the core-only `vifi_bench` executable runs the same code.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "flag_checks.h"
#include "loader_sizing_bench.h"
#include "vifi/config/config_yaml.h"
#include "vifi/experiment/adapters.h"
#include "vifi/data/dataset.h"
#include "vifi/data/loader.h"
#include "vifi/data/loader_benchmark.h"
#include "vifi/data/video_reader.h"
#include "vifi/bench/gemm_benchmark.h"
#include "vifi/bench/model_benchmark.h"
#include "vifi/util/error_message.h"

namespace vifi::cli {
namespace {

struct LoaderBenchOptions {
  std::string config;  // run config: DATA.TRAIN_FILE under DATA.ROOT, and its transforms
  std::string videos;  // directory (searched recursively) or annotation list
  std::string root;    // for a list: directory its paths are relative to (default: the list's)
  std::vector<int64_t> frames = {8, 16};
  int threads = 1;
  int repeat = 3;
  int decoder_threads = 1;  // FFmpeg threads per clip's decoder
  std::string numbering_cache;  // decoding rows: VideoReaderOptions::numbering_store (empty: none)
  std::string synthetic;  // "kinetics": make a Kinetics-like set and size a node (loader_sizing_bench)
  LoaderSizingOptions sizing;
};

// Size and codec of the first video that opens: a bad file at the head of the list must not end
// the benchmark before its table (the bad files are listed after it).
std::string describe_videos(const std::vector<std::string>& videos) {
  std::ostringstream s;
  s << videos.size() << " videos";
  for (const auto& path : videos) {
    try {
      data::VideoReader first(path);
      const auto& info = first.info();
      s << " (first readable: " << info.num_frames << " frames, " << info.codec << " " << info.width << "x"
        << info.height << ")";
      return s.str();
    } catch (const std::exception&) {
      // Listed with its reason once the measurements have met it.
    }
  }
  s << " (none could be opened)";
  return s.str();
}

// Bad files met by any measurement, by path: each is listed once after the table.
using BadVideos = std::map<std::string, std::string>;  // path -> first reason (names the path)

void note_bad(BadVideos& bad, const data::DecodeMeasurement& m) {
  for (const auto& f : m.bad_videos) bad.emplace(f.path, f.reason);
}

// `passed`: how sparse reads treat passed frames (the training reads' DATA.PASSED_FRAMES).
data::DecodeMeasurement measure(const std::vector<std::string>& videos, int64_t frames, data::DecodeMode mode,
                                const LoaderBenchOptions& o, PassedFrames passed = PassedFrames::skip_unreferenced) {
  data::DecodeBenchOptions options;
  options.reader.passed_frames = passed;
  options.num_segments = frames;
  options.mode = mode;
  options.threads = o.threads;
  options.repeat = o.repeat;
  options.reader.decoder_threads = o.decoder_threads;
  options.reader.numbering_store = o.numbering_cache;
  return data::measure_decoding(videos, options);
}

void print_row(int64_t frames, const char* mode, const data::DecodeMeasurement& m, const std::string& speedup) {
  std::printf("%-7lld %-7s %10.1f %14.1f %11.2f %9s\n", static_cast<long long>(frames), mode, m.clips_per_second(),
              m.frames_decoded_per_clip(), m.seeks_per_clip(), speedup.c_str());
}

// Files only a full decode can number: frames decoded by their first clip (a whole decode,
// once) against their later clips (seeking with the learned numbering).
void print_counting_note(const data::DecodeMeasurement& m) {
  if (m.stored_clips > 0) {
    std::printf("        numberings read from --numbering-cache by %lld clip(s): no full decode for their files\n",
                static_cast<long long>(m.stored_clips));
  }
  if (m.counted_clips == 0) return;
  const auto per_clip = [](int64_t frames, int64_t clips) { return static_cast<double>(frames) / static_cast<double>(clips); };
  std::printf("        numbered by a full decode on %lld file(s): first clip %.1f frames decoded", static_cast<long long>(m.counted_clips),
              per_clip(m.counted_frames_decoded, m.counted_clips));
  if (m.learned_clips > 0) {
    std::printf(", later clips %.1f (learned numbering, %lld clips)\n", per_clip(m.learned_frames_decoded, m.learned_clips),
                static_cast<long long>(m.learned_clips));
  } else {
    std::printf("; later clips: none measured (--repeat 2 measures them)\n");
  }
}

// Sparse and full decoding of `frames` per clip, one row each; returns the failed decodes.
int64_t print_decode_rows(const std::vector<std::string>& videos, int64_t frames, const LoaderBenchOptions& o,
                          PassedFrames passed, BadVideos& bad) {
  const auto sparse = measure(videos, frames, data::DecodeMode::sparse, o, passed);
  const auto full = measure(videos, frames, data::DecodeMode::full, o);
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), "%.1fx", full.clips_per_second() > 0 ? sparse.clips_per_second() / full.clips_per_second() : 0.0);
  print_row(frames, "sparse", sparse, ratio);
  print_counting_note(sparse);
  print_row(frames, "full", full, "1.0x");
  note_bad(bad, sparse);
  note_bad(bad, full);
  return sparse.failures + full.failures;
}

// The whole training input pipeline (data/loader: sampling, sparse decoding, transforms,
// batching) over `records` for one epoch with `threads` workers, set up from `config` (the run's,
// or the reference's defaults for --videos). Bad files are
// replaced whatever DATA.MAX_BAD_FRACTION says (the benchmark measures, the decode rows name
// them); a loader that cannot go on at all gets a row saying why instead of ending the table.
void print_training_loader_row(const vifi::Config& config, std::vector<data::VideoRecord> records, int64_t frames,
                               int threads) {
  auto c = config;
  c.data.num_frames = frames;
  auto loader = experiment::loader_config(c, data::LoaderMode::train, experiment::Placement{});
  loader.num_workers = threads;
  loader.max_bad_fraction = 1.0;
  data::LoaderMeasurement result;
  try {
    result = data::measure_training_loader(std::move(records), experiment::clip_config(c), loader);
  } catch (const std::exception& e) {
    std::printf("%-7lld %-7s %10s   (the threaded loader stopped: %s)\n", static_cast<long long>(frames), "loader",
                "-", util::error_message(e).c_str());
    return;
  }
  std::printf("%-7lld %-7s %10.1f   (threaded loader with transforms to %lldx%lld, batch %lld", static_cast<long long>(frames),
              "loader", result.clips_per_second(), static_cast<long long>(c.data.input_size),
              static_cast<long long>(c.data.input_size), static_cast<long long>(c.train.batch_size));
  if (result.bad_data.bad_videos > 0) {
    std::printf("; %lld bad videos, %lld samples replaced", static_cast<long long>(result.bad_data.bad_videos),
                static_cast<long long>(result.bad_data.replaced_samples));
  }
  std::printf(")\n");
}

void print_open_cost(const std::vector<std::string>& videos, const LoaderBenchOptions& o, BadVideos& bad) {
  const auto open = measure(videos, 1, data::DecodeMode::open, o);
  note_bad(bad, open);
  std::printf("opening and indexing alone (the fixed cost inside both modes): %.1f clips/s, %.2f ms per clip\n",
              open.clips_per_second(), open.worker_ms_per_clip());
}

// After the table: how many files failed and why, each once, like `vifi data check` lists them.
void print_bad_videos(const BadVideos& bad, size_t num_videos, int64_t failures) {
  if (bad.empty()) return;
  std::printf("%zu of %zu videos could not be decoded (%lld failed clip decodes, not counted above):\n", bad.size(),
              num_videos, static_cast<long long>(failures));
  for (const auto& [path, reason] : bad) std::printf("BAD %s\n", reason.c_str());
}

// --config benchmarks DATA.TRAIN_FILE under DATA.ROOT; otherwise --videos (and --root).
data::VideoSearch video_search(const std::optional<vifi::Config>& config, const LoaderBenchOptions& o) {
  data::VideoSearch search;
  search.videos = config ? config->data.train_file : o.videos;
  search.root = config ? config->data.root : o.root;
  return search;
}

void run_loader_bench(const LoaderBenchOptions& o, bool threads_given) {
  if (!o.synthetic.empty()) {
    LoaderSizingOptions sizing = o.sizing;
    sizing.frames = o.frames;
    sizing.max_threads = threads_given ? o.threads : 0;
    run_loader_sizing_bench(sizing);
    return;
  }
  std::optional<vifi::Config> config;
  if (!o.config.empty()) config = load_config(o.config);
  if (!config && o.videos.empty()) throw std::runtime_error("bench loader: give --config, --videos or --synthetic kinetics");
  const auto videos = data::find_videos(video_search(config, o));
  // The loader row: --config's list and transforms; for --videos every video (label 0) with the
  // reference's default transforms, and the decoding rows' numbering store.
  std::vector<data::VideoRecord> records;
  if (config) {
    records = data::load_annotation_list(config->data.train_file, config->data.root);
  } else {
    for (const auto& path : videos) {
      data::VideoRecord record;
      record.path = path;
      record.relative = path;
      records.push_back(record);
    }
  }
  vifi::Config row_config = config.value_or(vifi::Config{});
  if (!config) row_config.data.numbering_cache = o.numbering_cache.empty() ? "none" : o.numbering_cache;
  std::printf("bench loader: %s; %d pass(es), %d thread(s); sparse and full rows decode only (sparse as training "
              "reads do, DATA.PASSED_FRAMES %s), loader rows add the training transforms\n",
              describe_videos(videos).c_str(), o.repeat, o.threads,
              std::string(vifi::to_string(row_config.data.passed_frames)).c_str());
  std::printf("%-7s %-7s %10s %14s %11s %9s\n", "frames", "mode", "clips/s", "decoded/clip", "seeks/clip", "speed-up");
  int64_t failures = 0;
  BadVideos bad;
  for (int64_t t : o.frames) {
    failures += print_decode_rows(videos, t, o, row_config.data.passed_frames, bad);
    print_training_loader_row(row_config, records, t, o.threads);
  }
  print_open_cost(videos, o, bad);
  print_bad_videos(bad, videos.size(), failures);
}

void add_bench_loader_command(CLI::App& bench) {
  auto o = std::make_shared<LoaderBenchOptions>();
  o->sizing.work = (std::filesystem::temp_directory_path() / "vifi-bench-kinetics").string();
  auto* cmd = bench.add_subcommand(
      "loader", "Clips/s and frames decoded per clip: sparse decoding vs full decode; with --synthetic kinetics, what "
                "each decoding change buys, worker-thread scaling and the cores a GPU needs");
  cmd->add_option("--config", o->config, "Run config: benchmark DATA.TRAIN_FILE, and the threaded loader with the config's transforms")
      ->check(CLI::ExistingFile);
  cmd->add_option("--videos", o->videos,
                  "Directory of videos (recursive) or annotation list (instead of --config; the loader row uses the "
                  "reference's default transforms)")
      ->check(CLI::ExistingPath);
  cmd->add_option("--root", o->root, "For a list: directory its paths are relative to (default: the list's)");
  cmd->add_option("--frames", o->frames, "Frames per clip (TSN segments), one row pair each")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
  auto* threads = cmd->add_option("--threads", o->threads,
                                  "Decoding threads, one clip each at a time (--synthetic: 1 up to this; default the cores)")
                      ->capture_default_str()
                      ->check(CLI::Range(1, 256));
  cmd->add_option("--repeat", o->repeat, "Passes over the videos per measurement")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--decoder-threads", o->decoder_threads, "FFmpeg threads inside each clip's decoder")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--numbering-cache", o->numbering_cache,
                  "Decoding rows: keep the frame numberings learned by full decodes in this folder and read them from it, "
                  "as DATA.NUMBERING_CACHE does for runs (default: memory only, so each run measures its first clips' "
                  "full decodes; the --config loader row follows the config)");
  cmd->add_option("--synthetic", o->synthetic,
                  "Make a Kinetics-like set (454x340, 30 fps, 10 s, H.264 with x264's defaults: preset medium, CRF "
                  "23, keyframe every 250) and its prepared copy in --work, then time the training pipeline on both")
      ->check(CLI::IsMember({"kinetics"}));
  cmd->add_option("--work", o->sizing.work,
                  "--synthetic: folder for the two sets (kept and reused while written with these settings)")
      ->capture_default_str();
  cmd->add_option("--gpu-clips-per-s", o->sizing.gpu_clips_per_s,
                  "--synthetic: one GPU's training clips/s to size for, in clips of --gpu-clip-frames frames")
      ->capture_default_str()
      ->check(finite_in(0.001, 1e6));
  cmd->add_option("--gpu-clip-frames", o->sizing.gpu_clip_frames,
                  "--synthetic: frames per clip of --gpu-clips-per-s (other clip lengths scale: the GPU's cost is per frame)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--clips", o->sizing.clips, "--synthetic: clips per measurement")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--synthetic-videos", o->sizing.videos, "--synthetic: videos in the set")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--synthetic-frames", o->sizing.video_frames, "--synthetic: frames per video")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{16}, int64_t{100000}));
  cmd->callback([o, threads] { run_loader_bench(*o, threads->count() > 0); });
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

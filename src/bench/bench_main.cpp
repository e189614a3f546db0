// A deliberately small flag parser: --name value pairs and the bare --train switch, strict about
// unknown names so a typo cannot silently benchmark the wrong shape.
#include "vifi/bench/bench_main.h"

#include <cstdio>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>

#include "vifi/bench/fit_check.h"
#include "vifi/bench/gemm_benchmark.h"
#include "vifi/bench/model_benchmark.h"

namespace vifi::bench {
namespace {

using Flags = std::map<std::string, std::string>;

constexpr const char* kUsage =
    "usage: vifi_bench model [--arch ViT-B/16] [--frames 8] [--batch 1] [--classes 400] [--train]\n"
    "                        [--device cpu|cuda] [--dtype fp32|bf16|fp16] [--threads N] [--iters 5] [--warmup 2]\n"
    "       vifi_bench gemm  [--size N] [--device cpu|cuda] [--dtype fp32|bf16|fp16] [--threads N] [--iters 5]\n"
    "       vifi_bench fit   [--arch ViT-B/16] [--device cuda] [--batch 8] [--accumulation 2] [--frames 8]\n"
    "                        [--resolution 224] [--steps 300] [--lr 1e-4] [--out fit-check]\n"
    "                        (the Trainer on synthetic batches, interrupted and resumed; exit 1 unless it passes)\n";

Flags parse_flags(int argc, const char* const* argv) {
  Flags flags;
  for (int i = 2; i < argc; ++i) {
    const std::string name = argv[i];
    if (name.rfind("--", 0) != 0) throw std::invalid_argument("expected a --flag, got " + name);
    if (name == "--train") {
      flags["train"] = "1";
    } else if (i + 1 < argc) {
      flags[name.substr(2)] = argv[++i];
    } else {
      throw std::invalid_argument(name + " needs a value");
    }
  }
  return flags;
}

// Removes and returns a flag's value, or the fallback when absent.
std::string take(Flags& flags, const std::string& name, const std::string& fallback) {
  const auto it = flags.find(name);
  if (it == flags.end()) return fallback;
  const auto value = it->second;
  flags.erase(it);
  return value;
}

void check_all_used(const Flags& flags) {
  if (!flags.empty()) throw std::invalid_argument("unknown flag --" + flags.begin()->first);
}

int run_model(Flags flags) {
  ModelBenchOptions o;
  o.arch = take(flags, "arch", o.arch);
  o.frames = std::stoll(take(flags, "frames", std::to_string(o.frames)));
  o.batch = std::stoll(take(flags, "batch", std::to_string(o.batch)));
  o.classes = std::stoll(take(flags, "classes", std::to_string(o.classes)));
  o.train = take(flags, "train", "0") == "1";
  o.device = take(flags, "device", o.device);
  o.dtype = take(flags, "dtype", o.dtype);
  o.threads = std::stoi(take(flags, "threads", "0"));
  o.iters = std::stoi(take(flags, "iters", std::to_string(o.iters)));
  o.warmup = std::stoi(take(flags, "warmup", std::to_string(o.warmup)));
  check_all_used(flags);
  const auto result = run_model_benchmark(o);
  std::printf("%s\n", format_model_result(o, result).c_str());
  return 0;
}

int run_gemm(Flags flags) {
  GemmBenchOptions o;
  o.size = std::stoll(take(flags, "size", "0"));
  o.device = take(flags, "device", o.device);
  o.dtype = take(flags, "dtype", o.dtype);
  o.threads = std::stoi(take(flags, "threads", "0"));
  o.iters = std::stoi(take(flags, "iters", std::to_string(o.iters)));
  o.warmup = std::stoi(take(flags, "warmup", std::to_string(o.warmup)));
  check_all_used(flags);
  std::printf("%s\n", format_gemm_result(o, run_gemm_benchmark(o)).c_str());
  return 0;
}

#if VIFI_HAVE_TOKENIZER
int run_fit(Flags flags) {
  FitCheckOptions o;
  o.arch = take(flags, "arch", o.arch);
  o.device = take(flags, "device", o.device);
  o.batch = std::stoll(take(flags, "batch", std::to_string(o.batch)));
  o.accumulation = std::stoll(take(flags, "accumulation", std::to_string(o.accumulation)));
  o.frames = std::stoll(take(flags, "frames", std::to_string(o.frames)));
  o.resolution = std::stoll(take(flags, "resolution", std::to_string(o.resolution)));
  o.steps = std::stoll(take(flags, "steps", std::to_string(o.steps)));
  o.lr = std::stod(take(flags, "lr", std::to_string(o.lr)));
  o.out = take(flags, "out", o.out);
  check_all_used(flags);
  const auto result = run_fit_check(o);
  std::printf("%s\n", format_fit_check(o, result).c_str());
  return result.passed ? 0 : 1;
}
#else
int run_fit(Flags) { throw std::runtime_error("built without zlib, so without the tokenizer the trainer needs"); }
#endif

}  // namespace

int bench_main(int argc, const char* const* argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "model") return run_model(parse_flags(argc, argv));
    if (command == "gemm") return run_gemm(parse_flags(argc, argv));
    if (command == "fit") return run_fit(parse_flags(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vifi_bench %s: %s\n", command.c_str(), e.what());
    return 1;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace vifi::bench

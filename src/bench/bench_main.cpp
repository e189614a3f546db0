// A deliberately small flag parser: --name value pairs and the bare --train switch, strict about
// unknown names so a typo cannot silently benchmark the wrong shape.
#include "vifi/bench/bench_main.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <stdexcept>
#include <string>

#include "vifi/bench/fit_check.h"
#include "vifi/bench/gemm_benchmark.h"
#include "vifi/bench/model_benchmark.h"
#include "vifi/util/error_message.h"
#include "vifi/util/parse_number.h"

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

// A whole-string integer flag of at least `min`.
int64_t take_int(Flags& flags, const std::string& name, int64_t fallback, int64_t min) {
  if (!flags.count(name)) return fallback;
  const auto text = take(flags, name, "");
  const auto value = util::parse_int64(text);
  if (!value || *value < min || *value > INT32_MAX)
    throw std::invalid_argument("--" + name + ": expected an integer from " + std::to_string(min) + " to " +
                                std::to_string(INT32_MAX) + ", got '" + text + "'");
  return *value;
}

double take_positive(Flags& flags, const std::string& name, double fallback) {
  if (!flags.count(name)) return fallback;
  const auto text = take(flags, name, "");
  const auto value = util::parse_double(text);
  if (!value || !(*value > 0)) throw std::invalid_argument("--" + name + ": expected a positive number, got '" + text + "'");
  return *value;
}

void check_all_used(const Flags& flags) {
  if (!flags.empty()) throw std::invalid_argument("unknown flag --" + flags.begin()->first);
}

int run_model(Flags flags) {
  ModelBenchOptions o;
  o.arch = take(flags, "arch", o.arch);
  o.frames = take_int(flags, "frames", o.frames, 1);
  o.batch = take_int(flags, "batch", o.batch, 1);
  o.classes = take_int(flags, "classes", o.classes, 1);
  o.train = take(flags, "train", "0") == "1";
  o.device = take(flags, "device", o.device);
  o.dtype = take(flags, "dtype", o.dtype);
  o.threads = static_cast<int>(take_int(flags, "threads", 0, 0));
  o.iters = static_cast<int>(take_int(flags, "iters", o.iters, 1));
  o.warmup = static_cast<int>(take_int(flags, "warmup", o.warmup, 0));
  check_all_used(flags);
  const auto result = run_model_benchmark(o);
  std::printf("%s\n", format_model_result(o, result).c_str());
  return 0;
}

int run_gemm(Flags flags) {
  GemmBenchOptions o;
  o.size = take_int(flags, "size", 0, 0);
  o.device = take(flags, "device", o.device);
  o.dtype = take(flags, "dtype", o.dtype);
  o.threads = static_cast<int>(take_int(flags, "threads", 0, 0));
  o.iters = static_cast<int>(take_int(flags, "iters", o.iters, 1));
  o.warmup = static_cast<int>(take_int(flags, "warmup", o.warmup, 0));
  check_all_used(flags);
  std::printf("%s\n", format_gemm_result(o, run_gemm_benchmark(o)).c_str());
  return 0;
}

#if VIFI_HAVE_TOKENIZER
int run_fit(Flags flags) {
  FitCheckOptions o;
  o.arch = take(flags, "arch", o.arch);
  o.device = take(flags, "device", o.device);
  o.batch = take_int(flags, "batch", o.batch, 1);
  o.accumulation = take_int(flags, "accumulation", o.accumulation, 1);
  o.frames = take_int(flags, "frames", o.frames, 1);
  o.resolution = take_int(flags, "resolution", o.resolution, 1);
  o.steps = take_int(flags, "steps", o.steps, 1);
  o.lr = take_positive(flags, "lr", o.lr);
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
    std::fprintf(stderr, "vifi_bench %s: %s\n", command.c_str(), util::error_message(e).c_str());
    return 1;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace vifi::bench

// `vifi_bench model|gemm [--flag value ...]`: the benchmarks without the CLI's dependencies
// (CLI11, spdlog), so they build under -DVIFI_CORE_ONLY=ON against any LibTorch. The flags are
// those of `vifi bench model` / `vifi bench gemm`. Prints one RESULT line per run (plus a GEMM
// line and the fraction of it the model reached, for `model`); returns the process exit code.
#pragma once

namespace vifi::bench {

int bench_main(int argc, const char* const* argv);

}  // namespace vifi::bench

// bench: the analytic FLOP counts against a hand computation for ViT-B/16, and the synthetic
// prompts' end-of-text positions (the text context the benchmark runs), and vifi_bench's flags.
// No timing here.
#include <gtest/gtest.h>

#include "vifi/bench/bench_main.h"
#include "vifi/bench/model_benchmark.h"

#include <string>
#include <vector>

namespace vifi {
namespace {

TEST(Benchmark, VisionFlopsOfViTB16MatchHandComputation) {
  const auto c = clip::clip_config_preset("ViT-B/16");
  // 196 patches of 3*16*16 onto 768 channels; 12 blocks over 197 tokens of width 768, each
  // 24*N*W^2 (QKV, output, MLP) + 4*N^2*W (QK^T, AV); the 768x512 projection of the class token.
  const double patch = 2.0 * 196 * 768 * 768;
  const double blocks = 12.0 * (24.0 * 197 * 768 * 768 + 4.0 * 197 * 197 * 768);
  const double proj = 2.0 * 768 * 512;
  EXPECT_DOUBLE_EQ(patch + blocks + proj, 35126906880.0);
  EXPECT_DOUBLE_EQ(bench::vision_forward_flops(c, 1), 35126906880.0);
  // 8 frames: 281 GFLOPs (the paper quotes 281 GFLOPs for 16 frames, counting multiply-adds).
  EXPECT_NEAR(bench::vision_forward_flops(c, 8) / 1e9, 281.0, 0.1);
}

TEST(Benchmark, TrainingStepIsThreeForwardsOfBothTowers) {
  const auto c = clip::clip_config_preset("ViT-B/16");
  bench::ModelBenchOptions o;
  o.frames = 8;
  o.classes = 400;
  o.train = true;
  const double text_one = 12.0 * (24.0 * 15 * 512 * 512 + 4.0 * 15 * 15 * 512) + 2.0 * 512 * 512;
  EXPECT_DOUBLE_EQ(bench::text_forward_flops(c, 1, 15), text_one);
  EXPECT_DOUBLE_EQ(bench::model_iteration_flops(c, o, 15), 3.0 * (8 * 35126906880.0 + 400 * text_one));
  o.train = false;
  EXPECT_DOUBLE_EQ(bench::model_iteration_flops(c, o, 15), 8 * 35126906880.0);
}

TEST(Benchmark, SyntheticPromptsEndBetweenPositionsSevenAndFourteen) {
  const auto tokens = bench::synthetic_prompt_tokens(400, 77);
  const auto eot = tokens.argmax(-1);
  EXPECT_EQ(eot.min().item<int64_t>(), 7);
  EXPECT_EQ(eot.max().item<int64_t>(), 14);
  EXPECT_EQ(tokens.index({0, 0}).item<int64_t>(), 49406);
  EXPECT_EQ(tokens.index({0, 8}).item<int64_t>(), 0);  // zero padding after the end token
}

// vifi_bench's numeric flags are read whole and in range, and refused by name before anything runs.
TEST(Benchmark, NumericFlagsAreReadWholeAndRefusedByName) {
  const auto run = [](std::vector<const char*> argv) {
    argv.insert(argv.begin(), "vifi_bench");
    testing::internal::CaptureStderr();
    const int code = bench::bench_main(static_cast<int>(argv.size()), argv.data());
    return std::make_pair(code, testing::internal::GetCapturedStderr());
  };
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"model", "--frames", "8x"}, "vifi_bench model: --frames: expected an integer from 1 to 2147483647, got '8x'"},
      {{"model", "--frames", "abc"}, "vifi_bench model: --frames: expected an integer from 1 to 2147483647, got 'abc'"},
      {{"model", "--batch", "0"}, "vifi_bench model: --batch: expected an integer from 1 to 2147483647, got '0'"},
      {{"model", "--iters", "99999999999999999999"}, "--iters: expected an integer from 1 to 2147483647, got '99999999999999999999'"},
      {{"gemm", "--threads", "-1"}, "vifi_bench gemm: --threads: expected an integer from 0 to 2147483647, got '-1'"},
      {{"gemm", "--size", " 64"}, "vifi_bench gemm: --size: expected an integer from 0 to 2147483647, got ' 64'"},
  };
  for (const auto& [argv, message] : cases) {
    const auto [code, err] = run(argv);
    EXPECT_EQ(code, 1) << message;
    EXPECT_NE(err.find(message), std::string::npos) << err;
  }
  for (const char* lr : {"-1e-4", "0", "nan", "1e-4x", "fast"}) {
    const auto [code, err] = run({"fit", "--lr", lr});
    EXPECT_EQ(code, 1) << lr;
    if (err.find("built without zlib") != std::string::npos) continue;  // no `fit` in this build
    EXPECT_NE(err.find("vifi_bench fit: --lr: expected a positive number, got '" + std::string(lr) + "'"), std::string::npos)
        << err;
  }
}

}  // namespace
}  // namespace vifi

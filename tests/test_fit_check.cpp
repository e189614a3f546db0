// `vifi_bench fit` (bench/fit_check) on the CPU with the tiny architecture: the check that
// tools/gpu-check.sh runs with ViT-B/16 on a GPU must itself work, i.e. the loss falls, the run
// is interrupted mid-epoch and the resumed run ends bitwise where the uninterrupted one did (CPU),
// and a broken resume would be told apart (the untrained weights are far off).
#include <gtest/gtest.h>

#include "support/test_paths.h"
#include "vifi/bench/fit_check.h"

namespace vifi::bench {
namespace {

TEST(FitCheck, TinyModelLearnsAndResumesBitwiseOnTheCpu) {
  FitCheckOptions o;
  o.arch = "vifi-tiny";
  o.device = "cpu";
  o.batch = 3;
  o.accumulation = 2;
  o.frames = 2;
  o.resolution = 32;
  o.steps = 80;  // 4 epochs of 20 micro-batches
  o.lr = 1e-3;
  o.out = (test::scratch_dir() / "fit").string();
  const FitCheckResult r = run_fit_check(o);
  std::cout << format_fit_check(o, r) << "\n";
  ASSERT_EQ(r.epoch_loss.size(), 4u);
  EXPECT_TRUE(r.finite);
  EXPECT_LT(r.epoch_loss.back(), 0.5 * r.epoch_loss.front());
  EXPECT_EQ(r.micro_batches, 80);
  EXPECT_EQ(r.adamw_kernel, "foreach");
  EXPECT_EQ(r.resume_max_difference, 0.0);
  EXPECT_GT(r.fresh_mean_difference, 1e-3);
  EXPECT_TRUE(r.passed);
  EXPECT_NE(format_fit_check(o, r).find("result=PASS"), std::string::npos);
}

TEST(FitCheck, RejectsOptionsByName) {
  FitCheckOptions o;
  o.arch = "vifi-tiny";
  o.device = "cpu";
  o.accumulation = 3;  // does not divide the 20 micro-batches of an epoch
  EXPECT_THROW(run_fit_check(o), std::invalid_argument);
  o.accumulation = 1;
  o.batch = 0;
  EXPECT_THROW(run_fit_check(o), std::invalid_argument);
}

}  // namespace
}  // namespace vifi::bench

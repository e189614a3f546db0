// train/metrics_log: reads back what the trainer writes to metrics.jsonl and names bad lines.
#include <gtest/gtest.h>

#include <fstream>

#include "support/test_paths.h"
#include "vifi/train/metrics_log.h"

namespace vifi {
namespace {

TEST(MetricsLog, ParsesTheTrainersLines) {
  const auto r = train::parse_metrics_line(
      R"({"type":"train","epoch":0,"step":10,"optimizer_step":11,"lr":1.25e-05,"loss":1.6094,"frames_per_s":80.5})", "m:1");
  EXPECT_EQ(r.type, "train");
  EXPECT_DOUBLE_EQ(r.values.at("lr"), 1.25e-05);
  EXPECT_DOUBLE_EQ(r.values.at("optimizer_step"), 11);
  const auto v = train::parse_metrics_line(R"( { "type" : "val", "epoch": 4, "acc1": 77.5 } )", "m:2");
  EXPECT_EQ(v.type, "val");
  EXPECT_DOUBLE_EQ(v.values.at("acc1"), 77.5);
}

TEST(MetricsLog, SeriesPicksRecordsOfOneTypeInFileOrder) {
  const auto dir = test::scratch_dir();
  const auto path = (dir / "metrics.jsonl").string();
  std::ofstream(path) << R"({"type":"train","optimizer_step":1,"loss":2.0})" << "\n\n"
                      << R"({"type":"val","epoch":0,"acc1":40})" << "\n"
                      << R"({"type":"train","optimizer_step":2,"loss":1.5})" << "\n";
  const auto records = train::load_metrics_log(path);
  ASSERT_EQ(records.size(), 3U);
  const auto loss = train::metric_series(records, "train", "optimizer_step", "loss");
  ASSERT_EQ(loss.size(), 2U);
  EXPECT_EQ(loss[1], (std::pair<double, double>{2, 1.5}));
  EXPECT_EQ(train::metric_series(records, "val", "epoch", "acc1").size(), 1U);
}

TEST(MetricsLog, ErrorsNameTheLine) {
  try {
    train::parse_metrics_line(R"({"type":"train","loss":[1,2]})", "metrics.jsonl:7");
    FAIL() << "nested value accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:7"), std::string::npos) << e.what();
  }
  EXPECT_THROW(train::load_metrics_log("/nonexistent/metrics.jsonl"), std::runtime_error);
}

}  // namespace
}  // namespace vifi

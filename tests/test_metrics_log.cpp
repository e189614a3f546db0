// train/metrics_log: reads back what the trainer writes to metrics.jsonl and names bad lines.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "support/test_paths.h"
#include "vifi/train/batch_plan.h"
#include "vifi/train/metrics_log.h"
#include "vifi/util/json.h"

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

// The first line of every run's metrics.jsonl, as the trainer writes it (train/batch_plan): its
// boolean drop_last made `vifi plot` refuse every real run's file.
TEST(MetricsLog, ReadsTheTrainersRunRecordWithItsBoolean) {
  for (const bool drop_last : {true, false}) {
    TrainConfig t;
    t.global_batch = 64;
    t.batch_size = 4;
    t.drop_last = drop_last;
    t.epochs = 50;
    const auto r = train::parse_metrics_line(util::json_text(train::run_record(train::plan_batches(t, 816, 2))), "m:1");
    EXPECT_EQ(r.type, "run");
    EXPECT_EQ(r.values.at("drop_last"), drop_last ? 1.0 : 0.0);
    EXPECT_EQ(r.values.at("accumulation_steps"), 8.0);
    EXPECT_EQ(r.values.at("total_updates"), drop_last ? 600.0 : 650.0);
  }
}

TEST(MetricsLog, NullValuesAreAbsentNotErrors) {
  const auto r = train::parse_metrics_line(R"({"type":"train","step":3,"loss":null,"lr":1e-05})", "m:1");
  EXPECT_EQ(r.type, "train");
  EXPECT_EQ(r.values.count("loss"), 0U);
  EXPECT_DOUBLE_EQ(r.values.at("lr"), 1e-05);
  EXPECT_DOUBLE_EQ(r.values.at("step"), 3);
}

// What the trainer does with a diverged loss: util/json writes NaN and inf as null, and the
// reader gives back a record without that field (so curves skip the point).
TEST(MetricsLog, NonFiniteMetricIsWrittenAsNullAndReadBackAsAbsent) {
  const auto line = util::json_text(util::Json{{"type", "train"},
                                               {"optimizer_step", 4},
                                               {"loss", util::json_number(std::nan(""))},
                                               {"frames_per_s", util::json_number(HUGE_VAL)},
                                               {"lr", util::json_number(2.5e-06)}});
  EXPECT_EQ(line, R"({"type":"train","optimizer_step":4,"loss":null,"frames_per_s":null,"lr":2.5e-06})");
  const auto r = train::parse_metrics_line(line, "m:1");
  EXPECT_EQ(r.values.count("loss"), 0U);
  EXPECT_EQ(r.values.count("frames_per_s"), 0U);
  EXPECT_DOUBLE_EQ(r.values.at("lr"), 2.5e-06);
  EXPECT_TRUE(train::metric_series({r}, "train", "optimizer_step", "loss").empty());
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

// A run killed while writing a line, then resumed from the checkpoint of epoch 0 after it had
// logged steps 3-4 of epoch 1: the file as it is left, read and appended to.
TEST(MetricsLog, AKilledRunsHalfLineAndRepeatedStepsDoNotBreakTheCurves) {
  const auto dir = test::scratch_dir();
  const auto path = (dir / "metrics.jsonl").string();
  const std::string killed = R"({"type":"train","optimizer_step":1,"loss":2.0})" "\n"
                             R"({"type":"train","optimizer_step":2,"loss":1.8})" "\n"
                             R"({"type":"val","epoch":0,"acc1":40})" "\n"
                             R"({"type":"train","optimizer_step":3,"loss":1.7})" "\n"
                             R"({"type":"train","optimizer_step":4,"lo)";
  std::ofstream(path, std::ios::binary) << killed;
  // Read while so: the half line is left out (`vifi plot` on a run being written, too).
  auto records = train::load_metrics_log(path);
  ASSERT_EQ(records.size(), 4U);
  // The resumed run appends: its first append cuts the half line; steps 3-4 come again.
  train::MetricsAppender appender(path);
  appender.append(R"({"type":"train","optimizer_step":3,"loss":1.6})");
  appender.append(R"({"type":"train","optimizer_step":4,"loss":1.5})");
  appender.append(R"({"type":"val","epoch":1,"acc1":55})");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), killed.substr(0, killed.rfind('\n') + 1) + R"({"type":"train","optimizer_step":3,"loss":1.6})" "\n"
                        R"({"type":"train","optimizer_step":4,"loss":1.5})" "\n" R"({"type":"val","epoch":1,"acc1":55})" "\n");
  records = train::load_metrics_log(path);
  ASSERT_EQ(records.size(), 7U);
  // One point per step, in step order, the resumed run's where it logged a step again.
  EXPECT_EQ(train::metric_series(records, "train", "optimizer_step", "loss"),
            (std::vector<std::pair<double, double>>{{1, 2.0}, {2, 1.8}, {3, 1.6}, {4, 1.5}}));
  EXPECT_EQ(train::metric_series(records, "val", "epoch", "acc1"), (std::vector<std::pair<double, double>>{{0, 40}, {1, 55}}));
  // A half line that is the whole file is cut to nothing; a whole last line without its '\n' is kept.
  std::ofstream(path, std::ios::binary) << R"({"type":"tr)";
  EXPECT_THROW(train::load_metrics_log(path), std::runtime_error);  // no records
  train::MetricsAppender(path).append(R"({"type":"val","epoch":0,"acc1":1})");
  EXPECT_EQ(train::load_metrics_log(path).size(), 1U);
  std::ofstream(path, std::ios::binary) << R"({"type":"val","epoch":0,"acc1":1})";
  EXPECT_EQ(train::load_metrics_log(path).size(), 1U);
}

TEST(MetricsLog, AFailedAppendNamesTheFileAndTheCause) {
  // /dev/full takes the open and fails every write with ENOSPC, as a full disk does.
  train::MetricsAppender full("/dev/full");
  try {
    full.append(R"({"type":"val","epoch":0,"acc1":1})");
    FAIL() << "a write to /dev/full succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "/dev/full: write failed (No space left on device)");
  }
}

// The message of the std::runtime_error `line` throws ("" when it parses).
std::string parse_error(const std::string& line, const std::string& source) {
  try {
    train::parse_metrics_line(line, source);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(MetricsLog, ErrorsNameTheLine) {
  const auto nested = parse_error(R"({"type":"train","loss":[1,2]})", "metrics.jsonl:7");
  EXPECT_EQ(nested.rfind("metrics.jsonl:7: 'loss' holds a JSON array", 0), 0U) << nested;
  EXPECT_NE(parse_error(R"({"type":"val","acc":{"top1":1}})", "metrics.jsonl:2").find("metrics.jsonl:2: 'acc'"),
            std::string::npos);
  // The last two: a number beyond double (nlohmann's out_of_range, not a parse_error) and a NaN
  // literal, which JSON has not (vifi writes null).
  for (const char* bad : {R"({"type":"train","loss":)", "[1,2]", R"({"loss":1} x)", "{'loss':1}",
                          R"({"type":"train","loss":1e400})", R"({"type":"train","loss":NaN})"}) {
    const auto what = parse_error(bad, "metrics.jsonl:3");
    EXPECT_EQ(what.rfind("metrics.jsonl:3: ", 0), 0U) << bad << " -> " << what;
  }
  const auto dir = test::scratch_dir();
  std::ofstream(dir / "metrics.jsonl") << R"({"type":"train","loss":1})" << "\n\n" << R"({"type":"train",)" << "\n";
  try {
    train::load_metrics_log((dir / "metrics.jsonl").string());
    FAIL() << "truncated line accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:3: "), std::string::npos) << e.what();
  }
  EXPECT_THROW(train::load_metrics_log("/nonexistent/metrics.jsonl"), std::runtime_error);
}

}  // namespace
}  // namespace vifi

// eval/report: the CSVs, the Markdown table, results.json and the files written, on known counts.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_paths.h"
#include "vifi/eval/report.h"

namespace vifi {
namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// 3 classes, 5 videos: true 0,0,1,2,2 predicted 0,1,1,2,0 -> top-1 3/5, confusion rows below.
eval::RunReport known_run() {
  eval::ClassificationCounts counts(3);
  const auto labels = torch::tensor({0, 0, 1, 2, 2}, torch::kLong);
  const auto predicted = torch::tensor({0, 1, 1, 2, 0}, torch::kLong);
  counts.update(torch::one_hot(predicted, 3).to(torch::kFloat), labels);
  eval::EvalResult result{counts, {{4, "/data/bad.avi", "no frames"}}, 1};
  return {"split1", "/data/val.txt", {"pour", "say \"hi\"", "a, b"}, result};
}

TEST(Report, PerClassAndConfusionCsvNameTheClasses) {
  const auto run = known_run();
  EXPECT_EQ(eval::per_class_csv(run.result.counts, run.class_names),
            "class_id,class,videos,top1\n0,pour,2,50\n1,\"say \"\"hi\"\"\",1,100\n2,\"a, b\",2,50\n");
  EXPECT_EQ(eval::confusion_csv(run.result.counts, run.class_names),
            "true\\predicted,pour,\"say \"\"hi\"\"\",\"a, b\"\npour,1,1,0\n\"say \"\"hi\"\"\",0,1,0\n\"a, b\",1,0,1\n");
  EXPECT_EQ(eval::failed_list(run.result.failed), "/data/bad.avi\tno frames\n");
}

TEST(Report, MarkdownAndJson) {
  eval::Summary s{"zeroshot", {{"top1_mean", 60.0}}, {{"split", "top-1"}, {{"split1", "60.0"}}}, {known_run()}, {}};
  EXPECT_EQ(eval::markdown_table(s.table), "| split | top-1 |\n|---|---|\n| split1 | 60.0 |\n");
  const auto text = eval::results_json(s);
  const auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json.at("setting"), "zeroshot") << text;
  EXPECT_EQ(json.at("metrics"), (nlohmann::json{{"top1_mean", 60.0}})) << text;
  ASSERT_EQ(json.at("runs").size(), 1U) << text;
  const auto& run = json.at("runs")[0];
  EXPECT_EQ(run.at("name"), "split1");
  EXPECT_EQ(run.at("list"), "/data/val.txt");
  EXPECT_EQ(run.at("classes"), 3);
  EXPECT_EQ(run.at("videos"), 5);
  EXPECT_EQ(run.at("views"), 1);
  EXPECT_DOUBLE_EQ(run.at("top1").get<double>(), 60.0);
  EXPECT_DOUBLE_EQ(run.at("top5").get<double>(), 100.0);
  EXPECT_EQ(run.at("failed"), (nlohmann::json::array({{{"path", "/data/bad.avi"}, {"reason", "no frames"}}}))) << text;
  EXPECT_NE(text.find("\n  \"runs\": ["), std::string::npos) << "indented for people too:\n" << text;
  EXPECT_NE(eval::results_markdown(s).find("split1: 1 videos failed to decode"), std::string::npos);
  EXPECT_FALSE(json.contains("model"));  // unset: not written
  s.model = "/runs/k400/best.pth";          // which weights the numbers are about
  EXPECT_EQ(nlohmann::json::parse(eval::results_json(s)).at("model"), "/runs/k400/best.pth");
  EXPECT_NE(eval::results_markdown(s).find("\n\nModel: /runs/k400/best.pth\n\n| split |"), std::string::npos)
      << eval::results_markdown(s);
  EXPECT_EQ(eval::format_mean_std(51.25, 0.04), "51.2 ± 0.0");  // %.1f rounds half to even in binary
}

// JSON has no NaN: a non-finite metric is written as null and the file still parses. Names that
// are not UTF-8 are written with U+FFFD, not thrown on.
TEST(Report, NonFiniteNumbersAreNullAndTextIsEscaped) {
  auto run = known_run();
  run.name = "say \"hi\"\t\\";
  run.list_file = std::string("/data/caf\xe9.txt");  // Latin-1, not UTF-8
  const eval::Summary s{"zeroshot", {{"top1_mean", 60.0}, {"top1_std", std::nan("")}, {"hm", INFINITY}}, {}, {run}, {}};
  const auto json = nlohmann::json::parse(eval::results_json(s));
  EXPECT_DOUBLE_EQ(json.at("metrics").at("top1_mean").get<double>(), 60.0);
  EXPECT_TRUE(json.at("metrics").at("top1_std").is_null());
  EXPECT_TRUE(json.at("metrics").at("hm").is_null());
  EXPECT_EQ(json.at("runs")[0].at("name"), "say \"hi\"\t\\");
  EXPECT_EQ(json.at("runs")[0].at("list"), "/data/caf\xef\xbf\xbd.txt");
}

TEST(Report, WritesEveryFile) {
  const auto dir = test::scratch_dir();
  eval::Summary s{"fewshot", {}, {{"K=2"}, {{"60.0"}}}, {known_run()}, {}};
  eval::write_report(dir.string(), s);
  for (const char* f : {"results.json", "results.md", "split1.per_class.csv", "split1.confusion.csv", "split1.failed.txt"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  EXPECT_EQ(read(dir / "split1.failed.txt"), "/data/bad.avi\tno frames\n");
  EXPECT_EQ(nlohmann::json::parse(read(dir / "results.json")).at("setting"), "fewshot");
}

}  // namespace
}  // namespace vifi

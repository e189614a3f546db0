// eval/report: the CSVs, the Markdown table, results.json and the files written, on known counts.
#include <gtest/gtest.h>

#include <fstream>
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
  eval::Summary s{"zeroshot", {{"top1_mean", 60.0}}, {{"split", "top-1"}, {{"split1", "60.0"}}}, {known_run()}};
  EXPECT_EQ(eval::markdown_table(s.table), "| split | top-1 |\n|---|---|\n| split1 | 60.0 |\n");
  const auto json = eval::results_json(s);
  EXPECT_NE(json.find("\"setting\":\"zeroshot\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"top1_mean\":60"), std::string::npos) << json;
  EXPECT_NE(json.find("\"videos\":5,\"views\":1,\"top1\":60,\"top5\":100"), std::string::npos) << json;
  EXPECT_NE(json.find("{\"path\":\"/data/bad.avi\",\"reason\":\"no frames\"}"), std::string::npos) << json;
  EXPECT_NE(eval::results_markdown(s).find("split1: 1 videos failed to decode"), std::string::npos);
  EXPECT_EQ(eval::format_mean_std(51.25, 0.04), "51.2 ± 0.0");  // %.1f rounds half to even in binary
}

TEST(Report, WritesEveryFile) {
  const auto dir = test::scratch_dir();
  eval::Summary s{"fewshot", {}, {{"K=2"}, {{"60.0"}}}, {known_run()}};
  eval::write_report(dir.string(), s);
  for (const char* f : {"results.json", "results.md", "split1.per_class.csv", "split1.confusion.csv", "split1.failed.txt"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  EXPECT_EQ(read(dir / "split1.failed.txt"), "/data/bad.avi\tno frames\n");
}

}  // namespace
}  // namespace vifi

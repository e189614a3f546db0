// `vifi eval` end to end: each of the four settings on one synthetic dataset laid out like the
// real ones (full label CSV, base/novel subset CSVs numbered 0..n-1 with lists in local ids,
// K-shot lists, per-split YAMLs sharing a BASE file), tiny model, odd list sizes; each writes
// its table, results.json and per-run CSVs, and counts every video once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_paths.h"
#include "vifi/data/dataset.h"
#include "vifi/data/synthetic.h"

namespace vifi {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// results.json parsed: every check below reads values, not the file's layout.
nlohmann::json read_results(const fs::path& dir) { return nlohmann::json::parse(read(dir / "results.json")); }

// runs[i].top1 of the runs whose name ends with `suffix`, in file order.
std::vector<double> run_top1s(const nlohmann::json& results, const std::string& suffix = "") {
  std::vector<double> out;
  for (const auto& run : results.at("runs")) {
    const auto name = run.at("name").get<std::string>();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(run.at("top1").get<double>());
  }
  return out;
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

void write_labels(const fs::path& path, const std::vector<std::string>& names) {
  std::ofstream out(path);
  out << "id,name\n";
  for (size_t i = 0; i < names.size(); ++i) out << i << "," << names[i] << "\n";
}

// One YAML: the shared BASE plus the data files of this split/seed/K.
fs::path write_config(const fs::path& dir, const std::string& name, const std::string& train, const std::string& val,
                      const std::string& labels, int classes) {
  const auto path = dir / (name + ".yaml");
  std::ofstream(path) << "BASE: ['common.yaml']\nDATA:\n  TRAIN_FILE: " << train << "\n  VAL_FILE: " << val
                      << "\n  LABEL_LIST: " << labels << "\n  NUM_CLASSES: " << classes << "\n";
  return path;
}

// 4 classes x (3 train, 3 val) videos; base = classes 0,1 and novel = 2,3, lists in local ids.
class EvalCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Per process: ctest runs each test of this suite as its own process, possibly in parallel.
    dir_ = fs::temp_directory_path() / "vifi-tests" / ("EvalCommand." + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data::SyntheticDatasetSpec spec;
    spec.num_classes = 4;
    spec.train_per_class = 3;
    spec.val_per_class = 3;
    spec.num_frames = 8;
    spec.width = 48;
    spec.height = 32;
    const auto names = data::write_synthetic_dataset((dir_ / "data").string(), spec);
    const auto train = data::load_annotation_list((dir_ / "data/train.txt").string());
    const auto val = data::load_annotation_list((dir_ / "data/val.txt").string());
    const std::vector<std::string> base{names[0], names[1]}, novel{names[2], names[3]};
    write_labels(dir_ / "base_labels.csv", base);
    write_labels(dir_ / "novel_labels.csv", novel);
    const auto b = data::map_subset(names, base, "base"), n = data::map_subset(names, novel, "novel");
    data::write_annotation_list((dir_ / "base_train.txt").string(), data::select_subset(train, b));
    data::write_annotation_list((dir_ / "base_val.txt").string(), data::select_subset(val, b));
    data::write_annotation_list((dir_ / "novel_val.txt").string(), data::select_subset(val, n));
    std::ofstream(dir_ / "data/videos/broken.avi") << "not a video";
    std::ofstream(dir_ / "with_broken.txt") << read(dir_ / "data/val.txt") << "videos/broken.avi 1\n";
    for (int k : {1, 2})
      data::write_annotation_list((dir_ / ("train_few_shot_" + std::to_string(k) + ".txt")).string(),
                                  data::fewshot_subset(train, k, 0, 4));
    std::ofstream(dir_ / "common.yaml") << "DATA:\n  ROOT: data\n  NUM_FRAMES: 2\n  INPUT_SIZE: 32\n  NUM_WORKERS: 1\n"
                                           "MODEL:\n  ARCH: vifi-tiny\nTRAIN:\n  EPOCHS: 1\n  WARMUP_EPOCHS: 0\n"
                                           "  BATCH_SIZE: 4\n  LR: 1.0e-4\nAUG:\n  MIXUP: 0\nPRINT_FREQ: 1\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static fs::path dir_;

  std::string config(const std::string& name, const std::string& train, const std::string& val,
                     const std::string& labels, int classes) {
    return write_config(dir_, name, train, val, labels, classes).string();
  }
  std::string run(const std::string& args, const fs::path& out) {
    std::string log;
    EXPECT_EQ(test::run_vifi("eval " + args + " --output " + out.string() + " --threads 1", &log), 0) << log;
    return read(out / "results.md");
  }
};
fs::path EvalCommand::dir_;

TEST_F(EvalCommand, ZeroShotMeanStdOverSplits) {
  const auto s1 = config("zs1", "data/train.txt", "data/val.txt", "data/labels.csv", 4);
  const auto s2 = config("zs2", "base_train.txt", "base_val.txt", "base_labels.csv", 2);
  const auto s3 = config("zs3", "data/train.txt", "with_broken.txt", "data/labels.csv", 4);
  const auto out = dir_ / "zs";
  const auto md = run("--setting zeroshot --config " + s1 + " " + s2 + " " + s3, out);
  EXPECT_NE(md.find("| mean ± std |"), std::string::npos) << md;
  const auto json = read_results(out);
  EXPECT_EQ(json.at("setting"), "zeroshot");
  const auto& runs = json.at("runs");
  ASSERT_EQ(runs.size(), 3U) << json;
  EXPECT_EQ(runs[0].at("name"), "split1");
  EXPECT_EQ(runs[0].at("list"), (dir_ / "data/val.txt").string());
  EXPECT_EQ(runs[0].at("classes"), 4);
  EXPECT_EQ(runs[0].at("videos"), 12);  // 12 videos in batches of 4: each counted once
  EXPECT_EQ(runs[1].at("classes"), 2);
  EXPECT_EQ(runs[1].at("videos"), 6);  // 6 = 4 + 2 (odd last batch)
  // The undecodable video is listed, not counted: split3 scores the same 12 videos as split1.
  EXPECT_EQ(runs[2].at("name"), "split3");
  EXPECT_EQ(runs[2].at("videos"), 12);
  EXPECT_EQ(runs[2].at("views"), 1);
  ASSERT_EQ(runs[2].at("failed").size(), 1U) << json;
  EXPECT_NE(runs[2].at("failed")[0].at("path").get<std::string>().find("broken.avi"), std::string::npos);
  // The protocol's numbers, recomputed from the runs: mean and population std over the splits.
  const auto top1 = run_top1s(json);
  const double m = mean(top1);
  double var = 0;
  for (double t : top1) var += (t - m) * (t - m);
  EXPECT_NEAR(json.at("metrics").at("top1_mean").get<double>(), m, 1e-9) << json;
  EXPECT_NEAR(json.at("metrics").at("top1_std").get<double>(), std::sqrt(var / static_cast<double>(top1.size())), 1e-9)
      << json;
  EXPECT_NE(read(out / "split3.failed.txt").find("broken.avi\t"), std::string::npos);
  EXPECT_EQ(read(out / "split1.failed.txt"), "");
  EXPECT_NE(md.find("split3: 1 videos failed to decode"), std::string::npos) << md;
  EXPECT_TRUE(fs::exists(out / "split2.confusion.csv"));
  EXPECT_EQ(read(out / "split2.confusion.csv").substr(0, 15), "true\\predicted,");
}

TEST_F(EvalCommand, Base2NovelTrainsEachSeedThenReportsHM) {
  const auto b1 = config("b2n_s1", "base_train.txt", "base_val.txt", "base_labels.csv", 2);
  const auto b2 = config("b2n_s2", "base_train.txt", "base_val.txt", "base_labels.csv", 2);
  const auto nv = config("b2n_novel", "base_train.txt", "novel_val.txt", "novel_labels.csv", 2);
  const auto out = dir_ / "b2n";
  const auto md = run("--setting base2novel --train --config " + b1 + " " + b2 + " --novel-config " + nv, out);
  EXPECT_NE(md.find("| seed | base | novel | HM |"), std::string::npos) << md;
  EXPECT_NE(md.find("| average |"), std::string::npos) << md;
  for (const char* f : {"s1_base.per_class.csv", "s2_novel.per_class.csv", "train_s1/config.yaml"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_NE(read(out / "s1_novel.per_class.csv").find("0," + data::synthetic_class_name(2) + ",3,"), std::string::npos);
  // base, novel = the mean top-1 of the seeds' base and novel runs; HM = their harmonic mean.
  const auto json = read_results(out);
  const auto base = run_top1s(json, "_base"), novel = run_top1s(json, "_novel");
  ASSERT_EQ(base.size(), 2U) << json;
  ASSERT_EQ(novel.size(), 2U) << json;
  const double b = mean(base), n = mean(novel);
  const auto& metrics = json.at("metrics");
  EXPECT_NEAR(metrics.at("base").get<double>(), b, 1e-9) << json;
  EXPECT_NEAR(metrics.at("novel").get<double>(), n, 1e-9) << json;
  EXPECT_NEAR(metrics.at("hm").get<double>(), b + n > 0 ? 2 * b * n / (b + n) : 0.0, 1e-9) << json;
}

TEST_F(EvalCommand, FewShotRowOverK) {
  const auto k1 = config("fs1", "train_few_shot_1.txt", "data/val.txt", "data/labels.csv", 4);
  const auto k2 = config("fs2", "train_few_shot_2.txt", "data/val.txt", "data/labels.csv", 4);
  const auto md = run("--setting fewshot --train --shots 1 2 --config " + k1 + " " + k2, dir_ / "fs");
  EXPECT_NE(md.find("| K=1 | K=2 |"), std::string::npos) << md;
  const auto json = read_results(dir_ / "fs");
  EXPECT_EQ(json.at("metrics").at("top1_K2").get<double>(), run_top1s(json).at(1)) << json;
}

TEST_F(EvalCommand, SupervisedSingleAndMultiView) {
  const auto c = config("sup", "data/train.txt", "data/val.txt", "data/labels.csv", 4);
  const auto out = dir_ / "sup";
  const auto md = run("--setting supervised --config " + c + " --opts TEST.NUM_CLIP 2 TEST.NUM_CROP 3", out);
  EXPECT_NE(md.find("| 1x1 | 12 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 6 views | 12 |"), std::string::npos) << md;
  const auto json = read_results(out);
  EXPECT_EQ(json.at("runs").at(1).at("views"), 6) << json;
  EXPECT_EQ(json.at("metrics").at("top1").get<double>(), run_top1s(json).at(1)) << json;
}

TEST_F(EvalCommand, ErrorsNameTheProblem) {
  std::string log;
  const auto c = config("bad", "data/train.txt", "data/val.txt", "data/labels.csv", 4);
  EXPECT_NE(test::run_vifi("eval --setting zeroshot --train --config " + c + " --output " + (dir_ / "x").string(), &log), 0);
  EXPECT_NE(log.find("--train applies to base2novel and fewshot"), std::string::npos) << log;
  EXPECT_NE(test::run_vifi("eval --setting fewshot --config " + c + " --output " + (dir_ / "x").string(), &log), 0);
  EXPECT_NE(log.find("--shots has 4 values for 1 --config"), std::string::npos) << log;
}

}  // namespace
}  // namespace vifi

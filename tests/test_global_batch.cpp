// A recipe's global batch at any world size, end to end on synthetic videos: `vifi train
// --dry-run` (the plan from the lists alone), one process and two `vifi launch` ranks training
// the same updates to the same weights (1e-5) and both running the final 4x3-view test, and the
// other training commands across ranks: `vifi eval --train` (sharded training, every video
// evaluated once, the same top-1 as one process evaluating its checkpoint) and `vifi prompt`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "support/parameter_diff.h"
#include "support/ranks.h"
#include "support/synthetic_run.h"
#include "support/test_paths.h"
#include "vifi/data/dataset.h"
#include "vifi/model/weights.h"

namespace vifi {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kLr = 2e-3;

// 3 classes x 4 training videos (12) and x 3 validation videos (9, odd: shards of 5 and 4),
// per-rank micro-batches of 2, a global batch of 4, no mixing (its draws are per rank).
fs::path make_global_batch_run(const fs::path& dir, const std::string& extra_yaml = "") {
  test::SyntheticRun run;
  run.val_per_class = 3;
  run.video_frames = 8;
  run.epochs = 2;
  run.warmup_epochs = 1;
  run.batch_size = 2;
  run.workers = 1;
  run.lr = kLr;
  run.extra_yaml = "  GLOBAL_BATCH: 4\nAUG:\n  MIXUP: 0.0\n" + extra_yaml;
  return test::make_synthetic_run(dir, run);
}

json first_record(const fs::path& metrics) {
  std::ifstream in(metrics);
  std::string line;
  std::getline(in, line);
  return line.empty() ? json{} : json::parse(line);
}

using test::read_text;

json read_json(const fs::path& file) {
  std::ifstream in(file);
  return in ? json::parse(in) : json{};
}

std::string launch(const std::string& command) {
  return "launch --nproc-per-node 2 --master-port " + std::to_string(test::free_port()) + " -- " + command +
         " --threads 1 --dist-timeout 60";
}

TEST(TrainDryRun, PrintsThePlanFromTheListsWithoutOpeningAVideo) {
  const auto dir = test::scratch_dir();
  const auto config = make_global_batch_run(dir).string();
  for (const auto& entry : fs::recursive_directory_iterator(dir / "data"))  // only the lists remain
    if (entry.is_regular_file() && entry.path().extension() != ".txt" && entry.path().extension() != ".csv")
      fs::remove(entry.path());
  std::string log;
  ASSERT_EQ(test::run_vifi("train --dry-run --config " + config, &log), 0) << log;
  EXPECT_NE(log.find("batch plan: 1 rank x 2 clips x accumulation 2 = global batch 4; 12 videos -> 3 updates per "
                     "epoch (6 micro-batches per rank), 6 updates in 2 epochs"),
            std::string::npos)
      << log;
  const auto record = json::parse(log.substr(log.find("{\"type\":\"run\"")));
  EXPECT_EQ(record.at("world_size"), 1);
  EXPECT_EQ(record.at("accumulation_steps"), 2);
  EXPECT_EQ(record.at("total_updates"), 6);
  ASSERT_EQ(test::run_vifi("train --dry-run --world-size 2 --config " + config, &log), 0) << log;
  EXPECT_NE(log.find("2 ranks x 2 clips x accumulation 1 = global batch 4; 12 videos -> 3 updates"), std::string::npos)
      << log;
  // A global batch the world size cannot split names both numbers.
  EXPECT_NE(test::run_vifi("train --dry-run --world-size 3 --config " + config, &log), 0);
  EXPECT_NE(log.find("TRAIN.GLOBAL_BATCH 4 is not a multiple of 3 ranks x TRAIN.BATCH_SIZE 2 = 6"), std::string::npos)
      << log;
  // ACCUMULATION_STEPS is derived once GLOBAL_BATCH is set: setting both is refused, naming the flag.
  EXPECT_NE(test::run_vifi("train --dry-run --accumulation-steps 2 --config " + config, &log), 0);
  EXPECT_NE(log.find("--accumulation-steps: TRAIN.ACCUMULATION_STEPS: must be 1 when TRAIN.GLOBAL_BATCH is set"),
            std::string::npos)
      << log;
  // --global-batch overrides the recipe's.
  ASSERT_EQ(test::run_vifi("train --dry-run --global-batch 8 --config " + config, &log), 0) << log;
  EXPECT_NE(log.find("accumulation 4 = global batch 8; 12 videos -> 1 updates per epoch"), std::string::npos) << log;
}

class GlobalBatchDistributed : public ::testing::Test {
 protected:
  void SetUp() override { test::skip_unless_distributed(); }
};

// The same recipe as 1 process (accumulation 2) and as 2 ranks (accumulation 1): the same plan,
// the same weights after 6 updates, and each run ends with the 1-view and 4x3-view test.
TEST_F(GlobalBatchDistributed, OneProcessAndTwoRanksTrainTheSameUpdates) {
  const auto dir = test::scratch_dir();
  const auto config = make_global_batch_run(dir, "TEST:\n  MULTI_VIEW_INFERENCE: true\n").string();
  std::string log1, log2;
  ASSERT_EQ(test::run_vifi("train --config " + config + " --output " + (dir / "one").string() + " --threads 1", &log1), 0)
      << log1;
  ASSERT_EQ(test::run_vifi(launch("train --config " + config + " --output " + (dir / "two").string()), &log2), 0)
      << log2;
  const auto one = first_record(dir / "one" / "metrics.jsonl");
  const auto two = first_record(dir / "two" / "metrics.jsonl");
  ASSERT_EQ(one.value("type", ""), "run") << one;
  ASSERT_EQ(two.value("type", ""), "run") << two;
  EXPECT_EQ(one.at("world_size"), 1);
  EXPECT_EQ(two.at("world_size"), 2);
  EXPECT_EQ(one.at("accumulation_steps"), 2);
  EXPECT_EQ(two.at("accumulation_steps"), 1);
  for (const char* key : {"global_batch", "steps_per_epoch", "total_updates"}) EXPECT_EQ(one.at(key), two.at(key)) << key;
  EXPECT_EQ(one.at("global_batch"), 4);
  EXPECT_EQ(one.at("total_updates"), 6);
  EXPECT_NE(log2.find("[rank 0] [info] batch plan: 2 ranks x 2 clips x accumulation 1 = global batch 4"),
            std::string::npos)
      << log2;

  const auto a = model::read_vifi_checkpoint_model((dir / "one" / "ckpt_epoch_1.pth").string());
  const auto b = model::read_vifi_checkpoint_model((dir / "two" / "ckpt_epoch_1.pth").string());
  const auto d = test::parameter_diff(a, b);
  std::cout << "max |param(1 process) - param(2 ranks)| = " << d.rest << " (attention key biases " << d.key_biases
            << ")\n";
  EXPECT_LT(d.rest, 1e-5);
  EXPECT_LE(d.key_biases, 2 * kLr * 6);  // rounding noise scaled by Adam, at most ~lr per update
  const auto initial = model::read_vifi_checkpoint_model((dir / "one" / "ckpt_epoch_0.pth").string());
  EXPECT_GT(test::parameter_diff(a, initial).rest, 1e-5);  // the second epoch moved the weights

  // TEST.MULTI_VIEW_INFERENCE: the final model with 1 view and 4 clips x 3 crops, every video once.
  for (const auto& out : {dir / "one", dir / "two"}) {
    SCOPED_TRACE(out.string());
    const auto results = read_json(out / "results.json");
    ASSERT_TRUE(results.contains("runs")) << results;
    EXPECT_EQ(results.at("setting"), "supervised");
    EXPECT_NE(results.at("model").get<std::string>().find("final model"), std::string::npos);
    ASSERT_EQ(results.at("runs").size(), 2u);
    EXPECT_EQ(results.at("runs")[0].at("views"), 1);
    EXPECT_EQ(results.at("runs")[1].at("views"), 12);
    for (const auto& run : results.at("runs")) EXPECT_EQ(run.at("videos"), 9);
    EXPECT_TRUE(results.at("metrics").at("top1_single_view").is_number());
    EXPECT_TRUE(results.at("metrics").at("top1").is_number());
  }
  EXPECT_NE(log1.find("| 12 views | 9 |"), std::string::npos) << log1;
}

// `vifi eval --train` under vifi launch: training sharded over 2 ranks with the recipe's global
// batch, every validation video counted once, and the same top-1 as one process evaluating the
// checkpoint it wrote. `vifi prompt` likewise.
TEST_F(GlobalBatchDistributed, EvalTrainAndPromptRunAcrossRanks) {
  const auto dir = test::scratch_dir();
  const auto config = make_global_batch_run(dir).string();
  std::string log;
  ASSERT_EQ(test::run_vifi(launch("eval --setting fewshot --train --shots 4 --config " + config + " --output " +
                                  (dir / "fewshot").string()),
                           &log),
            0)
      << log;
  const auto plan = first_record(dir / "fewshot" / "train_K4" / "metrics.jsonl");
  EXPECT_EQ(plan.value("world_size", 0), 2) << plan;
  EXPECT_EQ(plan.value("global_batch", 0), 4) << plan;
  const auto fewshot = read_json(dir / "fewshot" / "results.json");
  ASSERT_TRUE(fewshot.contains("runs")) << log;
  EXPECT_EQ(fewshot.at("runs")[0].at("videos"), 9);  // 5 + 4, merged once
  EXPECT_NE(log.find("[rank 1] [info] K4: top-1"), std::string::npos) << log;

  const auto checkpoint = dir / "fewshot" / "train_K4" / "ckpt_epoch_1.pth";
  ASSERT_EQ(test::run_vifi("eval --setting supervised --config " + config + " --weights " + checkpoint.string() +
                               " --output " + (dir / "single").string() + " --threads 1",
                           &log),
            0)
      << log;
  const auto single = read_json(dir / "single" / "results.json");
  EXPECT_EQ(single.at("model"), fs::absolute(checkpoint).string());  // says which checkpoint it tested
  EXPECT_EQ(single.at("runs")[0].at("videos"), 9);
  EXPECT_DOUBLE_EQ(single.at("runs")[0].at("top1").get<double>(), fewshot.at("runs")[0].at("top1").get<double>());
  // Video by video: the same per-class counts, merged over 2 ranks and counted by one process.
  EXPECT_EQ(read_text(dir / "single" / "single_view.per_class.csv"), read_text(dir / "fewshot" / "K4.per_class.csv"));
  EXPECT_EQ(read_text(dir / "single" / "single_view.confusion.csv"), read_text(dir / "fewshot" / "K4.confusion.csv"));
  // `vifi eval` without --train across ranks: the same report as one process, each rank
  // evaluating its half of the list.
  ASSERT_EQ(test::run_vifi(launch("eval --setting supervised --config " + config + " --weights " +
                                  checkpoint.string() + " --output " + (dir / "sharded").string()),
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("[rank 1] [info] single_view: top-1"), std::string::npos) << log;
  for (const char* file : {"single_view.confusion.csv", "multi_view.confusion.csv"})
    EXPECT_EQ(read_text(dir / "sharded" / file), read_text(dir / "single" / file)) << file;
  EXPECT_TRUE(fs::exists(dir / "sharded" / "log_rank1.txt"));  // each rank logs to its own file

  const auto prompt_yaml = dir / "prompt.yaml";
  std::ofstream(prompt_yaml) << "BASE: ['run.yaml']\nTRAINER:\n  ViFi_CLIP:\n    PROMPT_MODEL: true\n"
                             << "    N_CTX_VISION: 2\n    N_CTX_TEXT: 2\n    PROMPT_DEPTH_VISION: 1\n"
                             << "    PROMPT_DEPTH_TEXT: 1\nTRAIN:\n  EPOCHS: 1\n  LR: 1.e-2\n";
  ASSERT_EQ(test::run_vifi(launch("prompt --shots 2 --bench-steps 0 --config " + prompt_yaml.string() + " --output " +
                                  (dir / "prompt").string()),
                           &log),
            0)
      << log;
  EXPECT_EQ(data::load_annotation_list((dir / "prompt" / "train_2_shot.txt").string()).size(), 6u);
  EXPECT_TRUE(fs::exists(dir / "prompt" / "prompts.pth"));
  EXPECT_EQ(first_record(dir / "prompt" / "metrics.jsonl").value("world_size", 0), 2);
  const auto prompted = read_json(dir / "prompt" / "results.json");
  ASSERT_TRUE(prompted.contains("runs")) << log;
  for (const auto& run : prompted.at("runs")) EXPECT_EQ(run.at("videos"), 9) << run.at("name");
}

}  // namespace
}  // namespace vifi

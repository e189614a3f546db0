// `vifi train` and `vifi demo` end to end on real encoded synthetic videos: trains, writes
// checkpoints, metrics and the resolved config, resumes, evaluates, and reports config errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/synthetic_run.h"
#include "support/test_paths.h"
#include "vifi/data/synthetic.h"
#include "vifi/model/weights.h"
#include "vifi/train/checkpoint.h"

namespace vifi {
namespace {

// 3 classes x 4 training / 2 validation videos of 16 frames, and a config for the tiny model.
std::filesystem::path make_mixup_run(const std::filesystem::path& dir) {
  test::SyntheticRun run;
  run.extra_yaml = "AUG:\n  MIXUP: 0.8\n";
  return test::make_synthetic_run(dir, run);
}

int count_lines(const std::filesystem::path& file, const std::string& needle) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

// NaN for a missing or null field (a non-finite value is written as null), so checks fail on those.
double number_or_nan(const nlohmann::json& record, const char* key) {
  return record.contains(key) && record.at(key).is_number() ? record.at(key).get<double>() : std::nan("");
}

// Every line of a run's metrics.jsonl parses as a JSON object with a "type"; train lines carry a
// finite loss, val lines a top-1 in [0, 100]. Returns the number of lines.
int check_metrics_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line); ++n) {
    SCOPED_TRACE(file.string() + ":" + std::to_string(n + 1) + ": " + line);
    nlohmann::json record;
    EXPECT_NO_THROW(record = nlohmann::json::parse(line));
    if (!record.is_object() || !record.contains("type") || !record.at("type").is_string()) {
      ADD_FAILURE() << "not an object with a string \"type\"";
      continue;
    }
    const auto type = record.at("type").get<std::string>();
    if (type == "train") {
      EXPECT_TRUE(std::isfinite(number_or_nan(record, "loss")));
      EXPECT_TRUE(std::isfinite(number_or_nan(record, "lr")));
    } else if (type == "val") {
      const double acc1 = number_or_nan(record, "acc1");
      EXPECT_TRUE(acc1 >= 0.0 && acc1 <= 100.0) << acc1;
    } else if (type == "run") {  // the batch plan opens every (resumed) run
      EXPECT_EQ(n, 0) << "the run record comes first";
      EXPECT_EQ(number_or_nan(record, "global_batch"), number_or_nan(record, "world_size") *
                                                           number_or_nan(record, "batch_size") *
                                                           number_or_nan(record, "accumulation_steps"));
      EXPECT_EQ(number_or_nan(record, "total_updates"),
                number_or_nan(record, "steps_per_epoch") * number_or_nan(record, "epochs"));
    } else {
      ADD_FAILURE() << "unknown type";
    }
  }
  return n;
}

TEST(TrainCommand, TrainsResumesAndEvaluates) {
  const auto dir = test::scratch_dir();
  const auto config = make_mixup_run(dir);
  const auto out = dir / "out";
  std::string log;
  ASSERT_EQ(test::run_vifi("train --config " + config.string() + " --output " + out.string() + " --threads 1", &log), 0)
      << log;
  for (const char* f : {"ckpt_epoch_0.pth", "ckpt_epoch_1.pth", "best.pth", "config.yaml", "log_rank0.txt"})
    EXPECT_TRUE(std::filesystem::exists(out / f)) << f << "\n" << log;
  EXPECT_EQ(count_lines(out / "metrics.jsonl", "\"type\":\"val\""), 2);
  EXPECT_EQ(count_lines(out / "metrics.jsonl", "\"type\":\"train\""), 2 * 3);  // 3 batches per epoch, PRINT_FREQ 1
  EXPECT_EQ(check_metrics_lines(out / "metrics.jsonl"), 1 + 2 + 2 * 3);
  // The same scalars as TensorBoard events (format checked in test_tensorboard): loss, lr, acc1, acc5.
  int event_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out))
    event_files += entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0 && entry.file_size() > 0;
  EXPECT_EQ(event_files, 1);
  EXPECT_NE(log.find("eta "), std::string::npos);
  EXPECT_NE(log.find("frames/s"), std::string::npos);
  EXPECT_EQ(train::read_checkpoint_progress((out / "ckpt_epoch_1.pth").string()).epoch, 2);

  // Resuming from the first epoch runs only the second one, and ends on the same weights as the
  // uninterrupted run (same config, same thread count: optimiser state, schedule, data order and
  // the MIXUP draws all carry over).
  const auto out2 = dir / "out2";
  ASSERT_EQ(test::run_vifi("train --config " + config.string() + " --output " + out2.string() + " --resume " +
                               (out / "ckpt_epoch_0.pth").string() + " --threads 1",
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("resumed from"), std::string::npos);
  EXPECT_EQ(count_lines(out2 / "metrics.jsonl", "\"type\":\"val\""), 1);
  EXPECT_EQ(check_metrics_lines(out2 / "metrics.jsonl"), 1 + 1 + 3);
  const auto straight = model::read_vifi_checkpoint_model((out / "ckpt_epoch_1.pth").string());
  const auto resumed = model::read_vifi_checkpoint_model((out2 / "ckpt_epoch_1.pth").string());
  const auto after_first = model::read_vifi_checkpoint_model((out / "ckpt_epoch_0.pth").string());
  ASSERT_EQ(resumed.size(), straight.size());
  ASSERT_GT(straight.count("visual.conv1.weight"), 0u);
  for (const auto& [name, weight] : straight) {
    ASSERT_TRUE(resumed.count(name)) << name;
    EXPECT_TRUE(torch::allclose(resumed.at(name), weight, 0.0, 1e-6)) << name;
  }
  // The second epoch did train (the comparison above is not between two untouched copies).
  EXPECT_FALSE(torch::equal(straight.at("visual.conv1.weight"), after_first.at("visual.conv1.weight")));

  // --only-test evaluates a checkpoint on DATA.VAL_FILE.
  ASSERT_EQ(test::run_vifi("train --config " + config.string() + " --output " + out2.string() + " --only-test --resume " +
                               (out / "best.pth").string(),
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("test: top-1"), std::string::npos) << log;
  EXPECT_NE(log.find("over 6 videos"), std::string::npos) << log;
}

// No single file ends a run: one unreadable training video among 12 is replaced (within the
// DATA.MIN_BAD_LIMIT floor), one unreadable validation video is reported as not evaluated, and
// the epoch's checkpoint is written.
TEST(TrainCommand, OneBadTrainingAndOneBadValidationVideoDoNotEndTheRun) {
  const auto dir = test::scratch_dir();
  const auto config = make_mixup_run(dir);
  std::string first;
  std::ifstream(dir / "data" / "train.txt") >> first;
  std::filesystem::resize_file(dir / "data" / first, 100);
  std::ofstream(dir / "data" / "notes.avi") << "not a video\n";
  std::ofstream(dir / "data" / "val.txt", std::ios::app) << "notes.avi 0\n";
  const auto out = dir / "out";
  std::string log;
  ASSERT_EQ(test::run_vifi("train --config " + config.string() + " --output " + out.string() +
                               " --threads 1 --opts TRAIN.EPOCHS 1",
                           &log),
            0)
      << log;
  EXPECT_TRUE(std::filesystem::exists(out / "ckpt_epoch_0.pth")) << log;
  EXPECT_NE(log.find((dir / "data" / first).string()), std::string::npos) << log;
  EXPECT_NE(log.find("training samples were replaced (bad videos)"), std::string::npos) << log;
  EXPECT_NE(log.find("epoch 0 validation, not evaluated: " + (dir / "data" / "notes.avi").string()), std::string::npos)
      << log;
  EXPECT_EQ(count_lines(out / "metrics.jsonl", "\"failed\":1"), 1);
  EXPECT_EQ(count_lines(out / "metrics.jsonl", "\"videos\":6"), 1);  // the 6 good ones are counted
}

TEST(TrainCommand, AutoResumePicksTheNewestCheckpointInOutput) {
  const auto dir = test::scratch_dir();
  const auto config = make_mixup_run(dir);
  const auto out = dir / "out";
  std::string log;
  ASSERT_EQ(test::run_vifi("train --config " + config.string() + " --output " + out.string() + " --opts TRAIN.EPOCHS 1",
                           &log),
            0)
      << log;
  ASSERT_EQ(test::run_vifi("train --config " + config.string() + " --output " + out.string() +
                               " --opts TRAIN.AUTO_RESUME True TRAIN.EPOCHS 2",
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("resumed from " + (out / "ckpt_epoch_0.pth").string()), std::string::npos) << log;
  EXPECT_TRUE(std::filesystem::exists(out / "ckpt_epoch_1.pth"));
}

// A real SIGINT while training: the run stops at the next step boundary, writes interrupted.pth
// and exits 130; resuming from it finishes the run.
// The disk fills while the second epoch's checkpoint is written (a 1.5 MB file-size limit, which
// fails writes with EFBIG as a full disk does with ENOSPC): the run ends with one line naming the
// file and the cause, no stack trace, no temporary file, and the first epoch's checkpoint intact.
TEST(TrainCommand, AFullDiskEndsTheRunWithOneLineAndLosesNothingEarlier) {
  const auto dir = test::scratch_dir();
  const auto config = make_mixup_run(dir).string();
  const auto out = dir / "out";
  std::string log;
  ASSERT_EQ(test::run_vifi("train --config " + config + " --output " + out.string() +
                               " --threads 1 --opts TRAIN.EPOCHS 1",
                           &log),
            0)
      << log;
  const auto first = out / "ckpt_epoch_0.pth";
  ASSERT_GT(std::filesystem::file_size(first), 1536u * 1024u) << "the limit must stop an epoch checkpoint";
  const int rc = test::run_shell("ulimit -f 1536; exec " + std::string(VIFI_BINARY) + " train --config " + config +
                                     " --output " + out.string() + " --resume " + first.string() +
                                     " --threads 1 --opts TRAIN.EPOCHS 2",
                                 &log);
  EXPECT_EQ(rc, 1) << log;
  const auto last_line = log.substr(log.rfind('\n', log.size() - 2) + 1);
  EXPECT_EQ(last_line, "vifi: error: " + (out / "ckpt_epoch_1.pth").string() + ": write failed (File too large)\n")
      << log;
  EXPECT_EQ(log.find("terminate called"), std::string::npos) << log;
  EXPECT_EQ(log.find("Exception raised from"), std::string::npos) << log;
  for (const auto& entry : std::filesystem::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  EXPECT_EQ(train::read_checkpoint_progress(first.string()).epoch, 1);
  EXPECT_TRUE(std::filesystem::exists(out / "best.pth"));
}

TEST(TrainCommand, SigintWritesAResumableCheckpoint) {
  const auto dir = test::scratch_dir();
  const auto config = make_mixup_run(dir);
  const auto out = dir / "out";
  const std::string train = std::string(VIFI_BINARY) + " train --config " + config.string() + " --output " +
                            out.string() + " --threads 1 --opts TRAIN.EPOCHS 500 SAVE_FREQ 1000";
  const std::string script = "(" + train + " > " + (dir / "log.txt").string() + " 2>&1 & pid=$!; " +
                             "for i in $(seq 600); do grep -q 'train \\[1/' " + (dir / "log.txt").string() +
                             " && break; sleep 0.05; done; kill -INT $pid; wait $pid; echo rc=$?)";
  std::string output;
  FILE* pipe = popen(script.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[256];
  while (fgets(buf, sizeof buf, pipe)) output += buf;
  pclose(pipe);
  EXPECT_NE(output.find("rc=130"), std::string::npos) << output;
  ASSERT_TRUE(std::filesystem::exists(out / "interrupted.pth"));
  const auto progress = train::read_checkpoint_progress((out / "interrupted.pth").string());
  EXPECT_GE(progress.epoch, 1);
  EXPECT_LT(progress.epoch, 500);
  std::string log;
  ASSERT_EQ(test::run_vifi("train --config " + config.string() + " --output " + out.string() + " --resume " +
                               (out / "interrupted.pth").string() + " --opts TRAIN.EPOCHS " +
                               std::to_string(progress.epoch + 1) + " SAVE_FREQ 1000",
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("resumed from"), std::string::npos) << log;
}

TEST(TrainCommand, ConfigErrorsNameFileAndKey) {
  const auto dir = test::scratch_dir();
  const auto config = make_mixup_run(dir);
  std::string log;
  EXPECT_NE(test::run_vifi("train --config " + config.string() + " --output " + (dir / "o").string() +
                               " --opts DATA.NUM_FRAME 8",
                           &log),
            0);
  EXPECT_NE(log.find("unknown key 'DATA.NUM_FRAME' (did you mean DATA.NUM_FRAMES?)"), std::string::npos) << log;
  EXPECT_NE(test::run_vifi("train --config " + (dir / "missing.yaml").string(), &log), 0);
  EXPECT_NE(log.find("missing.yaml"), std::string::npos) << log;
  EXPECT_NE(test::run_vifi("train --config " + config.string() + " --output " + (dir / "o").string() +
                               " --opts DATA.NUM_CLASSES 5",
                           &log),
            0);
  EXPECT_NE(log.find("labels.csv: has 3 classes but DATA.NUM_CLASSES is 5"), std::string::npos) << log;
}

TEST(DataCheckCommand, ConfigFormChecksTheRunsListsAndNamesBadFiles) {
  const auto dir = test::scratch_dir();
  const auto config = make_mixup_run(dir);
  std::string log;
  ASSERT_EQ(test::run_vifi("data check --config " + config.string(), &log), 0) << log;
  EXPECT_NE(log.find("train.txt: checked 12 videos: 12 ok, 0 bad"), std::string::npos) << log;
  EXPECT_NE(log.find("val.txt: checked 6 videos: 6 ok, 0 bad"), std::string::npos) << log;
  // Truncate one training video to a few bytes: the check fails and names it.
  std::string first;
  std::ifstream(dir / "data" / "train.txt") >> first;
  std::filesystem::resize_file(dir / "data" / first, 100);
  EXPECT_EQ(test::run_vifi("data check --config " + config.string(), &log), 1);
  EXPECT_NE(log.find("BAD " + (dir / "data" / first).string()), std::string::npos) << log;
  EXPECT_NE(log.find("12 videos: 11 ok, 1 bad"), std::string::npos) << log;
}

TEST(BenchLoaderCommand, ConfigFormComparesSparseFullAndTheLoader) {
  const auto dir = test::scratch_dir();
  const auto config = make_mixup_run(dir);
  std::string log;
  ASSERT_EQ(test::run_vifi("bench loader --config " + config.string() + " --frames 8 --repeat 1", &log), 0) << log;
  for (const char* row : {"8       sparse", "8       full", "8       loader"})
    EXPECT_NE(log.find(row), std::string::npos) << row << "\n" << log;
}

TEST(DemoCommand, RunsEndToEndAndPrintsTheTable) {
  const auto dir = test::scratch_dir();
  std::string log;
  ASSERT_EQ(test::run_vifi("demo --out " + dir.string() + " --classes 2 --epochs 1 --threads 1", &log), 0) << log;
  EXPECT_NE(log.find("| chance                       |   50.0 |\n"), std::string::npos) << log;
  EXPECT_NE(log.find("ViFi-CLIP fine-tuned"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "best.pth"));
  EXPECT_TRUE(std::filesystem::exists(dir / "demo.yaml"));
}

}  // namespace
}  // namespace vifi

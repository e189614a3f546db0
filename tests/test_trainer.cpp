// Training loop: learning on a fixed set, exact resume (bitwise on CPU) from epoch boundaries
// and from a Ctrl-C mid-epoch, accumulation, the epoch checkpoint before validation, failed
// validation videos, checkpoint contents and errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <nlohmann/json.hpp>

#include "support/expect_error.h"
#include "support/parameter_diff.h"
#include "support/test_paths.h"
#include "support/tiny_model.h"
#include "vifi/model/weights.h"
#include "vifi/train/checkpoint.h"
#include "vifi/train/losses.h"
#include "vifi/train/optimizer.h"
#include "vifi/train/trainer.h"
#include "vifi/util/interrupt.h"

namespace vifi {
namespace {

using test::kColourClasses;

// Clips whose class is a colour: learnable in a few steps.
using test::colour_clips;

vifi::Config tiny_config(const std::filesystem::path& out, int64_t epochs) {
  vifi::Config c;
  c.model.arch = "vifi-tiny";
  c.data.input_size = 32;
  c.data.num_frames = 2;
  c.data.num_classes = 3;
  c.train.epochs = epochs;
  c.train.warmup_epochs = 1;
  c.train.lr = 1e-3;
  c.train.batch_size = 4;
  c.aug.mixup = 0.8;  // exercise the seeded mixing on resume
  c.aug.label_smooth = 0.1;
  c.output = out.string();
  c.save_freq = 1;
  c.print_freq = 100;
  c.seed = 3;
  return c;
}

std::map<std::string, torch::Tensor> parameters(const model::ViFiCLIP& m) {
  std::map<std::string, torch::Tensor> p;
  for (const auto& kv : m->named_parameters()) p[kv.key()] = kv.value().detach().clone();
  return p;
}

void expect_bitwise_equal(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, v] : a) EXPECT_TRUE(torch::equal(v, b.at(k))) << k;
}

// A TensorBatchSource that hands the given batch of the given epoch to `at_batch` before it goes
// out: a Ctrl-C mid-epoch, a batch that makes the run diverge.
class EventSource : public vifi::TensorBatchSource {
 public:
  EventSource(torch::Tensor v, torch::Tensor l, int64_t bs, uint64_t seed, int64_t epoch, int64_t batch,
              std::function<void(vifi::ClipBatch&)> at_batch)
      : TensorBatchSource(v, l, bs, true, seed), epoch_(epoch), batch_(batch), at_batch_(std::move(at_batch)) {}
  void start_epoch(int64_t epoch, int64_t skip) override {
    current_epoch_ = epoch;
    served_ = skip;
    TensorBatchSource::start_epoch(epoch, skip);
  }
  std::optional<vifi::ClipBatch> next() override {
    auto batch = TensorBatchSource::next();
    if (batch && current_epoch_ == epoch_ && served_ == batch_) at_batch_(*batch);
    ++served_;
    return batch;
  }

 private:
  int64_t epoch_, batch_, current_epoch_ = 0, served_ = 0;
  std::function<void(vifi::ClipBatch&)> at_batch_;
};

// Requests an interrupt when the given batch of the given epoch is handed out (Ctrl-C mid-epoch).
EventSource interrupting_source(torch::Tensor v, torch::Tensor l, int64_t bs, uint64_t seed, int64_t epoch, int64_t batch) {
  return EventSource(std::move(v), std::move(l), bs, seed, epoch, batch, [](vifi::ClipBatch&) { util::request_interrupt(); });
}

TEST(Trainer, LossFallsAndAccuracyBeatsChance) {
  auto dir = test::scratch_dir();
  auto [video, label] = colour_clips(8);
  vifi::TensorBatchSource data(video, label, 4, true, 1);
  vifi::TensorBatchSource val(video.unsqueeze(1), label, 5, false, 0);  // evaluation: [N,V=1,T,...]
  auto config = tiny_config(dir, 6);
  config.aug.mixup = 0;
  std::vector<train::EpochSummary> epochs;
  train::Trainer trainer(config, test::tiny_vificlip(kColourClasses), data, &val,
                         {torch::kCPU, train::Outputs::none, [&](const train::EpochSummary& s) { epochs.push_back(s); }});
  trainer.fit();
  ASSERT_EQ(epochs.size(), 6u);
  EXPECT_LT(epochs.back().mean_loss, 0.5 * epochs.front().mean_loss);
  ASSERT_TRUE(epochs.back().validation);
  EXPECT_EQ(epochs.back().validation->counts.total(), 24);
  EXPECT_GT(epochs.back().validation->counts.top1(), 90.0);  // chance is 33%
  EXPECT_EQ(trainer.progress().optimizer_steps, 6 * 6);
}

TEST(Trainer, AccumulationStepsOncePerGroupIncludingAShortLastGroup) {
  auto [video, label] = colour_clips(3);  // 9 clips, batch 2 -> 5 micro-batches
  vifi::TensorBatchSource data(video, label, 2, true, 1);
  auto config = tiny_config(test::scratch_dir(), 2);
  config.train.accumulation_steps = 2;
  train::Trainer trainer(config, test::tiny_vificlip(kColourClasses), data, nullptr, {torch::kCPU, train::Outputs::none, {}});
  EXPECT_EQ(trainer.steps_per_epoch(), 3);
  trainer.fit();
  EXPECT_EQ(trainer.progress().optimizer_steps, 6);
}

// 5 clips in micro-batches of 2, 2 and 1 with accumulation 3 make one update: its gradient is the
// mean over the 5 clips, as one batch of 5 (weights 2/5, 2/5, 1/5, not 1/3 each as dividing by
// the accumulation would give the 1-clip batch).
TEST(Trainer, AShortMicroBatchWeighsByItsClipsInTheUpdate) {
  auto [video, label] = colour_clips(3);
  video = video.narrow(0, 2, 5);  // 5 clips of all three classes
  label = label.narrow(0, 2, 5);
  auto config = tiny_config(test::scratch_dir(), 2);
  config.aug.mixup = 0;
  config.train.warmup_epochs = 0;
  auto run = [&](int64_t batch, int64_t accumulation) {
    vifi::TensorBatchSource data(video, label, batch, false, 0);
    auto c = config;
    c.train.batch_size = batch;
    c.train.accumulation_steps = accumulation;
    train::Trainer trainer(c, test::tiny_vificlip(kColourClasses), data, nullptr, {torch::kCPU, train::Outputs::none, {}});
    EXPECT_EQ(trainer.steps_per_epoch(), 1);
    trainer.fit();
    return parameters(trainer.model());
  };
  const auto micro = run(2, 3);
  const auto whole = run(5, 1);
  const auto d = test::parameter_diff(micro, whole);
  std::cout << "max |param(2+2+1, accumulation 3) - param(batch 5)| = " << d.rest << "\n";
  EXPECT_LT(d.rest, 1e-5);
  EXPECT_LE(d.key_biases, 2 * 2 * config.train.lr);
  EXPECT_GT(test::parameter_diff(whole, parameters(test::tiny_vificlip(kColourClasses))).rest, 1e-4);  // it trained
}

TEST(Trainer, ResumeFromEpochCheckpointEqualsUninterruptedRun) {
  auto [video, label] = colour_clips(4);
  auto dir_a = test::scratch_dir() / "a";
  vifi::TensorBatchSource data_a(video, label, 4, true, 1);
  train::Trainer a(tiny_config(dir_a, 3), test::tiny_vificlip(kColourClasses, {}, 11), data_a, nullptr,
                   {torch::kCPU, train::Outputs::write, {}});
  a.fit();

  auto dir_b = test::scratch_dir() / "b";
  auto config_b = tiny_config(dir_b, 3);
  {
    auto first = config_b;
    first.train.epochs = 3;
    vifi::TensorBatchSource data(video, label, 4, true, 1);
    util::clear_interrupt();
    train::Trainer b1(first, test::tiny_vificlip(kColourClasses, {}, 11), data, nullptr,
                      {torch::kCPU, train::Outputs::write, [](const train::EpochSummary& s) {
                         if (s.epoch == 0) util::request_interrupt();
                       }});
    EXPECT_THROW(b1.fit(), train::Interrupted);
    util::clear_interrupt();
  }
  vifi::TensorBatchSource data_b(video, label, 4, true, 1);
  // A different initial seed: everything must come from the checkpoint.
  train::Trainer b2(config_b, test::tiny_vificlip(kColourClasses, {}, 99), data_b, nullptr, {torch::kCPU, train::Outputs::write, {}});
  b2.resume((dir_b / "ckpt_epoch_0.pth").string());
  EXPECT_EQ(b2.progress().epoch, 1);
  b2.fit();
  EXPECT_EQ(b2.progress().optimizer_steps, a.progress().optimizer_steps);
  expect_bitwise_equal(parameters(a.model()), parameters(b2.model()));
}

TEST(Trainer, CtrlCMidEpochSavesAResumableCheckpoint) {
  auto [video, label] = colour_clips(4);  // 12 clips, batch 2 -> 6 micro-batches
  auto config = tiny_config(test::scratch_dir() / "a", 2);
  config.train.batch_size = 2;
  config.train.accumulation_steps = 2;
  vifi::TensorBatchSource data_a(video, label, 2, true, 5);
  train::Trainer a(config, test::tiny_vificlip(kColourClasses, {}, 4), data_a, nullptr, {torch::kCPU, train::Outputs::none, {}});
  a.fit();

  auto dir = test::scratch_dir() / "b";
  config.output = dir.string();
  util::clear_interrupt();
  std::string checkpoint;
  {
    auto data = interrupting_source(video, label, 2, 5, /*epoch=*/1, /*batch=*/1);
    train::Trainer b1(config, test::tiny_vificlip(kColourClasses, {}, 4), data, nullptr, {torch::kCPU, train::Outputs::write, {}});
    try {
      b1.fit();
      FAIL() << "expected Interrupted";
    } catch (const train::Interrupted& e) {
      checkpoint = e.checkpoint_path;
    }
  }
  util::clear_interrupt();
  // The flag is honoured only at accumulation-group boundaries: batch 2 of epoch 1.
  auto progress = train::read_checkpoint_progress(checkpoint);
  EXPECT_EQ(progress.epoch, 1);
  EXPECT_EQ(progress.step_in_epoch, 2);
  vifi::TensorBatchSource data_b(video, label, 2, true, 5);
  train::Trainer b2(config, test::tiny_vificlip(kColourClasses, {}, 8), data_b, nullptr, {torch::kCPU, train::Outputs::none, {}});
  b2.resume(checkpoint);
  b2.fit();
  expect_bitwise_equal(parameters(a.model()), parameters(b2.model()));
}

// A mid-epoch checkpoint counts micro-batches of its own split of the global batch; resuming with
// another split of the same global batch (another world size, or --batch-size) continues at the
// same update, and a different global batch is refused.
TEST(Trainer, AMidEpochCheckpointResumesWithAnotherSplitOfTheSameGlobalBatch) {
  auto [video, label] = colour_clips(4);  // 12 clips: 3 updates of 4 per epoch
  auto config = tiny_config(test::scratch_dir() / "a", 2);
  config.aug.mixup = 0;  // mixing pairs clips within a micro-batch, which the split changes
  config.train.global_batch = 4;
  auto whole = config;
  whole.train.batch_size = 4;  // accumulation 1
  vifi::TensorBatchSource data_a(video, label, 4, true, 5);
  train::Trainer a(whole, test::tiny_vificlip(kColourClasses, {}, 4), data_a, nullptr, {torch::kCPU, train::Outputs::none, {}});
  a.fit();

  auto halves = config;
  halves.train.batch_size = 2;  // accumulation 2
  halves.output = (test::scratch_dir() / "b").string();
  util::clear_interrupt();
  std::string checkpoint;
  {
    auto data = interrupting_source(video, label, 2, 5, /*epoch=*/1, /*batch=*/1);
    train::Trainer b1(halves, test::tiny_vificlip(kColourClasses, {}, 4), data, nullptr, {torch::kCPU, train::Outputs::write, {}});
    EXPECT_EQ(b1.accumulation_steps(), 2);
    EXPECT_THROW(b1.fit(), train::Interrupted);
    checkpoint = (std::filesystem::path(halves.output) / "interrupted.pth").string();
  }
  util::clear_interrupt();
  const auto saved = train::read_checkpoint_progress(checkpoint);
  EXPECT_EQ(saved.step_in_epoch, 2);  // one update of two micro-batches
  EXPECT_EQ(saved.accumulation_steps, 2);
  EXPECT_EQ(saved.global_batch, 4);
  vifi::TensorBatchSource data_b(video, label, 4, true, 5);
  train::Trainer b2(whole, test::tiny_vificlip(kColourClasses, {}, 8), data_b, nullptr, {torch::kCPU, train::Outputs::none, {}});
  b2.resume(checkpoint);
  EXPECT_EQ(b2.progress().step_in_epoch, 1);  // the same update, in micro-batches of 4
  b2.fit();
  const auto d = test::parameter_diff(parameters(a.model()), parameters(b2.model()));
  EXPECT_LT(d.rest, 1e-5);
  EXPECT_EQ(b2.progress().optimizer_steps, 6);

  auto other = whole;
  other.train.global_batch = 8;
  vifi::TensorBatchSource data_c(video, label, 4, true, 5);
  train::Trainer c(other, test::tiny_vificlip(kColourClasses, {}, 8), data_c, nullptr, {torch::kCPU, train::Outputs::none, {}});
  test::expect_error<std::runtime_error>([&] { c.resume(checkpoint); },
                                         {checkpoint, "global batch of 4 clips; this run's is 8"});
}

// Validation whose source throws as a whole (out of memory, a lost rank): the run fails, but only
// after the epoch's checkpoint is on disk.
class ThrowingSource : public vifi::TensorBatchSource {
 public:
  using TensorBatchSource::TensorBatchSource;
  std::optional<vifi::ClipBatch> next() override { throw std::runtime_error("validation source broke"); }
};

// Validation that cannot load one video, listed in the first batch as data/loader lists it.
class OneFailedVideoSource : public vifi::TensorBatchSource {
 public:
  using TensorBatchSource::TensorBatchSource;
  void start_epoch(int64_t epoch, int64_t skip) override {
    first_ = true;
    TensorBatchSource::start_epoch(epoch, skip);
  }
  std::optional<vifi::ClipBatch> next() override {
    auto batch = TensorBatchSource::next();
    if (batch && first_) batch->failed.push_back({99, "/data/broken.mp4", "/data/broken.mp4: cannot open: Invalid data"});
    first_ = false;
    return batch;
  }

 private:
  bool first_ = true;
};

TEST(Trainer, EpochCheckpointIsWrittenBeforeValidationStarts) {
  auto dir = test::scratch_dir();
  auto [video, label] = colour_clips(2);
  vifi::TensorBatchSource data(video, label, 3, true, 1);
  ThrowingSource val(video.unsqueeze(1), label, 3, false, 0);
  train::Trainer trainer(tiny_config(dir, 2), test::tiny_vificlip(kColourClasses), data, &val,
                         {torch::kCPU, train::Outputs::write, {}});
  EXPECT_THROW(trainer.fit(), std::runtime_error);
  ASSERT_TRUE(std::filesystem::exists(dir / "ckpt_epoch_0.pth"));
  const auto saved = train::read_checkpoint_progress((dir / "ckpt_epoch_0.pth").string());
  EXPECT_EQ(saved.epoch, 1);  // resuming continues with the next epoch: the training is kept
  EXPECT_EQ(saved.step_in_epoch, 0);
  EXPECT_EQ(saved.optimizer_steps, 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "best.pth"));
}

TEST(Trainer, ValidationListsVideosItCouldNotLoadAndGoesOn) {
  auto dir = test::scratch_dir();
  auto [video, label] = colour_clips(2);
  vifi::TensorBatchSource data(video, label, 3, true, 1);
  OneFailedVideoSource val(video.unsqueeze(1), label, 4, false, 0);
  std::vector<train::EpochSummary> epochs;
  train::Trainer trainer(tiny_config(dir, 2), test::tiny_vificlip(kColourClasses), data, &val,
                         {torch::kCPU, train::Outputs::write, [&](const train::EpochSummary& s) { epochs.push_back(s); }});
  testing::internal::CaptureStderr();  // without a sink, util/logging writes there
  trainer.fit();
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_EQ(epochs.size(), 2u);
  for (const auto& epoch : epochs) {
    ASSERT_TRUE(epoch.validation);
    EXPECT_EQ(epoch.validation->counts.total(), 6);
    ASSERT_EQ(epoch.validation->failed.size(), 1u);
    EXPECT_EQ(epoch.validation->failed[0].path, "/data/broken.mp4");
  }
  // Named in every epoch's log, not only the first time the loader meets it.
  for (const char* epoch : {"epoch 0", "epoch 1"}) {
    EXPECT_NE(log.find(std::string(epoch) + " validation, not evaluated: /data/broken.mp4: cannot open"),
              std::string::npos)
        << log;
  }
  std::vector<int64_t> failed_per_val_line;
  std::ifstream metrics(dir / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record.at("type") == "val") failed_per_val_line.push_back(record.at("failed").get<int64_t>());
  }
  EXPECT_EQ(failed_per_val_line, (std::vector<int64_t>{1, 1}));
  for (const char* f : {"ckpt_epoch_0.pth", "ckpt_epoch_1.pth", "best.pth"}) EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  // best.pth: the weights and the best top-1, no optimiser state (evaluation, not resuming).
  EXPECT_DOUBLE_EQ(train::read_checkpoint_progress((dir / "best.pth").string()).best_acc1, trainer.progress().best_acc1);
  // (The tiny model is mostly its frozen token embedding; for ViT-B/16 the optimiser state left
  // out is two thirds of an epoch checkpoint.)
  EXPECT_LT(std::filesystem::file_size(dir / "best.pth"), std::filesystem::file_size(dir / "ckpt_epoch_1.pth"));
  vifi::TensorBatchSource again(video, label, 3, true, 1);
  auto config = tiny_config(dir, 2);
  train::Trainer resumed(config, test::tiny_vificlip(kColourClasses), again, &val, {torch::kCPU, train::Outputs::none, {}});
  test::expect_error<std::runtime_error>([&] { resumed.resume((dir / "best.pth").string()); },
                                         {"best.pth", "no optimiser state"});
  // The epoch checkpoint went out before its validation, with the best top-1 before it; resuming
  // from it takes the best so far from OUTPUT/best.pth, so no worse epoch replaces best.pth.
  EXPECT_DOUBLE_EQ(train::read_checkpoint_progress((dir / "ckpt_epoch_0.pth").string()).best_acc1, 0.0);
  resumed.resume((dir / "ckpt_epoch_0.pth").string());
  EXPECT_DOUBLE_EQ(resumed.progress().best_acc1, trainer.progress().best_acc1);
}

// TRAIN.KEEP_CHECKPOINTS 2: after 4 epochs only epochs 2 and 3 are on disk, next to best.pth.
TEST(Trainer, KeepCheckpointsKeepsTheNewestEpochFiles) {
  auto dir = test::scratch_dir();
  auto [video, label] = colour_clips(2);
  vifi::TensorBatchSource data(video, label, 3, true, 1);
  vifi::TensorBatchSource val(video.unsqueeze(1), label, 6, false, 0);
  auto config = tiny_config(dir, 4);
  config.train.keep_checkpoints = 2;
  std::ofstream(dir / "ckpt_epoch_notes.pth") << "not a checkpoint of this run";  // not an epoch number: kept
  // Digits beyond int64 once ended the run at its first prune (std::stoll's out_of_range): kept too.
  std::ofstream(dir / "ckpt_epoch_99999999999999999999.pth") << "a stray file";
  train::Trainer trainer(config, test::tiny_vificlip(kColourClasses), data, &val, {torch::kCPU, train::Outputs::write, {}});
  trainer.fit();
  std::set<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".pth") files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"best.pth", "ckpt_epoch_2.pth", "ckpt_epoch_3.pth", "ckpt_epoch_notes.pth",
                                          "ckpt_epoch_99999999999999999999.pth"}));
  EXPECT_EQ(train::prune_epoch_checkpoints(dir.string(), 0), std::vector<std::string>{});  // 0: keep all
}

TEST(Trainer, ADivergedRunStopsWithoutSavingItsEpoch) {
  auto dir = test::scratch_dir();
  auto [video, label] = colour_clips(4);  // 12 clips: 3 batches of 4 per epoch
  // Epoch 1's second batch is NaN pixels: one non-finite loss makes every weight NaN at the update.
  EventSource data(video, label, 4, 1, /*epoch=*/1, /*batch=*/1, [](vifi::ClipBatch& batch) {
    batch.video = torch::full_like(batch.video, std::numeric_limits<float>::quiet_NaN());
  });
  vifi::TensorBatchSource val(video.unsqueeze(1), label, 6, false, 0);
  auto config = tiny_config(dir, 4);
  config.train.keep_checkpoints = 1;  // a run that went on would have replaced epoch 0's file
  std::vector<train::EpochSummary> epochs;
  train::Trainer trainer(config, test::tiny_vificlip(kColourClasses), data, &val,
                         {torch::kCPU, train::Outputs::write, [&](const train::EpochSummary& s) { epochs.push_back(s); }});
  // The epoch's last step (3 of 3) is a progress point, checked before the epoch is saved.
  test::expect_error<train::Diverged>([&] { trainer.fit(); },
                                      {"training diverged: the loss is no longer finite (mean of epoch 1 so far: nan",
                                       "step 3 of 3"});
  ASSERT_EQ(epochs.size(), 1u);  // epoch 0 ended; epoch 1 never reached end_epoch
  EXPECT_TRUE(std::isfinite(epochs[0].mean_loss));
  std::set<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".pth") files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"best.pth", "ckpt_epoch_0.pth"}));
  // What was saved is epoch 0's finite model.
  auto saved = test::tiny_vificlip(kColourClasses);
  train::load_checkpoint((dir / "ckpt_epoch_0.pth").string(), *saved, nullptr);
  for (const auto& p : saved->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
}

TEST(Checkpoint, HoldsModelProgressAndConfig) {
  auto dir = test::scratch_dir();
  auto m = test::tiny_vificlip(kColourClasses);
  train::TrainingProgress p;
  p.epoch = 4;
  p.step_in_epoch = 0;
  p.optimizer_steps = 40;
  p.best_acc1 = 81.5;
  p.config_yaml = "TRAIN:\n  EPOCHS: 10\n";
  const auto path = (dir / "ckpt.pth").string();
  train::save_checkpoint(path, *m, nullptr, p);
  EXPECT_TRUE(model::is_vifi_checkpoint(path));
  auto back = train::read_checkpoint_progress(path);
  EXPECT_EQ(back.epoch, 4);
  EXPECT_EQ(back.optimizer_steps, 40);
  EXPECT_DOUBLE_EQ(back.best_acc1, 81.5);
  EXPECT_EQ(back.config_yaml, p.config_yaml);
  auto state = model::read_vifi_checkpoint_model(path);
  EXPECT_TRUE(torch::equal(state.at("visual.proj"), m->clip()->visual->proj));
  EXPECT_TRUE(state.count("token_embedding.weight"));
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

// A full disk, simulated with a file-size limit (writes then fail with EFBIG, as with ENOSPC):
// the save throws one error naming the file and the cause, LibTorch's writer never terminates the
// process, no temporary file stays, and the checkpoint already at that path is intact.
TEST(Checkpoint, AFailedWriteNamesTheFileRemovesTheTemporaryAndKeepsTheOldFile) {
  auto dir = test::scratch_dir();
  auto m = test::tiny_vificlip(kColourClasses);
  const auto path = (dir / "ckpt_epoch_0.pth").string();
  train::TrainingProgress first;
  first.epoch = 1;
  train::save_checkpoint(path, *m, nullptr, first);
  const auto size = std::filesystem::file_size(path);

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  rlimit limited = saved;
  limited.rlim_cur = static_cast<rlim_t>(size / 2);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  train::TrainingProgress second;
  second.epoch = 2;
  std::string message;
  try {
    train::save_checkpoint(path, *m, nullptr, second);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(message, path + ": write failed (File too large)");
  EXPECT_EQ(train::read_checkpoint_progress(path).epoch, 1);  // the earlier file, whole
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);  // no ckpt_epoch_0.pth.tmp.<pid>
}

TEST(Checkpoint, ErrorsNameTheFile) {
  auto dir = test::scratch_dir();
  const auto missing = (dir / "none.pth").string();
  try {
    train::read_checkpoint_progress(missing);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": checkpoint not found");
  }
  auto m = test::tiny_vificlip(kColourClasses);
  train::save_checkpoint((dir / "model_only.pth").string(), *m, nullptr, {});
  vifi::TrainConfig tc;
  auto opt = train::make_adamw(train::trainable_parameters(*m), tc);
  try {
    train::load_checkpoint((dir / "model_only.pth").string(), *m, opt.get());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no optimiser state"), std::string::npos) << e.what();
  }
}

TEST(VideoLoss, PerFrameLogitsRepeatTheClipTarget) {
  auto logits = torch::randn({2, 3, 4});
  auto labels = torch::tensor({1, 3});
  auto loss = train::video_loss(logits, labels, 0.0);
  auto manual = torch::nn::functional::cross_entropy(logits.flatten(0, 1), torch::tensor({1, 1, 1, 3, 3, 3}));
  EXPECT_TRUE(torch::allclose(loss, manual));
}

}  // namespace
}  // namespace vifi

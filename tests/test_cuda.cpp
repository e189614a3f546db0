// CUDA variants of the core tests, skipped (not failed) where no GPU is visible: CLIP on CUDA
// fp32 against the CPU result, bf16 autocast within a stated tolerance, the trainer learning on
// CUDA (multi-tensor AdamW, autocast, the prefetcher, a checkpoint resumed), prompt learning on
// CUDA, the prefetcher's pinned non-blocking copies, the evaluator with views. On a GPU machine
// tools/gpu-check.sh runs them (ctest -L core); the CPU-only CI builds them and sees them skip.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "support/parameter_diff.h"
#include "support/ranks.h"
#include "support/test_paths.h"
#include "support/tiny_model.h"
#include "vifi/batch/device_prefetcher.h"
#include "vifi/clip/clip.h"
#include "vifi/dist/process_group.h"
#include "vifi/eval/evaluator.h"
#include "vifi/train/losses.h"
#include "vifi/train/mixed_precision.h"
#include "vifi/train/optimizer.h"
#include "vifi/train/trainer.h"

namespace vifi {
namespace {

using test::kColourClasses;
const torch::Device kCuda(torch::kCUDA, 0);

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
    // Parity is against fp32 on the CPU: TF32 (cuDNN's default for convolutions) would not be.
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
};

using test::colour_clips;  // clips whose class is a colour: learnable in a few steps

double max_relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got.cpu().to(torch::kFloat64) - want.cpu().to(torch::kFloat64)).abs().max() /
          want.cpu().to(torch::kFloat64).abs().max())
      .item<double>();
}

// The tiny model in fp32, no mixing; tests change what they exercise.
vifi::Config tiny_config(int64_t epochs) {
  vifi::Config c;
  c.model.arch = "vifi-tiny";
  c.data.input_size = 32;
  c.data.num_frames = 2;
  c.data.num_classes = 3;
  c.train.epochs = epochs;
  c.train.warmup_epochs = 0;
  c.train.lr = 1e-4;
  c.train.opt_level = OptLevel::O0;  // fp32: the comparison is about the reduction, not rounding
  c.aug.mixup = 0;                   // mixing pairs clips within a batch: 2 x b cannot pair like 1 x 2b
  c.aug.label_smooth = 0.1;
  c.print_freq = 1000;
  c.seed = 3;
  return c;
}

// ViT-B/16 (random weights, the real shapes) on CUDA fp32 against the same model on the CPU.
TEST_F(Cuda, ClipViTB16Fp32MatchesTheCpu) {
  torch::manual_seed(0);
  clip::CLIP model(clip::clip_config_preset("ViT-B/16"));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({2, 3, 224, 224});
  auto tokens = torch::zeros({2, 77}, torch::kLong);
  tokens.index_put_({0, torch::indexing::Slice(0, 4)}, torch::tensor({49406, 320, 1125, 49407}));
  tokens.index_put_({1, torch::indexing::Slice(0, 3)}, torch::tensor({49406, 1929, 49407}));
  const auto cpu_image = model->encode_image(images);
  const auto cpu_text = model->encode_text(tokens);
  model->to(kCuda);
  const auto cuda_image = model->encode_image(images.to(kCuda));
  // GPU tokens run as given (no host sync): both the full and the host-trimmed context.
  const auto cuda_text_full = model->encode_text(tokens.to(kCuda));
  const auto cuda_text_trimmed = model->encode_text(clip::trim_context(tokens).to(kCuda));
  ASSERT_TRUE(cuda_image.is_cuda());
  EXPECT_LT(max_relative_error(cuda_image, cpu_image), 1e-4);
  EXPECT_LT(max_relative_error(cuda_text_full, cpu_text), 1e-4);
  EXPECT_LT(max_relative_error(cuda_text_trimmed, cpu_text), 1e-4);
}

// bf16 autocast: 8 mantissa bits through 12 blocks. Stated tolerance: every embedding within 3%
// relative L2 of fp32 and a cosine above 0.999 (measured on the device; see docs/performance.md).
TEST_F(Cuda, ClipViTB16Bf16AutocastStaysCloseToFp32) {
  torch::manual_seed(0);
  clip::CLIP model(clip::clip_config_preset("ViT-B/16"));
  model->eval();
  model->to(kCuda);
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({4, 3, 224, 224}).to(kCuda);
  const auto fp32 = model->encode_image(images);
  torch::Tensor bf16;
  {
    train::AutocastGuard autocast(kCuda, torch::kBFloat16);
    bf16 = model->encode_image(images).to(torch::kFloat32);
  }
  const auto rel = ((bf16 - fp32).norm(2, -1) / fp32.norm(2, -1)).max().item<double>();
  const auto cosine = torch::cosine_similarity(bf16, fp32, -1).min().item<double>();
  std::cout << "bf16 vs fp32: max relative L2 " << rel << ", min cosine " << cosine << "\n";
  EXPECT_LT(rel, 3e-2);
  EXPECT_GT(cosine, 0.999);
}

// The real Trainer on CUDA with bf16 autocast: learns, no NaN, and the multi-tensor AdamW runs
// its fused kernel where LibTorch has one. A resume from the epoch checkpoint continues like the
// uninterrupted run within bf16 tolerance.
TEST_F(Cuda, TrainerLearnsWithAutocastAndResumes) {
  auto [video, label] = colour_clips(8);
  auto config = [](const std::filesystem::path& out, int64_t epochs) {
    vifi::Config c = tiny_config(epochs);
    c.train.warmup_epochs = 1;
    c.train.lr = 1e-3;
    c.train.batch_size = 4;
    c.train.opt_level = OptLevel::O1;  // bf16 autocast on CUDA
    c.output = out.string();
    c.save_freq = 1;
    return c;
  };
  const auto full_dir = test::scratch_dir();
  vifi::TensorBatchSource data(video, label, 4, true, 1);
  vifi::TensorBatchSource val(video.unsqueeze(1), label, 5, false, 0);
  std::vector<train::EpochSummary> epochs;
  auto model = test::tiny_vificlip(kColourClasses);
  model->to(kCuda);
  train::Trainer trainer(config(full_dir, 6), model, data, &val,
                         {kCuda, train::Outputs::write, [&](const train::EpochSummary& s) { epochs.push_back(s); }});
  trainer.fit();
  ASSERT_EQ(epochs.size(), 6u);
  for (const auto& e : epochs) EXPECT_TRUE(std::isfinite(e.mean_loss)) << "epoch " << e.epoch;
  EXPECT_LT(epochs.back().mean_loss, 0.5 * epochs.front().mean_loss);
  ASSERT_TRUE(epochs.back().validation);
  EXPECT_GT(epochs.back().validation->counts.top1(), 90.0);
  const auto* adamw = dynamic_cast<train::MultiTensorAdamW*>(&trainer.optimizer());
  ASSERT_NE(adamw, nullptr);
  EXPECT_EQ(adamw->last_kernel(), train::MultiTensorAdamW::fused_available() ? train::MultiTensorAdamW::Kernel::fused
                                                                              : train::MultiTensorAdamW::Kernel::foreach);

  // Resume from epoch 3's checkpoint in a fresh trainer and finish: same weights within bf16.
  auto resumed_model = test::tiny_vificlip(kColourClasses, {}, 5);
  resumed_model->to(kCuda);
  vifi::TensorBatchSource data2(video, label, 4, true, 1);
  train::Trainer resumed(config(full_dir, 6), resumed_model, data2, nullptr, {kCuda, train::Outputs::none, {}});
  resumed.resume((full_dir / "ckpt_epoch_2.pth").string());
  resumed.fit();
  // Mean |difference| per parameter tensor: against the uninterrupted run, and (the scale that
  // says the resume loaded anything) against the weights the resumed model started from.
  const auto mean_difference = [&](model::ViFiCLIP& other) {
    double sum = 0;
    int64_t n = 0;
    auto theirs = other->named_parameters();
    for (const auto& kv : trainer.model()->named_parameters()) {
      sum += (kv.value().detach().cpu() - theirs[kv.key()].detach().cpu()).abs().mean().item<double>();
      ++n;
    }
    return sum / static_cast<double>(n);
  };
  auto fresh = test::tiny_vificlip(kColourClasses, {}, 5);
  const double resumed_diff = mean_difference(resumed.model());
  const double fresh_diff = mean_difference(fresh);
  std::cout << "mean |param difference|: resumed vs uninterrupted " << resumed_diff << ", fresh vs uninterrupted "
            << fresh_diff << "\n";
  EXPECT_LT(resumed_diff, 1e-3);
  EXPECT_LT(resumed_diff, fresh_diff / 20);
}

TEST_F(Cuda, PromptLearningOnCudaBeatsTheFrozenModel) {
  model::ViFiCLIPOptions o;
  o.prompt.enabled = true;
  o.prompt.n_ctx_vision = 4;
  o.prompt.n_ctx_text = 4;
  o.prompt.depth_vision = 2;
  o.prompt.depth_text = 2;
  auto plain = test::tiny_vificlip(kColourClasses);
  auto m = test::tiny_vificlip(kColourClasses, o);
  plain->to(kCuda);
  m->to(kCuda);
  const auto [train_video, train_labels] = colour_clips(8);
  const auto [val_video, val_labels] = colour_clips(8, 8);
  const auto accuracy = [&](model::ViFiCLIP& net) {
    torch::NoGradGuard no_grad;
    net->eval();
    return net->forward(val_video.to(kCuda)).argmax(1).cpu().eq(val_labels).to(torch::kFloat).mean().item<double>();
  };
  const double frozen = accuracy(plain);
  vifi::TrainConfig tc;
  tc.lr = 5e-2;
  auto optimizer = train::make_adamw(train::trainable_parameters(*m), tc);
  const auto x = train_video.to(kCuda), y = train_labels.to(kCuda);
  for (int step = 0; step < 60; ++step) {
    m->train();
    optimizer->zero_grad();
    train::classification_loss(m->forward(x), y, 0.0).backward();
    optimizer->step();
  }
  const double learned = accuracy(m);
  EXPECT_GT(learned, frozen + 0.3) << "frozen " << frozen << ", prompted " << learned;
}

// Pinned host memory and non-blocking copies: every batch arrives whole, on the device, in order.
TEST_F(Cuda, PrefetcherDeliversTheSourceBatchesOnTheDeviceInOrder) {
  torch::manual_seed(0);
  const auto video = torch::randn({9, 2, 3, 64, 64});
  const auto label = torch::arange(9);
  vifi::TensorBatchSource reference(video, label, 2, true, 11);
  vifi::TensorBatchSource source(video, label, 2, true, 11);
  vifi::DevicePrefetcher prefetcher(source, kCuda);
  reference.start_epoch(4, 0);
  prefetcher.start_epoch(4);
  int batches = 0;
  while (auto got = prefetcher.next()) {
    const auto want = reference.next();
    ASSERT_TRUE(want);
    EXPECT_TRUE(got->video.is_cuda());
    EXPECT_TRUE(got->label.is_cuda());
    EXPECT_TRUE(torch::equal(got->video.cpu(), want->video)) << "batch " << batches;
    EXPECT_TRUE(torch::equal(got->label.cpu(), want->label)) << "batch " << batches;
    EXPECT_EQ(got->index, want->index);
    ++batches;
  }
  EXPECT_EQ(batches, 5);
  EXPECT_FALSE(reference.next());
}

// Two views per video: the CUDA evaluation counts what the CPU counts, and agrees on the logits.
TEST_F(Cuda, EvaluatorWithViewsMatchesTheCpu) {
  auto [video, label] = colour_clips(6);
  const auto views = torch::stack({video, video.flip(-1)}, 1);  // [N,V=2,T,3,H,W]
  auto m = test::tiny_vificlip(kColourClasses, {}, 3);
  vifi::TensorBatchSource cpu_source(views, label, 4, false, 0);
  const auto on_cpu = eval::evaluate(m, cpu_source, {torch::kCPU, {}, nullptr});
  m->to(kCuda);
  vifi::TensorBatchSource cuda_source(views, label, 4, false, 0);
  const auto on_cuda = eval::evaluate(m, cuda_source, {kCuda, {}, nullptr});
  EXPECT_EQ(on_cuda.num_views, 2);
  EXPECT_EQ(on_cuda.counts.total(), 18);
  EXPECT_DOUBLE_EQ(on_cuda.counts.top1(), on_cpu.counts.top1());
  EXPECT_DOUBLE_EQ(on_cuda.counts.top5(), on_cpu.counts.top5());
}

test::NamedTensors cpu_parameters(train::Trainer& trainer) {
  test::NamedTensors p;
  for (const auto& kv : trainer.model()->named_parameters()) p[kv.key()] = kv.value().detach().cpu().clone();
  return p;
}

// NCCL refuses two ranks on one GPU, so the data-parallel path is proven on the device with Gloo
// carrying CUDA gradients: 2 ranks x batch 2 give the weights of 1 rank x batch 4.
TEST_F(Cuda, TwoGlooRanksOnOneGpuTrainLikeOneRankOfTwiceTheBatch) {
  test::skip_unless_distributed();
  if (IsSkipped()) return;
  const auto config = tiny_config(1);
  auto [video, label] = colour_clips(4);  // 12 clips
  vifi::TensorBatchSource all(video, label, 4, false, 0);
  auto single_model = test::tiny_vificlip(kColourClasses);
  train::Trainer single(config, single_model, all, nullptr, {kCuda, train::Outputs::none, {}});
  single.fit();
  const auto one_rank = cpu_parameters(single);

  std::vector<test::NamedTensors> ranks(2);
  std::vector<std::string> backends(2);
  std::vector<model::ViFiCLIP> models = {test::tiny_vificlip(kColourClasses, {}, 0), test::tiny_vificlip(kColourClasses, {}, 99)};
  test::run_ranks(
      2,
      [&](int rank, const std::shared_ptr<dist::ProcessGroup>& g) {
        // Rank r takes the r-th half of each batch of 4.
        std::vector<int64_t> idx;
        for (int64_t start = 0; start < 12; start += 4)
          for (int64_t i = start + 2 * rank; i < start + 2 * rank + 2; ++i) idx.push_back(i);
        const auto t = torch::tensor(idx, torch::kLong);
        vifi::TensorBatchSource half(video.index_select(0, t), label.index_select(0, t), 2, false, 0);
        train::TrainerOptions options;
        options.device = kCuda;
        options.outputs = train::Outputs::none;
        options.process_group = g;
        train::Trainer trainer(config, models[static_cast<size_t>(rank)], half, nullptr, options);
        trainer.fit();
        ranks[static_cast<size_t>(rank)] = cpu_parameters(trainer);
        backends[static_cast<size_t>(rank)] = g->backend_name();
      },
      std::chrono::seconds(120), kCuda, dist::BackendChoice::gloo);
  EXPECT_EQ(backends[0], "gloo");
  const auto d = test::parameter_diff(ranks[0], one_rank);
  std::cout << "2 Gloo ranks on one GPU vs 1 rank: max |param difference| " << d.rest << "\n";
  EXPECT_LT(d.rest, 1e-5);
  EXPECT_LE(d.key_biases, 2 * config.train.lr * 3);
  for (const auto& [name, value] : ranks[0]) EXPECT_TRUE(torch::equal(value, ranks[1].at(name))) << name;
}

// NCCL, where LibTorch has it: a one-rank group on the GPU trains through the NCCL backend.
TEST_F(Cuda, OneNcclRankTrains) {
  test::skip_unless_distributed();
  if (IsSkipped()) return;
  auto [video, label] = colour_clips(4);
  std::string backend;
  std::vector<train::EpochSummary> epochs;
  test::run_ranks(
      1,
      [&](int, const std::shared_ptr<dist::ProcessGroup>& g) {
        backend = g->backend_name();
        vifi::TensorBatchSource data(video, label, 4, true, 1);
        train::TrainerOptions options;
        options.device = kCuda;
        options.outputs = train::Outputs::none;
        options.process_group = g;
        options.on_epoch_end = [&](const train::EpochSummary& s) { epochs.push_back(s); };
        auto config = tiny_config(6);
        config.train.lr = 1e-3;
        train::Trainer trainer(config, test::tiny_vificlip(kColourClasses), data, nullptr, options);
        trainer.fit();
      },
      std::chrono::seconds(120), kCuda);
  if (backend != "nccl") GTEST_SKIP() << "this LibTorch has no NCCL (backend " << backend << ")";
  ASSERT_EQ(epochs.size(), 6u);
  EXPECT_LT(epochs.back().mean_loss, 0.7 * epochs.front().mean_loss);
}

}  // namespace
}  // namespace vifi

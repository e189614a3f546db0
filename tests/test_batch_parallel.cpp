// Batch parallelism across cores (util/batch_parallel): the split forward and backward equal
// the unsplit ones on a tiny CLIP, gradients are reproducible bit for bit, and the process's
// thread settings come back, also after an exception.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "support/tiny_model.h"
#include "vifi/util/batch_parallel.h"

namespace vifi {
namespace {

// Restores the test process's single intra-op thread (test_main.cpp) after each case.
class BatchParallel : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(2); }
  void TearDown() override { torch::set_num_threads(1); }
};

clip::CLIP tiny_clip(uint64_t seed = 0) {
  torch::manual_seed(seed);
  return clip::CLIP(test::tiny_clip_config());
}

torch::Tensor images(int64_t n) {
  torch::manual_seed(7);
  return torch::randn({n, 3, 32, 32});
}

torch::Tensor tokens() {
  const auto& tok = *test::shared_tokenizer();
  return tok.tokenize({"a photo of a dog.", "a cat", "a photo of a person playing the guitar.", "x"});
}

// Loss through both towers; returns every parameter's gradient in named_parameters order.
std::vector<torch::Tensor> gradients(clip::CLIP& model, const torch::Tensor& x) {
  model->zero_grad();
  auto out = model->forward(x, tokens());
  auto loss = torch::cross_entropy_loss(out.logits_per_image, torch::arange(x.size(0)) % 4);
  loss.backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : model->parameters()) grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return grads;
}

TEST_F(BatchParallel, SplitsOnlyCpuBatchesWithSeveralThreads) {
  EXPECT_EQ(util::batch_parallel_workers(torch::zeros({5, 3})), 2);
  EXPECT_EQ(util::batch_parallel_workers(torch::zeros({1, 3})), 1);
  torch::set_num_threads(1);
  EXPECT_EQ(util::batch_parallel_workers(torch::zeros({5, 3})), 1);
}

// The split itself: one chunk per core, each on its own thread with serial kernels inside.
TEST_F(BatchParallel, RunsOneSerialChunkPerThread) {
  std::mutex mutex;
  std::vector<int64_t> sizes;
  std::set<std::thread::id> threads;
  std::vector<int> inner_threads;
  const util::BatchFunction record = [&](const torch::Tensor& chunk) {
    std::lock_guard<std::mutex> lock(mutex);
    sizes.push_back(chunk.size(0));
    threads.insert(std::this_thread::get_id());
    inner_threads.push_back(torch::get_num_threads());
    return chunk + 1;
  };
  torch::NoGradGuard no_grad;
  const auto out = util::map_batch_across_cores(torch::arange(5.0), record);
  EXPECT_TRUE(torch::equal(out, torch::arange(5.0) + 1));
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(inner_threads, (std::vector<int>{1, 1}));
  EXPECT_EQ(torch::get_num_threads(), 2);
}

TEST_F(BatchParallel, InferenceEqualsUnsplitEncoders) {
  auto model = tiny_clip();
  torch::NoGradGuard no_grad;
  const auto x = images(5);
  const auto split_image = model->encode_image(x);
  const auto split_text = model->encode_text(tokens());
  torch::set_num_threads(1);
  const auto serial_image = model->encode_image(x), serial_text = model->encode_text(tokens());
  // Chunks run GEMMs of other shapes, which OpenBLAS blocks (and so rounds) differently by size
  // and CPU: on an AVX-512 machine the text features differ by up to 1.8e-6 on values up to 2.9.
  // A wrong split (rows swapped, a chunk missing) differs by the features' own size.
  EXPECT_TRUE(torch::allclose(split_image, serial_image, 1e-5, 1e-5))
      << "max |difference| " << (split_image - serial_image).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(split_text, serial_text, 1e-5, 1e-5))
      << "max |difference| " << (split_text - serial_text).abs().max().item<double>() << " of values up to "
      << serial_text.abs().max().item<double>();
}

TEST_F(BatchParallel, GradientsEqualUnsplitBackward) {
  auto model = tiny_clip();
  const auto x = images(6);
  const auto split = gradients(model, x);
  torch::set_num_threads(1);
  const auto serial = gradients(model, x);
  ASSERT_EQ(split.size(), serial.size());
  int64_t compared = 0;
  for (size_t i = 0; i < split.size(); ++i) {
    ASSERT_EQ(split[i].defined(), serial[i].defined()) << "parameter " << i;
    if (!split[i].defined()) continue;
    // Summation order differs (per chunk, then across chunks): compare against the gradient's scale.
    const auto diff = (split[i] - serial[i]).abs().max().item<double>();
    const auto scale = serial[i].abs().max().item<double>();
    EXPECT_LE(diff, 1e-5 * scale + 1e-7) << "parameter " << i << ": max abs diff " << diff << " of " << scale;
    compared += split[i].abs().sum().item<double>() > 0;
  }
  EXPECT_GT(compared, 40);  // both towers' blocks, projections, embeddings (not token_embedding)
}

TEST_F(BatchParallel, InputGradientsFlowThroughTheSplit) {
  auto model = tiny_clip();
  auto x = images(4).requires_grad_(true);
  model->encode_image(x).sum().backward();
  const auto split = x.grad().clone();
  x.mutable_grad().reset();
  torch::set_num_threads(1);
  model->encode_image(x).sum().backward();
  EXPECT_TRUE(torch::allclose(split, x.grad(), 1e-4, 1e-6));
}

TEST_F(BatchParallel, SplitGradientsAreBitwiseReproducible) {
  auto model = tiny_clip();
  const auto x = images(6);
  const auto first = gradients(model, x);
  const auto second = gradients(model, x);
  for (size_t i = 0; i < first.size(); ++i)
    if (first[i].defined()) {
      EXPECT_TRUE(torch::equal(first[i], second[i])) << "parameter " << i;
    }
}

TEST_F(BatchParallel, RestoresThreadSettingsAfterAnException) {
  const util::BatchFunction failing = [](const torch::Tensor& chunk) -> torch::Tensor {
    if (chunk.index({0}).item<double>() > 0) throw std::runtime_error("bad chunk");
    return chunk;
  };
  torch::NoGradGuard no_grad;
  EXPECT_THROW(util::map_batch_across_cores(torch::tensor({0.0, 0.0, 1.0, 1.0}), failing), std::runtime_error);
  EXPECT_EQ(torch::get_num_threads(), 2);
  const auto out = util::map_batch_across_cores(torch::arange(5.0), [](const torch::Tensor& c) { return c * 2; });
  EXPECT_TRUE(torch::equal(out, torch::arange(5.0) * 2));
  EXPECT_EQ(torch::get_num_threads(), 2);
}

}  // namespace
}  // namespace vifi

namespace vifi {
namespace {

// A learned tensor read only by a hook (as prompt learning's are) gets its gradient through a
// split backward pass when the hook declares it.
TEST_F(BatchParallel, DeclaredHookParametersGetTheirGradients) {
  auto model = tiny_clip();
  auto shift = torch::full({64}, 0.1).requires_grad_(true);  // tiny CLIP's vision width
  clip::VisionPromptHooks hooks;
  hooks.on_embeddings = [&](const torch::Tensor& x) { return x + shift; };
  hooks.parameters = {shift};
  auto grad_of_shift = [&] {
    shift.mutable_grad().reset();
    model->encode_image(images(4), hooks).pow(2).sum().backward();
    return shift.grad().clone();
  };
  const auto split = grad_of_shift();
  torch::set_num_threads(1);
  const auto serial = grad_of_shift();
  EXPECT_GT(serial.abs().sum().item<double>(), 0);
  EXPECT_LE((split - serial).abs().max().item<double>(), 1e-5 * serial.abs().max().item<double>());
}

}  // namespace
}  // namespace vifi

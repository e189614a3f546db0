// eval/attention_rollout: capturing attention leaves the image embedding unchanged, each block's
// probabilities are row-stochastic [N,heads,L,L], rollout of uniform attention is uniform, and
// the per-frame maps are non-negative, sum to 1 and have the patch grid's shape.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/tiny_model.h"
#include "vifi/eval/attention_rollout.h"

namespace vifi {
namespace {

TEST(AttentionRollout, CapturedAttentionIsRowStochasticAndLeavesTheOutputUnchanged) {
  torch::manual_seed(0);
  clip::CLIP model(test::tiny_clip_config());
  model->eval();
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({3, 3, 32, 32});
  const auto grid = model->config().grid_size();
  const auto attention = eval::vision_attention(model->visual, images);
  ASSERT_EQ(static_cast<int64_t>(attention.size()), model->config().vision_layers);
  const auto tokens = 1 + grid * grid;
  for (const auto& a : attention) {
    ASSERT_EQ(a.sizes(), (std::vector<int64_t>{3, model->config().vision_heads(), tokens, tokens}));
    EXPECT_TRUE(torch::allclose(a.sum(-1), torch::ones({3, model->config().vision_heads(), tokens}), 1e-5, 1e-5));
  }
  // The hook only reads: the tower's output is what a plain forward gives.
  clip::VisionPromptHooks identity;
  identity.before_block = [](int64_t, const torch::Tensor& x) { return x; };
  EXPECT_TRUE(torch::allclose(model->visual(images), model->visual(images, identity), 1e-5, 1e-6));
}

TEST(AttentionRollout, UniformAttentionRollsOutToAUniformMap) {
  const int64_t grid = 3, tokens = 1 + grid * grid;
  const auto uniform = torch::full({2, 4, tokens, tokens}, 1.0 / tokens);
  const auto maps = eval::class_token_maps(eval::attention_rollout({uniform, uniform}), grid);
  EXPECT_TRUE(torch::allclose(maps, torch::full({2, grid, grid}, 1.0 / (grid * grid))));
}

TEST(AttentionRollout, FrameMapsAreNonNegativeSumToOneAndHaveTheGridShape) {
  torch::manual_seed(1);
  clip::CLIP model(test::tiny_clip_config());
  model->eval();
  c10::InferenceMode inference;
  const auto frames = torch::randn({5, 3, 32, 32});  // T = 5
  const auto grid = model->config().grid_size();
  const auto maps = eval::rollout_maps(model->visual, frames, grid);
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{5, grid, grid}));
  EXPECT_GE(maps.min().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(maps.sum({1, 2}), torch::ones({5}), 1e-5, 1e-5));
  // Different frames give different maps (the rollout depends on the input).
  EXPECT_FALSE(torch::allclose(maps[0], maps[1]));
}

TEST(AttentionRollout, RejectsTooFewTokensForTheGrid) {
  const auto rollout = torch::eye(5).expand({1, 5, 5});
  EXPECT_THROW(eval::class_token_maps(rollout, 3), c10::Error);
}

}  // namespace
}  // namespace vifi

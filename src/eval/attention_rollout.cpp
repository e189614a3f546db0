// Attention capture through the before_block hook, and rollout.
#include "vifi/eval/attention_rollout.h"

namespace vifi::eval {

std::vector<torch::Tensor> vision_attention(clip::VisionTransformer& visual, const torch::Tensor& images,
                                            const clip::VisionPromptHooks& hooks) {
  std::vector<torch::Tensor> attention;
  auto& blocks = visual->transformer;
  clip::VisionPromptHooks capture = hooks;
  // The hook sees each block's input after any prompt edits; the block's own ln_1 and QKV
  // projection give exactly the probabilities its forward will use.
  capture.before_block = [&](int64_t i, const torch::Tensor& x) {
    auto input = hooks.before_block ? hooks.before_block(i, x) : x;
    auto* block = blocks->resblocks[static_cast<size_t>(i)]->as<clip::ResidualAttentionBlockImpl>();
    attention.push_back(block->attn->attention_probabilities(block->ln_1(input), clip::AttentionMask::none));
    return input;
  };
  visual->forward(images, capture);
  return attention;
}

torch::Tensor attention_rollout(const std::vector<torch::Tensor>& attention) {
  TORCH_CHECK(!attention.empty(), "attention rollout needs the attention of at least one block");
  torch::Tensor rollout;
  for (const auto& a : attention) {
    TORCH_CHECK(a.dim() == 3 || a.dim() == 4, "attention rollout expects [N,heads,L,L] or [N,L,L], got ", a.sizes());
    auto mixed = (a.dim() == 4 ? a.mean(1) : a).to(torch::kFloat);  // [N,L,L]
    mixed = mixed + torch::eye(mixed.size(-1), mixed.options());      // the residual path
    mixed = mixed / mixed.sum(-1, true);
    rollout = rollout.defined() ? torch::matmul(mixed, rollout) : mixed;
  }
  return rollout;
}

torch::Tensor class_token_maps(const torch::Tensor& rollout, int64_t grid) {
  const auto patches = grid * grid;
  TORCH_CHECK(rollout.dim() == 3 && rollout.size(-1) >= 1 + patches, "class_token_maps: rollout ", rollout.sizes(),
              " has fewer than 1 + ", patches, " tokens for a ", grid, "x", grid, " patch grid");
  auto row = rollout.select(1, 0).narrow(-1, 1, patches).clamp_min(0);  // [N,P]
  row = row / row.sum(-1, true).clamp_min(1e-12);
  return row.reshape({rollout.size(0), grid, grid});
}

torch::Tensor rollout_maps(clip::VisionTransformer& visual, const torch::Tensor& frames, int64_t grid,
                           const clip::VisionPromptHooks& hooks) {
  return class_token_maps(attention_rollout(vision_attention(visual, frames, hooks)), grid);
}

}  // namespace vifi::eval

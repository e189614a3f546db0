// Where the image tower looks: attention rollout (Abnar & Zuidema, 2020) of the class token
// through the vision blocks, per frame. Owns: collecting each block's attention probabilities
// without touching the blocks (a before_block hook recomputes them from the block's input, so
// the normal forward path pays nothing), and the rollout itself.
//
// Rollout: for each block, average the heads, add the identity for the residual path and
// renormalise the rows; multiply the blocks' matrices in order; the class token's row over the
// patch tokens, renormalised to sum 1, is the map. It explains the class token (the image
// embedding) rather than one label: no gradients, deterministic, and comparable between a vanilla
// and a fine-tuned model on the same frames, which is what the paper's Figs. 4-5 compare.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "vifi/clip/vision_transformer.h"

namespace vifi::eval {

// Per-block attention probabilities of the image tower, each [N,heads,L,L] (L = 1 + grid^2 plus
// any prompt tokens the hooks add). Runs the tower once, serially (no batch splitting).
std::vector<torch::Tensor> vision_attention(clip::VisionTransformer& visual, const torch::Tensor& images,
                                            const clip::VisionPromptHooks& hooks = {});

// Rollout of per-block attention ([N,heads,L,L] or head-averaged [N,L,L]) -> [N,L,L].
torch::Tensor attention_rollout(const std::vector<torch::Tensor>& attention);

// The class token's rollout over the grid*grid patch tokens (tokens 1..grid^2), each map
// non-negative and summing to 1: [N,L,L] -> [N,grid,grid].
torch::Tensor class_token_maps(const torch::Tensor& rollout, int64_t grid);

// Both steps on frames: [T,3,R,R] -> [T,grid,grid].
torch::Tensor rollout_maps(clip::VisionTransformer& visual, const torch::Tensor& frames, int64_t grid,
                           const clip::VisionPromptHooks& hooks = {});

}  // namespace vifi::eval

// CLIP's transformer: multi-head attention with one fused QKV projection, the residual
// attention block (pre-LayerNorm, QuickGELU MLP) and the block stack. Parameter names are
// OpenAI's (attn.in_proj_weight, ln_1, mlp.c_fc, ...). Activations are batch-first [N, L, D]
// (OpenAI's code is sequence-first); the weights do not depend on that choice.
#pragma once
#include <torch/torch.h>

#include <functional>

namespace vifi::clip {

// Prompt learning (model/prompt_learner) edits the token sequence between blocks without the
// blocks knowing: before block i the hook may return a modified copy of its input.
using BeforeBlockHook = std::function<torch::Tensor(int64_t block_index, const torch::Tensor& x)>;

enum class AttentionMask { none, causal };

// Multi-head self-attention with OpenAI's (nn.MultiheadAttention) parameter names.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t width, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x, AttentionMask mask);  // [N,L,D] -> [N,L,D]
  // Attention probabilities averaged over heads, for attention rollout: [N,L,L].
  torch::Tensor attention_weights(const torch::Tensor& x, AttentionMask mask);
  // Per-head attention probabilities [N,H,L,L] of input x [N,L,D] (eval/attention_rollout).
  // Opt-in and recomputed from x: forward() never materialises them (SDPA on LibTorch 2.x).
  torch::Tensor attention_probabilities(const torch::Tensor& x, AttentionMask mask);

  torch::Tensor in_proj_weight;  // [3D, D]
  torch::Tensor in_proj_bias;    // [3D]
  torch::nn::Linear out_proj{nullptr};

 private:
  // [N,L,D] -> q, k, v each [N,H,L,D/H] from one GEMM.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> project_qkv(const torch::Tensor& x);
  int64_t heads_;
};
TORCH_MODULE(Attention);

// c_fc -> QuickGELU -> c_proj, computed as c_proj'(SiLU(c_fc'(x))) with 1.702 folded into c_fc
// (weight and bias) and 1/1.702 into c_proj's weight: QuickGELU(h) = SiLU(1.702 h) / 1.702, and
// SiLU is one fused kernel (one autograd node) where QuickGELU is three elementwise passes. The
// folds are recomputed every call (a pass over the weights, small next to the GEMMs), so they can
// never go stale after an optimiser step or a weight load, and cost no extra memory.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t width, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};
};
TORCH_MODULE(Mlp);

// CLIP's QuickGELU: x * sigmoid(1.702 x).
torch::Tensor quick_gelu(const torch::Tensor& x);

class ResidualAttentionBlockImpl : public torch::nn::Module {
 public:
  ResidualAttentionBlockImpl(int64_t width, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x, AttentionMask mask);  // [N,L,D] -> [N,L,D]

  Attention attn{nullptr};
  torch::nn::LayerNorm ln_1{nullptr};
  Mlp mlp{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

class TransformerImpl : public torch::nn::Module {
 public:
  TransformerImpl(int64_t width, int64_t layers, int64_t heads);
  // [N,L,D] -> [N,L,D]; `before_block` (optional) runs before every block.
  torch::Tensor forward(torch::Tensor x, AttentionMask mask, const BeforeBlockHook& before_block = nullptr);

  // TRAIN.USE_CHECKPOINT: in training, keep only each block's input and recompute its
  // activations during backward (memory O(layers) instead of O(layers x activations)).
  void set_gradient_checkpointing(bool on) { checkpointing_ = on; }
  bool gradient_checkpointing() const { return checkpointing_; }

  int64_t num_layers() const { return static_cast<int64_t>(blocks_.size()); }
  const ResidualAttentionBlock& block(int64_t i) const { return blocks_.at(static_cast<size_t>(i)); }

  torch::nn::ModuleList resblocks{nullptr};

 private:
  std::vector<ResidualAttentionBlock> blocks_;  // typed handles to the modules in `resblocks`
  bool checkpointing_ = false;
};
TORCH_MODULE(Transformer);

}  // namespace vifi::clip

// Attention, MLP, residual block and stack. On LibTorch >= 2.0 attention goes through
// at::scaled_dot_product_attention (flash / memory-efficient kernels on GPU); LibTorch 1.13
// has no such op, so it falls back to matmul + softmax.
#include "vifi/clip/transformer.h"

#include <torch/version.h>

#include <cmath>

namespace vifi::clip {
namespace {

torch::Tensor causal_bias(int64_t length, const torch::TensorOptions& options) {
  // Additive mask: -inf above the diagonal, as OpenAI's build_attention_mask.
  return torch::full({length, length}, -std::numeric_limits<float>::infinity(), options).triu_(1);
}

torch::Tensor attention_probs(const torch::Tensor& q, const torch::Tensor& k, AttentionMask mask) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  // Scaling q ([N,H,L,hd]) is a smaller pass than scaling the scores ([N,H,L,L]) when L > hd.
  auto scores = torch::matmul(q * scale, k.transpose(-2, -1));  // [N,H,L,L]
  if (mask == AttentionMask::causal) scores.add_(causal_bias(q.size(2), scores.options()));
  return torch::softmax(scores, -1);
}

torch::Tensor scaled_dot_product(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, AttentionMask mask) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                          /*is_causal=*/mask == AttentionMask::causal);
#else
  // q, k, v are contiguous here (project_qkv): fold [N,H] into bmm's batch without copies, as
  // nn.MultiheadAttention does, with the scale and the causal mask inside one baddbmm.
  const auto n = q.size(0), heads = q.size(1), length = q.size(2), dim = q.size(3);
  const auto q3 = q.reshape({n * heads, length, dim}), k3 = k.reshape({n * heads, length, dim});
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  auto scores = mask == AttentionMask::causal
                    ? torch::baddbmm(causal_bias(length, q.options()), q3, k3.transpose(1, 2), 1.0, scale)
                    : torch::bmm(q3 * scale, k3.transpose(1, 2));  // [N*H,L,L]
  return torch::bmm(torch::softmax(scores, -1), v.reshape({n * heads, length, dim})).view({n, heads, length, dim});
#endif
}

// Activation checkpointing as torch.utils.checkpoint's reentrant variant: forward runs the block
// without recording a graph; backward re-runs it with grad enabled and back-propagates through
// the copy, which accumulates the block's parameter gradients directly into their .grad.
struct CheckpointedBlock : public torch::autograd::Function<CheckpointedBlock> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t block_address,
                               int64_t mask) {
    ctx->save_for_backward({x});
    ctx->saved_data["block"] = block_address;  // the module outlives the graph that uses it
    ctx->saved_data["mask"] = mask;
    torch::NoGradGuard no_grad;
    return run(block_address, x, mask);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    torch::Tensor y;
    {
      torch::AutoGradMode enable(true);
      y = run(ctx->saved_data["block"].toInt(), x, ctx->saved_data["mask"].toInt());
    }
    torch::autograd::backward({y}, {grad_output[0]});
    return {x.grad(), torch::Tensor(), torch::Tensor()};
  }

  static torch::Tensor run(int64_t block_address, const torch::Tensor& x, int64_t mask) {
    auto* block = reinterpret_cast<ResidualAttentionBlockImpl*>(block_address);
    return block->forward(x, static_cast<AttentionMask>(mask));
  }
};

}  // namespace

AttentionImpl::AttentionImpl(int64_t width, int64_t heads) : heads_(heads) {
  TORCH_CHECK(width % heads == 0, "attention width ", width, " is not divisible by ", heads, " heads");
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
  // nn.MultiheadAttention's initialisation: xavier_uniform on the packed projection.
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(in_proj_weight);
  out_proj->bias.zero_();
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> AttentionImpl::project_qkv(const torch::Tensor& x) {
  const auto n = x.size(0), length = x.size(1), width = x.size(2);
  auto qkv = torch::linear(x, in_proj_weight, in_proj_bias)
                 .view({n, length, 3, heads_, width / heads_})
                 .permute({2, 0, 3, 1, 4});  // [3,N,H,L,hd]
#if TORCH_VERSION_MAJOR < 2
  // The matmul fallback would copy q, k and v one by one to fold them into bmm's 3-d layout;
  // one copy of the packed tensor makes all three contiguous at once (SDPA takes the strides).
  qkv = qkv.contiguous();
#endif
  // unbind, not qkv[i]: each select's backward would fill a zero tensor the size of all three.
  auto parts = qkv.unbind(0);
  return {parts[0], parts[1], parts[2]};
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, AttentionMask mask) {
  auto [q, k, v] = project_qkv(x);
  auto out = scaled_dot_product(q, k, v, mask);  // [N,H,L,hd]
  out = out.transpose(1, 2).reshape({x.size(0), x.size(1), x.size(2)});
  return out_proj(out);
}

torch::Tensor AttentionImpl::attention_weights(const torch::Tensor& x, AttentionMask mask) {
  return attention_probabilities(x, mask).mean(1);
}

torch::Tensor AttentionImpl::attention_probabilities(const torch::Tensor& x, AttentionMask mask) {
  auto [q, k, v] = project_qkv(x);
  return attention_probs(q, k, mask);
}

torch::Tensor quick_gelu(const torch::Tensor& x) { return x * torch::sigmoid(1.702 * x); }

MlpImpl::MlpImpl(int64_t width, int64_t hidden) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, hidden));
  c_proj = register_module("c_proj", torch::nn::Linear(hidden, width));
}

namespace {
constexpr double kQuickGeluScale = 1.702;
}  // namespace

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  auto h = torch::silu(torch::linear(x, c_fc->weight * kQuickGeluScale, c_fc->bias * kQuickGeluScale));
  return torch::linear(h, c_proj->weight / kQuickGeluScale, c_proj->bias);
}

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(int64_t width, int64_t heads) {
  attn = register_module("attn", Attention(width, heads));
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5)));
  mlp = register_module("mlp", Mlp(width, 4 * width));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5)));
}

torch::Tensor ResidualAttentionBlockImpl::forward(const torch::Tensor& x, AttentionMask mask) {
  if (!torch::GradMode::is_enabled()) {  // no graph to keep: add the residuals into the fresh outputs
    auto h = attn(ln_1(x), mask).add_(x);
    return mlp(ln_2(h)).add_(h);
  }
  auto h = x + attn(ln_1(x), mask);
  return h + mlp(ln_2(h));
}

TransformerImpl::TransformerImpl(int64_t width, int64_t layers, int64_t heads) {
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) {
    blocks_.emplace_back(width, heads);
    resblocks->push_back(blocks_.back());
  }
}

torch::Tensor TransformerImpl::forward(torch::Tensor x, AttentionMask mask, const BeforeBlockHook& before_block) {
  for (int64_t i = 0; i < num_layers(); ++i) {
    if (before_block) x = before_block(i, x);
    auto& b = blocks_[static_cast<size_t>(i)];
    if (checkpointing_ && is_training() && torch::GradMode::is_enabled() && x.requires_grad())
      x = CheckpointedBlock::apply(x, reinterpret_cast<int64_t>(b.get()), static_cast<int64_t>(mask));
    else
      x = b->forward(x, mask);
  }
  return x;
}

}  // namespace vifi::clip

// CLIP's text tower and the joint model. Initialisation is OpenAI's initialize_parameters, so a
// model trained from scratch (tests, the demo) starts where the reference would.
#include "vifi/clip/clip.h"

#include "vifi/util/batch_parallel.h"

#include <cmath>

namespace vifi::clip {

CLIPImpl::CLIPImpl(const CLIPConfig& config) : config_(config) {
  config.validate();
  const auto width = config.transformer_width;
  visual = register_module("visual", VisionTransformer(config));
  transformer = register_module("transformer", Transformer(width, config.transformer_layers, config.transformer_heads));
  token_embedding = register_module("token_embedding", torch::nn::Embedding(config.vocab_size, width));
  positional_embedding = register_parameter("positional_embedding", torch::empty({config.context_length, width}));
  ln_final = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  text_projection = register_parameter("text_projection", torch::empty({width, config.embed_dim}));
  logit_scale = register_parameter("logit_scale", torch::full({}, std::log(1.0 / 0.07)));
  initialize_parameters();
}

void CLIPImpl::initialize_parameters() {
  torch::NoGradGuard no_grad;
  const double width = static_cast<double>(config_.transformer_width);
  const double proj_std = std::pow(width, -0.5) * std::pow(2.0 * config_.transformer_layers, -0.5);
  const double attn_std = std::pow(width, -0.5);
  const double fc_std = std::pow(2.0 * width, -0.5);
  token_embedding->weight.normal_(0.0, 0.02);
  positional_embedding.normal_(0.0, 0.01);
  for (int64_t i = 0; i < transformer->num_layers(); ++i) {
    auto block = transformer->block(i);
    block->attn->in_proj_weight.normal_(0.0, attn_std);
    block->attn->out_proj->weight.normal_(0.0, proj_std);
    block->mlp->c_fc->weight.normal_(0.0, fc_std);
    block->mlp->c_proj->weight.normal_(0.0, proj_std);
  }
  text_projection.normal_(0.0, attn_std);
}

torch::Tensor CLIPImpl::encode_image(const torch::Tensor& images, const VisionPromptHooks& hooks) {
  // Checkpointed blocks write their parameters' gradients straight into .grad from each chunk's
  // thread, in thread order, which would make training non-reproducible: they train unsplit.
  if (visual->transformer->gradient_checkpointing() && torch::GradMode::is_enabled()) return visual(images, hooks);
  auto params = visual->parameters();
  params.insert(params.end(), hooks.parameters.begin(), hooks.parameters.end());
  return util::map_batch_across_cores(
      images, [&](const torch::Tensor& chunk) { return visual(chunk, hooks); }, params);
}

torch::Tensor CLIPImpl::encode_text(const torch::Tensor& tokens, const TextPromptHooks& hooks) {
  if (transformer->gradient_checkpointing() && torch::GradMode::is_enabled()) return encode_text_serial(tokens, hooks);
  auto params = text_parameters();
  params.insert(params.end(), hooks.parameters.begin(), hooks.parameters.end());
  return util::map_batch_across_cores(
      tokens, [&](const torch::Tensor& chunk) { return encode_text_serial(chunk, hooks); }, params);
}

std::vector<torch::Tensor> CLIPImpl::text_parameters() const {
  std::vector<torch::Tensor> params = {token_embedding->weight, positional_embedding, text_projection};
  for (const auto& p : transformer->parameters()) params.push_back(p);
  for (const auto& p : ln_final->parameters()) params.push_back(p);
  return params;
}

torch::Tensor CLIPImpl::encode_text_serial(const torch::Tensor& tokens, const TextPromptHooks& hooks) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kLong, "encode_text expects int64 tokens [N,L], got ",
              tokens.scalar_type(), " ", tokens.sizes());
  TORCH_CHECK(tokens.size(1) <= config_.context_length, "text has ", tokens.size(1), " tokens; the model's context is ",
              config_.context_length);
  const auto eot = tokens.argmax(-1);  // [N]
  // Trimming needs max(eot) on the host: free for CPU tokens, a device sync for others, so those
  // run as given (callers trim them on the host once, with trim_context).
  const auto used = tokens.is_cpu() ? trim_context(tokens).size(1) : tokens.size(1);
  auto x = token_embedding(tokens.narrow(1, 0, used));
  if (hooks.on_embeddings) x = hooks.on_embeddings(x);
  x = x + positional_embedding.narrow(0, 0, used).to(x.dtype());
  x = ln_final(transformer(x, AttentionMask::causal, hooks.before_block));
  auto pooled = x.index({torch::arange(x.size(0), eot.options()), eot});  // [N,W]
  return torch::matmul(pooled, text_projection);
}

CLIPOutput CLIPImpl::forward(const torch::Tensor& images, const torch::Tensor& tokens) {
  auto logits = scaled_cosine_logits(encode_image(images), encode_text(tokens), logit_scale);
  return {logits, logits.t()};
}

torch::Tensor trim_context(const torch::Tensor& tokens) {
  TORCH_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kLong && tokens.is_cpu(),
              "trim_context expects int64 CPU tokens [N,L], got ", tokens.scalar_type(), " ", tokens.sizes(), " on ",
              tokens.device());
  if (tokens.size(0) == 0) return tokens;
  const int64_t used = tokens.argmax(-1).max().item<int64_t>() + 1;
  return tokens.narrow(1, 0, used).contiguous();
}

torch::Tensor scaled_cosine_logits(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& logit_scale) {
  auto an = a / a.norm(2, -1, true);
  auto bn = b / b.norm(2, -1, true);
  return logit_scale.exp() * torch::matmul(an, bn.t());
}

}  // namespace vifi::clip

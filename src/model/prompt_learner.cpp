// Prompt tensors, their initialisation and the tower hooks (see header).
#include "vifi/model/prompt_learner.h"

#include <algorithm>

namespace vifi::model {
namespace {

// The reference initialises every learned prompt it does not take from CTX_INIT like this.
torch::Tensor normal_init(torch::IntArrayRef sizes) { return torch::randn(sizes) * 0.02; }

std::string repeated_placeholder(int64_t n) {
  std::string s;
  for (int64_t i = 0; i < n; ++i) s += i ? " X" : "X";
  return s;
}

std::string spaces_for_underscores(std::string text) {
  std::replace(text.begin(), text.end(), '_', ' ');
  return text;
}

void check_depth(const char* key, int64_t depth, int64_t layers) {
  TORCH_CHECK(depth >= 0 && depth <= layers, "TRAINER.ViFi_CLIP.", key, " must be in [0, ", layers,
              "] (the tower's blocks), got ", depth);
}

}  // namespace

bool context_from_init(const PromptOptions& options, const clip::Tokenizer& tokenizer) {
  if (options.ctx_init.empty() || options.n_ctx_text > 4) return false;
  const auto ids = tokenizer.encode(spaces_for_underscores(options.ctx_init));
  return static_cast<int64_t>(ids.size()) == options.n_ctx_text;
}

PromptLearnerImpl::PromptLearnerImpl(clip::CLIP& clip, const clip::Tokenizer& tokenizer, PromptOptions options)
    : options_(std::move(options)), text_prefix_(spaces_for_underscores(options_.ctx_init)) {
  TORCH_CHECK(options_.n_ctx_vision >= 0 && options_.n_ctx_text >= 0, "prompt token counts must be >= 0, got vision ",
              options_.n_ctx_vision, ", text ", options_.n_ctx_text);
  check_depth("PROMPT_DEPTH_VISION", options_.depth_vision, clip->config().vision_layers);
  check_depth("PROMPT_DEPTH_TEXT", options_.depth_text, clip->config().transformer_layers);
  if (options_.text_active()) init_text(clip, tokenizer);
  if (options_.vision_active()) init_vision(clip);
}

void PromptLearnerImpl::init_text(clip::CLIP& clip, const clip::Tokenizer& tokenizer) {
  const auto n = options_.n_ctx_text, width = clip->config().transformer_width;
  TORCH_CHECK(1 + n + 2 <= clip->config().context_length, "N_CTX_TEXT ", n, " leaves no room for a class name in ",
              clip->config().context_length, " text positions");
  torch::Tensor ctx;
  if (context_from_init(options_, tokenizer)) {
    torch::NoGradGuard no_grad;
    const auto ids = tokenizer.encode(text_prefix_);
    const auto device = clip->token_embedding->weight.device();
    ctx = clip->token_embedding(torch::tensor(ids, torch::kLong).to(device)).detach().cpu().clone();
  } else {
    ctx = normal_init({n, width});
    text_prefix_ = repeated_placeholder(n);
  }
  text_ctx = register_parameter("text_ctx", ctx);
  if (options_.depth_text > 1) text_deep = register_parameter("text_deep", normal_init({options_.depth_text - 1, n, width}));
}

void PromptLearnerImpl::init_vision(const clip::CLIP& clip) {
  const auto n = options_.n_ctx_vision, width = clip->config().vision_width;
  vision_ctx = register_parameter("vision_ctx", normal_init({n, width}));
  if (options_.depth_vision > 1)
    vision_deep = register_parameter("vision_deep", normal_init({options_.depth_vision - 1, n, width}));
}

torch::Tensor PromptLearnerImpl::insert_text_context(const torch::Tensor& embeddings) const {
  const auto n = options_.n_ctx_text;
  TORCH_CHECK(embeddings.dim() == 3 && embeddings.size(1) >= 1 + n, "text prompts need embeddings [N, >= ", 1 + n,
              ", W], got ", embeddings.sizes());
  auto ctx = text_ctx.to(embeddings.dtype()).unsqueeze(0).expand({embeddings.size(0), n, embeddings.size(2)});
  return torch::cat({embeddings.narrow(1, 0, 1), ctx, embeddings.narrow(1, 1 + n, embeddings.size(1) - 1 - n)}, 1);
}

torch::Tensor PromptLearnerImpl::replace_text_prompts(int64_t block, const torch::Tensor& x) const {
  if (block < 1 || block >= options_.depth_text) return x;
  const auto n = options_.n_ctx_text;
  auto ctx = text_deep[block - 1].to(x.dtype()).unsqueeze(0).expand({x.size(0), n, x.size(2)});
  return torch::cat({x.narrow(1, 0, 1), ctx, x.narrow(1, 1 + n, x.size(1) - 1 - n)}, 1);
}

torch::Tensor PromptLearnerImpl::append_vision_prompts(const torch::Tensor& x) const {
  TORCH_CHECK(x.dim() == 3, "vision prompts need a token sequence [N,L,W], got ", x.sizes());
  auto ctx = vision_ctx.to(x.dtype()).unsqueeze(0).expand({x.size(0), options_.n_ctx_vision, x.size(2)});
  return torch::cat({x, ctx}, 1);
}

torch::Tensor PromptLearnerImpl::replace_vision_prompts(int64_t block, const torch::Tensor& x) const {
  if (block < 1 || block >= options_.depth_vision) return x;
  const auto n = options_.n_ctx_vision;
  auto ctx = vision_deep[block - 1].to(x.dtype()).unsqueeze(0).expand({x.size(0), n, x.size(2)});
  return torch::cat({x.narrow(1, 0, x.size(1) - n), ctx}, 1);
}

clip::TextPromptHooks PromptLearnerImpl::text_hooks() {
  if (!options_.text_active()) return {};
  clip::TextPromptHooks hooks;
  hooks.on_embeddings = [this](const torch::Tensor& x) { return insert_text_context(x); };
  hooks.parameters = {text_ctx};
  if (text_deep.defined()) hooks.parameters.push_back(text_deep);
  if (options_.depth_text > 1)
    hooks.before_block = [this](int64_t block, const torch::Tensor& x) { return replace_text_prompts(block, x); };
  return hooks;
}

clip::VisionPromptHooks PromptLearnerImpl::vision_hooks() {
  if (!options_.vision_active()) return {};
  clip::VisionPromptHooks hooks;
  hooks.on_embeddings = [this](const torch::Tensor& x) { return append_vision_prompts(x); };
  hooks.parameters = {vision_ctx};
  if (vision_deep.defined()) hooks.parameters.push_back(vision_deep);
  if (options_.depth_vision > 1)
    hooks.before_block = [this](int64_t block, const torch::Tensor& x) { return replace_vision_prompts(block, x); };
  return hooks;
}

}  // namespace vifi::model

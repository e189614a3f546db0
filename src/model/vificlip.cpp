// ViFi-CLIP forward pass, freezing and prompt construction (see header).
#include "vifi/model/vificlip.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "vifi/util/logging.h"

namespace vifi::model {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool is_image_parameter(const std::string& name) { return starts_with(name, "visual."); }
bool is_text_parameter(const std::string& name) {
  return starts_with(name, "transformer.") || starts_with(name, "ln_final.") || name == "positional_embedding" ||
         name == "text_projection";
}

}  // namespace

std::string class_prompt(const std::string& class_name, const ViFiCLIPOptions& options) {
  if (options.zero_shot_prompt) return class_name;
  std::string prefix = options.prompt.ctx_init;
  std::replace(prefix.begin(), prefix.end(), '_', ' ');
  // The reference's VLPromptLearner reads "_" in class names as a space only when prompting.
  std::string name = class_name;
  if (options.prompt.enabled) std::replace(name.begin(), name.end(), '_', ' ');
  return prefix.empty() ? name + "." : prefix + " " + name + ".";
}

ViFiCLIPImpl::ViFiCLIPImpl(clip::CLIP clip, std::shared_ptr<const clip::Tokenizer> tokenizer,
                           const std::vector<std::string>& class_names, ViFiCLIPOptions options)
    : clip_(std::move(clip)), tokenizer_(std::move(tokenizer)), options_(std::move(options)) {
  // Same modules and tensors as the CLIP, under OpenAI's top-level names.
  register_module("visual", clip_->visual);
  register_module("transformer", clip_->transformer);
  register_module("token_embedding", clip_->token_embedding);
  register_parameter("positional_embedding", clip_->positional_embedding);
  register_module("ln_final", clip_->ln_final);
  register_parameter("text_projection", clip_->text_projection);
  register_parameter("logit_scale", clip_->logit_scale);
  // Text context replaces the tokens after the start token, which a bare class name does not have.
  TORCH_CHECK(!(options_.zero_shot_prompt && options_.prompt.text_active()),
              "TRAINER.ViFi_CLIP.ZS_EVAL (bare class-name prompts) cannot be combined with text prompts (N_CTX_TEXT ",
              options_.prompt.n_ctx_text, ", PROMPT_DEPTH_TEXT ", options_.prompt.depth_text, ")");
  if (options_.prompt.enabled)
    prompt_learner_ = register_module("prompt_learner", PromptLearner(clip_, *tokenizer_, options_.prompt));
  set_class_names(class_names);
  apply_trainable_encoders();
}

void ViFiCLIPImpl::set_class_names(const std::vector<std::string>& class_names) {
  TORCH_CHECK(!class_names.empty(), "ViFi-CLIP needs at least one class name");
  class_names_ = class_names;
  prompts_.clear();
  auto prompt_options = options_;
  if (prompt_learner_) prompt_options.prompt.ctx_init = prompt_learner_->text_prefix();
  for (const auto& name : class_names) prompts_.push_back(class_prompt(name, prompt_options));
  check_prompt_tokens();
  prompt_tokens_ = clip::trim_context(tokenizer_->tokenize(prompts_, clip_->config().context_length));
  cached_text_.reset();
}

// The reference tokenizes class prompts with clip.tokenize, which raises on text longer than the
// context; cutting them (truncate=True) would let two long names share a prompt and a score.
void ViFiCLIPImpl::check_prompt_tokens() const {
  const auto limit = clip_->config().context_length;
  std::map<std::vector<int64_t>, size_t> first_with;
  for (size_t i = 0; i < prompts_.size(); ++i) {
    const auto ids = tokenizer_->encode(prompts_[i]);
    const auto tokens = static_cast<int64_t>(ids.size()) + 2;  // with the start and end tokens
    if (tokens > limit)
      throw std::invalid_argument("class '" + class_names_[i] + "': its prompt \"" + prompts_[i] + "\" is " +
                                  std::to_string(tokens) + " tokens, more than CLIP's context of " +
                                  std::to_string(limit) + "; shorten the class name");
    const auto [it, first] = first_with.emplace(ids, i);
    if (!first)
      util::log_warn("classes '" + class_names_[it->second] + "' and '" + class_names_[i] +
                     "' give the same prompt tokens, so the model cannot tell them apart");
  }
}

void ViFiCLIPImpl::apply_trainable_encoders() {
  for (auto& p : named_parameters(true)) {
    const auto& name = p.key();
    bool train = false;
    if (options_.prompt.enabled) {
      p.value().set_requires_grad(starts_with(name, "prompt_learner."));
      continue;
    }
    switch (options_.use) {
      case TrainableEncoders::both: train = name != "token_embedding.weight"; break;
      case TrainableEncoders::image: train = is_image_parameter(name); break;
      case TrainableEncoders::text: train = is_text_parameter(name); break;
    }
    p.value().set_requires_grad(train);
  }
  cached_text_.reset();
}

std::vector<std::string> ViFiCLIPImpl::trainable_parameter_names() const {
  std::vector<std::string> names;
  for (const auto& p : named_parameters(true))
    if (p.value().requires_grad()) names.push_back(p.key());
  return names;
}

bool ViFiCLIPImpl::text_side_frozen() const {
  const bool text_prompts_train = prompt_learner_ && prompt_learner_->text_ctx.defined() &&
                                  prompt_learner_->text_ctx.requires_grad();
  return !clip_->text_projection.requires_grad() && !clip_->positional_embedding.requires_grad() &&
         !text_prompts_train;
}

clip::TextPromptHooks ViFiCLIPImpl::text_hooks() {
  return prompt_learner_ ? prompt_learner_->text_hooks() : clip::TextPromptHooks{};
}

clip::VisionPromptHooks ViFiCLIPImpl::vision_hooks() {
  return prompt_learner_ ? prompt_learner_->vision_hooks() : clip::VisionPromptHooks{};
}

torch::Tensor ViFiCLIPImpl::frame_features(const torch::Tensor& video) {
  return frame_features(*clip_, video, vision_hooks());
}

torch::Tensor ViFiCLIPImpl::encode_video(const torch::Tensor& video) { return encode_video(*clip_, video, vision_hooks()); }

torch::Tensor ViFiCLIPImpl::text_features() {
  // Moved once per device, not copied host-to-device every step.
  if (prompt_tokens_.device() != clip_->text_projection.device()) {
    prompt_tokens_ = prompt_tokens_.to(clip_->text_projection.device());
  }
  const torch::Tensor& tokens = prompt_tokens_;
  // Inference tensors cannot enter a later training graph, so results under InferenceMode
  // are never cached.
  if (!text_side_frozen() || c10::InferenceMode::is_enabled()) return clip_->encode_text(tokens, text_hooks());
  // Frozen text side: the features cannot change until the class set or weights change.
  if (!cached_text_) {
    torch::NoGradGuard no_grad;
    cached_text_ = clip_->encode_text(tokens, text_hooks());
  }
  return *cached_text_;
}

torch::Tensor ViFiCLIPImpl::forward(const torch::Tensor& video) { return logits(video, text_features()); }

// The fusion ablation of Table 5: where the T frames are combined.
torch::Tensor ViFiCLIPImpl::logits(const torch::Tensor& video, const torch::Tensor& text) {
  switch (options_.fusion) {
    case Fusion::embedding: return clip::scaled_cosine_logits(encode_video(video), text, clip_->logit_scale);
    case Fusion::decision:
      return clip::scaled_cosine_logits(frame_features(video), text, clip_->logit_scale).mean(1);
    case Fusion::image: {
      auto per_frame = clip::scaled_cosine_logits(frame_features(video), text, clip_->logit_scale);  // [B,T,C]
      return is_training() ? per_frame : per_frame.mean(1);
    }
  }
  return {};
}

}  // namespace vifi::model

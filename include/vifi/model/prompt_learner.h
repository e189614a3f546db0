// Deep vision-language prompt learning on a frozen CLIP (ViFi-CLIP Sec. 5, "bridge and prompt";
// the reference's VLPromptLearner plus the VPT tokens of its patched clip/model.py).
// Owns: the learned prompt tensors, how they are initialised, the text prefix the class prompts
// are tokenised with, and the hooks that put the prompts into CLIP's two towers.
//
//   text:   "<sot> X X ... X <class>. <eot>": the N_CTX_TEXT placeholder embeddings after the
//           start token are replaced by `text_ctx` (before the positional embedding is added, as
//           the reference does). The placeholders are real tokens, so the end-of-text token stays
//           the argmax of the ids and CLIP pools at the right position.
//   vision: N_CTX_VISION tokens `vision_ctx` appended after the patch tokens (after the
//           positional embedding, before ln_pre).
//   deep:   before block i in 1..DEPTH-1 the prompt positions' outputs of block i-1 are thrown
//           away and replaced by block i's own tokens (vision: the last N, text: the N after the
//           start token). Block 0 reads the shallow tokens above.
// Depth 0 or zero tokens on a side leaves that tower exactly as plain CLIP.
#pragma once
#include <torch/torch.h>

#include <string>

#include "vifi/clip/clip.h"
#include "vifi/clip/tokenizer.h"

namespace vifi::model {

// TRAINER.ViFi_CLIP.{PROMPT_MODEL, N_CTX_*, CTX_INIT, PROMPT_DEPTH_*}.
struct PromptOptions {
  bool enabled = false;              // PROMPT_MODEL: only the prompts train, CLIP is frozen
  int64_t n_ctx_vision = 0;
  int64_t n_ctx_text = 0;
  std::string ctx_init = "a photo of a";
  int64_t depth_vision = 0;
  int64_t depth_text = 0;

  bool vision_active() const { return enabled && depth_vision > 0 && n_ctx_vision > 0; }
  bool text_active() const { return enabled && depth_text > 0 && n_ctx_text > 0; }
};

class PromptLearnerImpl : public torch::nn::Module {
 public:
  // Sizes come from `clip`; CTX_INIT is embedded with its token_embedding (no gradient).
  PromptLearnerImpl(clip::CLIP& clip, const clip::Tokenizer& tokenizer, PromptOptions options);

  // The words before each class name: CTX_INIT when text_ctx was initialised from it, else
  // N_CTX_TEXT "X" placeholders; CTX_INIT itself when the text side has no prompts.
  const std::string& text_prefix() const { return text_prefix_; }
  const PromptOptions& options() const { return options_; }

  // Hooks for CLIP::encode_text / encode_image. They read this module's tensors at call time
  // (so they follow optimiser steps and .to(device)) and must not outlive it: ViFiCLIP makes
  // them per forward call.
  clip::TextPromptHooks text_hooks();
  clip::VisionPromptHooks vision_hooks();

  torch::Tensor text_ctx;     // [N_CTX_TEXT, W_text]               (text_active only)
  torch::Tensor text_deep;    // [DEPTH_TEXT-1, N_CTX_TEXT, W_text]  (text_active, depth > 1)
  torch::Tensor vision_ctx;   // [N_CTX_VISION, W_vision]           (vision_active only)
  torch::Tensor vision_deep;  // [DEPTH_VISION-1, N_CTX_VISION, W_vision]

  // [N,L,W] token embeddings -> the same with positions 1..N_CTX_TEXT replaced by text_ctx.
  torch::Tensor insert_text_context(const torch::Tensor& embeddings) const;
  // [N,L,W] before text block i -> positions 1..N replaced by text_deep[i-1] (1 <= i < depth).
  torch::Tensor replace_text_prompts(int64_t block, const torch::Tensor& x) const;
  // [N,1+P,W] -> [N,1+P+N_CTX_VISION,W].
  torch::Tensor append_vision_prompts(const torch::Tensor& x) const;
  // [N,L,W] before vision block i -> the last N positions replaced by vision_deep[i-1].
  torch::Tensor replace_vision_prompts(int64_t block, const torch::Tensor& x) const;

 private:
  void init_text(clip::CLIP& clip, const clip::Tokenizer& tokenizer);
  void init_vision(const clip::CLIP& clip);

  PromptOptions options_;
  std::string text_prefix_;
};
TORCH_MODULE(PromptLearner);

// The prefix the reference's VLPromptLearner tokenises with for these options: CTX_INIT when it
// has exactly N_CTX_TEXT <= 4 tokens (it then initialises text_ctx), else N_CTX_TEXT "X"s.
bool context_from_init(const PromptOptions& options, const clip::Tokenizer& tokenizer);

}  // namespace vifi::model

// ViFi-CLIP (Rasheed et al., CVPR 2023, Sec. 4): CLIP applied frame by frame, frame embeddings
// averaged over time (temporal pooling), compared by scaled cosine with the text embeddings of
// "<CTX_INIT> <class>." prompts. Owns: which encoders train (`use`), the fusion ablation of
// Table 5, class prompts, and cached text features when the text side cannot change.
//
// Parameter names are OpenAI's (the CLIP's modules are registered at the top level), so a vifi
// checkpoint's model state maps 1:1 onto a released archive plus any prompt_learner.* entries.
// As in the reference, prompt token embeddings are computed once without gradient, so
// token_embedding never trains. With PROMPT_MODEL (model/prompt_learner) only prompt_learner.*
// trains and the class prompts are "<text_prefix> <class>.".
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "vifi/clip/clip.h"
#include "vifi/clip/tokenizer.h"
#include "vifi/model/prompt_learner.h"
#include "vifi/config/config.h"

namespace vifi::model {

// TRAINER.ViFi_CLIP.USE (which encoders are fine-tuned) and the fusion ablation of Table 5
// (embedding: mean of frame embeddings, then logits; decision: logits per frame, averaged;
// image: training loss on every frame as an image, evaluation averages frame logits).
using TrainableEncoders = vifi::EncoderUse;
using Fusion = vifi::Fusion;

struct ViFiCLIPOptions {
  bool zero_shot_prompt = false;          // ZS_EVAL: the prompt is the bare class name
  TrainableEncoders use = TrainableEncoders::both;
  Fusion fusion = Fusion::embedding;
  // CTX_INIT (prompt.ctx_init) is the class-prompt prefix ("_" reads as a space), stored once;
  // prompt.enabled adds a prompt_learner submodule and freezes the CLIP.
  PromptOptions prompt;
};

class ViFiCLIPImpl : public torch::nn::Module {
 public:
  ViFiCLIPImpl(clip::CLIP clip, std::shared_ptr<const clip::Tokenizer> tokenizer,
               const std::vector<std::string>& class_names, ViFiCLIPOptions options);

  // Replaces the class set (zero-shot and base/novel evaluation); clears cached text features.
  // Throws std::invalid_argument naming the class when its prompt has more tokens than CLIP's
  // context (as the reference's clip.tokenize does); warns when two prompts tokenize alike.
  void set_class_names(const std::vector<std::string>& class_names);
  const std::vector<std::string>& class_names() const { return class_names_; }
  const std::vector<std::string>& prompts() const { return prompts_; }

  // Temporal pooling (paper Sec. 4, the one place it is written): CLIP's image encoder on every
  // frame, the frame embeddings averaged over time. The static forms serve a bare CLIP (the
  // benchmarks, `vifi embed`); the members add this model's vision prompts.
  static torch::Tensor frame_features(clip::CLIPImpl& clip, const torch::Tensor& video,
                                      const clip::VisionPromptHooks& hooks = {});  // [B,T,3,H,W] -> [B,T,D]
  static torch::Tensor encode_video(clip::CLIPImpl& clip, const torch::Tensor& video,
                                    const clip::VisionPromptHooks& hooks = {});  // [B,T,3,H,W] -> [B,D]
  torch::Tensor frame_features(const torch::Tensor& video);  // [B,T,3,H,W] -> [B,T,D]
  torch::Tensor encode_video(const torch::Tensor& video);    // [B,T,3,H,W] -> [B,D]
  torch::Tensor text_features();                             // [C,D], cached when the text side is frozen

  // Logits [B,C]; in training with Fusion::image, per-frame logits [B,T,C] (see video_loss).
  torch::Tensor forward(const torch::Tensor& video);
  // Logits against precomputed text features (evaluation computes them once per run).
  torch::Tensor logits(const torch::Tensor& video, const torch::Tensor& text_features);

  // Applies `use`: requires_grad on exactly the trained parameters.
  void apply_trainable_encoders();
  // Names of parameters that train under the current options.
  std::vector<std::string> trainable_parameter_names() const;
  void clear_text_cache() { cached_text_.reset(); }

  clip::CLIP& clip() { return clip_; }
  // Null unless options().prompt.enabled.
  PromptLearner& prompt_learner() { return prompt_learner_; }
  const ViFiCLIPOptions& options() const { return options_; }

 private:
  void check_prompt_tokens() const;
  bool text_side_frozen() const;
  clip::TextPromptHooks text_hooks();
  clip::VisionPromptHooks vision_hooks();

  clip::CLIP clip_;
  std::shared_ptr<const clip::Tokenizer> tokenizer_;
  ViFiCLIPOptions options_;
  std::vector<std::string> class_names_;
  std::vector<std::string> prompts_;
  // [C, max eot + 1] int64, trimmed on the host (clip::trim_context); not a parameter. It follows
  // the model to its device on the first text_features() there.
  torch::Tensor prompt_tokens_;
  c10::optional<torch::Tensor> cached_text_;
  PromptLearner prompt_learner_{nullptr};
};
TORCH_MODULE(ViFiCLIP);

// Inline so that a LibTorch-only benchmark build without the tokenizer can pool frames too.
inline torch::Tensor ViFiCLIPImpl::frame_features(clip::CLIPImpl& clip, const torch::Tensor& video,
                                                  const clip::VisionPromptHooks& hooks) {
  TORCH_CHECK(video.dim() == 5, "ViFi-CLIP expects videos [B,T,3,H,W], got ", video.sizes());
  const auto b = video.size(0), t = video.size(1);
  return clip.encode_image(video.flatten(0, 1), hooks).view({b, t, -1});
}

inline torch::Tensor ViFiCLIPImpl::encode_video(clip::CLIPImpl& clip, const torch::Tensor& video,
                                                const clip::VisionPromptHooks& hooks) {
  return frame_features(clip, video, hooks).mean(1);
}

// The prompt text for a class: "<prompt.ctx_init> <name>." ("_" in ctx_init, and in the name when
// prompting, read as " "; trainers/vificlip.py VLPromptLearner), or "<name>" for zero-shot.
std::string class_prompt(const std::string& class_name, const ViFiCLIPOptions& options);

}  // namespace vifi::model

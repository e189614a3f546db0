// The CLIP model: image tower (`visual`), text tower (token_embedding, positional_embedding,
// transformer, ln_final, text_projection: top-level names, as in OpenAI's state_dict) and the
// learned temperature `logit_scale`. named_parameters() equals the checkpoint's keys.
#pragma once
#include <torch/torch.h>

#include "vifi/clip/clip_config.h"
#include "vifi/clip/transformer.h"
#include "vifi/clip/vision_transformer.h"

namespace vifi::clip {

struct TextPromptHooks {
  // Runs on the token embeddings [N,L,W] before the positional embedding is added; returns
  // the embeddings to use (e.g. with learned context vectors in place of placeholder tokens).
  std::function<torch::Tensor(const torch::Tensor&)> on_embeddings;
  BeforeBlockHook before_block;
  // Every tensor the hooks read that may need a gradient (a split backward pass differentiates
  // exactly the tensors it is told about; see util/batch_parallel.h). Rows must stay
  // independent, as for VisionPromptHooks.
  std::vector<torch::Tensor> parameters;
};

struct CLIPOutput {
  torch::Tensor logits_per_image;  // [N_images, N_texts]
  torch::Tensor logits_per_text;   // [N_texts, N_images]
};

class CLIPImpl : public torch::nn::Module {
 public:
  explicit CLIPImpl(const CLIPConfig& config);

  // Unnormalised image embeddings: [N,3,R,R] -> [N,D]. On the CPU the batch is split across
  // cores (util/batch_parallel.h), so the hooks must treat rows independently.
  torch::Tensor encode_image(const torch::Tensor& images, const VisionPromptHooks& hooks = {});
  // Unnormalised text embeddings pooled at the end-of-text token (argmax id): [N,L] int64 -> [N,D].
  // CPU tokens run only the first max(eot)+1 positions: under the causal mask the pooled output
  // does not depend on later ones, so this is exact and saves most of the work for short prompts.
  // Tokens on a GPU run as given, since finding max(eot) there would stall the host every call:
  // pass them through trim_context on the host first (ViFiCLIP does, once per class list).
  torch::Tensor encode_text(const torch::Tensor& tokens, const TextPromptHooks& hooks = {});
  CLIPOutput forward(const torch::Tensor& images, const torch::Tensor& tokens);

  const CLIPConfig& config() const { return config_; }

  VisionTransformer visual{nullptr};
  Transformer transformer{nullptr};
  torch::nn::Embedding token_embedding{nullptr};
  torch::Tensor positional_embedding;  // [context_length, W]
  torch::nn::LayerNorm ln_final{nullptr};
  torch::Tensor text_projection;       // [W, D]
  torch::Tensor logit_scale;           // [] (log of the inverse temperature)

 private:
  void initialize_parameters();
  torch::Tensor encode_text_serial(const torch::Tensor& tokens, const TextPromptHooks& hooks);
  std::vector<torch::Tensor> text_parameters() const;  // every text-tower tensor encode_text reads
  CLIPConfig config_;
};
TORCH_MODULE(CLIP);

// The positions encode_text needs: int64 CPU tokens [N,L] -> [N, max(eot)+1] (contiguous), eot
// being each row's argmax (the end-of-text id). Throws c10::Error for other tensors.
torch::Tensor trim_context(const torch::Tensor& tokens);

// exp(logit_scale) * cos(a_i, b_j): [N,D] x [M,D] -> [N,M].
torch::Tensor scaled_cosine_logits(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& logit_scale);

}  // namespace vifi::clip

// CLIP's image encoder (OpenAI's `visual`): patch embedding by a strided convolution, class
// token, learned positional embedding, ln_pre, transformer, ln_post on the class token, proj.
#pragma once
#include <torch/torch.h>

#include "vifi/clip/clip_config.h"
#include "vifi/clip/transformer.h"

namespace vifi::clip {

// Hooks through which prompt learning adds tokens without touching the encoder's code. They
// must act on each image (row) independently and only read shared state: gradient-free CPU
// forwards run chunks of the batch on several threads at once (util/batch_parallel.h).
struct VisionPromptHooks {
  // Runs on the embedded sequence [N, 1+P, W] (after the positional embedding, before ln_pre);
  // returns the sequence to encode, e.g. with learned prompt tokens appended.
  std::function<torch::Tensor(const torch::Tensor&)> on_embeddings;
  BeforeBlockHook before_block;
  // Every tensor the hooks read that may need a gradient (util/batch_parallel.h).
  std::vector<torch::Tensor> parameters;
};

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const CLIPConfig& config);

  torch::Tensor forward(const torch::Tensor& images, const VisionPromptHooks& hooks = {});  // [N,3,H,W] -> [N,D]
  // Patch + class-token embeddings with positions: [N,3,H,W] -> [N,1+P,W].
  torch::Tensor embed(const torch::Tensor& images);

  torch::nn::Conv2d conv1{nullptr};
  torch::Tensor class_embedding;       // [W]
  torch::Tensor positional_embedding;  // [1+P, W]
  torch::nn::LayerNorm ln_pre{nullptr};
  Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_post{nullptr};
  torch::Tensor proj;                  // [W, D]

 private:
  int64_t input_resolution_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace vifi::clip

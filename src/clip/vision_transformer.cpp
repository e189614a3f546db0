// Image tower. Initialisation follows OpenAI's VisionTransformer (scale = width^-0.5).
#include "vifi/clip/vision_transformer.h"

#include <cmath>

namespace vifi::clip {

VisionTransformerImpl::VisionTransformerImpl(const CLIPConfig& c) : input_resolution_(c.image_resolution) {
  const auto width = c.vision_width;
  const double scale = 1.0 / std::sqrt(static_cast<double>(width));
  const auto tokens = c.grid_size() * c.grid_size() + 1;
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, width, c.vision_patch_size)
                                                          .stride(c.vision_patch_size)
                                                          .bias(false)));
  class_embedding = register_parameter("class_embedding", torch::randn({width}) * scale);
  positional_embedding = register_parameter("positional_embedding", torch::randn({tokens, width}) * scale);
  ln_pre = register_module("ln_pre", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  transformer = register_module("transformer", Transformer(width, c.vision_layers, c.vision_heads()));
  ln_post = register_module("ln_post", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  proj = register_parameter("proj", torch::randn({width, c.embed_dim}) * scale);
}

torch::Tensor VisionTransformerImpl::embed(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3, "image encoder expects [N,3,H,W], got ", images.sizes());
  TORCH_CHECK(images.size(2) == input_resolution_ && images.size(3) == input_resolution_, "image encoder expects ",
              input_resolution_, "x", input_resolution_, " inputs, got ", images.size(2), "x", images.size(3));
  auto x = conv1(images).flatten(2).transpose(1, 2);  // [N,P,W]
  auto cls = class_embedding.to(x.dtype()).expand({x.size(0), 1, x.size(2)});
  return torch::cat({cls, x}, 1) + positional_embedding.to(x.dtype());
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images, const VisionPromptHooks& hooks) {
  auto x = embed(images);
  if (hooks.on_embeddings) x = hooks.on_embeddings(x);
  x = transformer(ln_pre(x), AttentionMask::none, hooks.before_block);
  return torch::matmul(ln_post(x.select(1, 0)), proj);
}

}  // namespace vifi::clip

// CLIP port: parity with the upstream OpenAI reference on the tiny fixture model, the ViT-B/16
// preset's parameter count and names, and the exactness of the trimmed text context.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "support/test_paths.h"
#include "vifi/clip/clip.h"
#include "vifi/clip/openai_weights.h"
#include "vifi/clip/tokenizer.h"
#include "vifi/util/npy.h"

namespace vifi {
namespace {

using test::fixture;

std::vector<std::string> fixture_texts() {
  std::ifstream in(fixture("clip_tiny/texts.txt"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

torch::Tensor reference(const std::string& name) { return util::load_npy(fixture("clip_tiny/" + name + ".npy")); }

// The README's promise: the reference's arrays to 1e-4 relative (atol 1e-5 for entries near zero).
void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const auto diff = (got - want).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(got, want, /*rtol=*/1e-4, /*atol=*/1e-5)) << what << ": max abs diff " << diff;
}

class TinyClipParity : public ::testing::Test {
 protected:
  void SetUp() override {
    model = clip::load_openai_clip(fixture("clip_tiny/clip_tiny.pt"));
    model->eval();
  }
  clip::CLIP model{nullptr};
  c10::InferenceMode inference;
};

TEST_F(TinyClipParity, InfersTheFixtureArchitecture) {
  const auto& c = model->config();
  EXPECT_EQ(c.embed_dim, 32);
  EXPECT_EQ(c.image_resolution, 32);
  EXPECT_EQ(c.vision_layers, 2);
  EXPECT_EQ(c.vision_width, 64);
  EXPECT_EQ(c.vision_patch_size, 16);
  EXPECT_EQ(c.transformer_layers, 2);
  EXPECT_EQ(c.transformer_heads, 1);
  EXPECT_NEAR(model->logit_scale.item<double>(), 2.66015625, 1e-7);
}

TEST_F(TinyClipParity, ImageFeaturesMatchReference) {
  expect_close(model->encode_image(reference("images")), reference("image_features"), "image features");
}

TEST_F(TinyClipParity, TextFeaturesMatchReference) {
  const clip::Tokenizer tokenizer;
  expect_close(model->encode_text(tokenizer.tokenize(fixture_texts())), reference("text_features"), "text features");
}

TEST_F(TinyClipParity, VideoFeaturesAreTheTemporalMeanOfFrameFeatures) {
  auto video = reference("video");  // [B,T,3,R,R]
  auto frames = model->encode_image(video.flatten(0, 1)).view({video.size(0), video.size(1), -1});
  expect_close(frames.mean(1), reference("video_features"), "video features");
}

TEST_F(TinyClipParity, LogitsMatchReference) {
  const clip::Tokenizer tokenizer;
  auto text = model->encode_text(tokenizer.tokenize(fixture_texts()));
  auto images = model->encode_image(reference("images"));
  expect_close(clip::scaled_cosine_logits(images, text, model->logit_scale), reference("logits_per_image"), "logits per image");
  auto video = reference("video");
  auto video_features = model->encode_image(video.flatten(0, 1)).view({video.size(0), video.size(1), -1}).mean(1);
  expect_close(clip::scaled_cosine_logits(video_features, text, model->logit_scale), reference("logits_per_video"),
               "logits per video");
  auto out = model->forward(reference("images"), tokenizer.tokenize(fixture_texts()));
  expect_close(out.logits_per_image, reference("logits_per_image"), "forward().logits_per_image");
  expect_close(out.logits_per_text, reference("logits_per_image").t(), "forward().logits_per_text");
}

TEST(ClipText, TrimmedContextEqualsFullContext) {
  torch::manual_seed(0);
  clip::CLIPConfig c{16, 32, 1, 64, 16, 77, 1000, 32, 2, 2};
  clip::CLIP model(c);
  model->eval();
  torch::NoGradGuard no_grad;
  // Token rows whose end-of-text (the largest id) sits at positions 3 and 9: the encoder runs
  // 10 positions instead of 77; the pooled outputs must equal a full-length reference run.
  auto tokens = torch::zeros({2, 77}, torch::kLong);
  tokens.index_put_({0, torch::indexing::Slice(0, 4)}, torch::tensor({998, 5, 6, 999}));
  tokens.index_put_({1, torch::indexing::Slice(0, 10)}, torch::tensor({998, 1, 2, 3, 4, 5, 6, 7, 8, 999}));
  auto trimmed = model->encode_text(tokens);
  // Full-length computation, written out: every position through the blocks.
  auto x = model->token_embedding(tokens) + model->positional_embedding;
  x = model->ln_final(model->transformer(x, clip::AttentionMask::causal));
  auto eot = tokens.argmax(-1);
  auto full = torch::matmul(x.index({torch::arange(2), eot}), model->text_projection);
  EXPECT_TRUE(torch::allclose(trimmed, full, 1e-5, 1e-6)) << (trimmed - full).abs().max();
}

// Trimming on the host once is what lets GPU tokens skip the per-call max(eot) sync: the trimmed
// tokens must give the full-length features, and keep exactly the positions up to the last eot.
TEST(ClipText, TrimContextKeepsThePositionsUpToTheLastEndOfText) {
  auto tokens = torch::zeros({3, 77}, torch::kLong);
  tokens.index_put_({0, torch::indexing::Slice(0, 3)}, torch::tensor({998, 5, 999}));
  tokens.index_put_({1, torch::indexing::Slice(0, 7)}, torch::tensor({998, 1, 2, 3, 4, 5, 999}));
  tokens.index_put_({2, torch::indexing::Slice(0, 2)}, torch::tensor({998, 999}));
  const auto trimmed = clip::trim_context(tokens);
  EXPECT_EQ(trimmed.sizes(), (torch::IntArrayRef{3, 7}));
  EXPECT_TRUE(trimmed.is_contiguous());
  EXPECT_TRUE(torch::equal(trimmed, tokens.narrow(1, 0, 7)));
  EXPECT_TRUE(torch::equal(trimmed.argmax(-1), tokens.argmax(-1)));

  torch::manual_seed(0);
  clip::CLIP model(clip::CLIPConfig{16, 32, 1, 64, 16, 77, 1000, 32, 2, 2});
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model->encode_text(trimmed), model->encode_text(tokens)));
  EXPECT_THROW(clip::trim_context(tokens.to(torch::kFloat32)), c10::Error);
  EXPECT_THROW(clip::trim_context(tokens[0]), c10::Error);
}

TEST(ClipPresets, VitB16ParameterCountAndNames) {
  clip::CLIP model(clip::clip_config_preset("ViT-B/16"));
  int64_t total = 0, visual = 0;
  for (const auto& p : model->named_parameters()) {
    total += p.value().numel();
    if (p.key().rfind("visual.", 0) == 0) visual += p.value().numel();
  }
  EXPECT_EQ(total, 149620737);
  EXPECT_EQ(visual, 86192640);
  EXPECT_EQ(model->named_buffers().size(), 0u);
}

TEST(ClipPresets, VitB16KeysMapOneToOneToOpenAINames) {
  clip::CLIP model(clip::clip_config_preset("ViT-B-16"));
  std::set<std::string> keys;
  for (const auto& p : model->named_parameters()) keys.insert(p.key());
  // OpenAI's ViT-B/16 state_dict: 5 visual stem + 12 x 12 visual block + 3 visual head tensors,
  // 2 text stem + 12 x 12 text block + 3 text head tensors, logit_scale.
  EXPECT_EQ(keys.size(), 5u + 144u + 3u + 2u + 144u + 3u + 1u);
  for (const char* key : {"visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding",
                          "visual.ln_pre.weight", "visual.ln_pre.bias", "visual.transformer.resblocks.11.attn.in_proj_weight",
                          "visual.transformer.resblocks.0.attn.in_proj_bias", "visual.transformer.resblocks.3.attn.out_proj.weight",
                          "visual.transformer.resblocks.3.attn.out_proj.bias", "visual.transformer.resblocks.5.ln_1.weight",
                          "visual.transformer.resblocks.5.mlp.c_fc.weight", "visual.transformer.resblocks.5.mlp.c_proj.bias",
                          "visual.transformer.resblocks.5.ln_2.bias", "visual.ln_post.weight", "visual.proj",
                          "token_embedding.weight", "positional_embedding", "transformer.resblocks.11.mlp.c_fc.bias",
                          "ln_final.weight", "ln_final.bias", "text_projection", "logit_scale"})
    EXPECT_TRUE(keys.count(key)) << key;
  const auto state = model->named_parameters();
  EXPECT_EQ(state["visual.conv1.weight"].sizes(), torch::IntArrayRef({768, 3, 16, 16}));
  EXPECT_EQ(state["visual.positional_embedding"].sizes(), torch::IntArrayRef({197, 768}));
  EXPECT_EQ(state["visual.proj"].sizes(), torch::IntArrayRef({768, 512}));
  EXPECT_EQ(state["text_projection"].sizes(), torch::IntArrayRef({512, 512}));
  EXPECT_EQ(state["transformer.resblocks.0.attn.in_proj_weight"].sizes(), torch::IntArrayRef({1536, 512}));
}

TEST(ClipPresets, VitB16ForwardShapes) {
  clip::CLIP model(clip::clip_config_preset("ViT-B/16"));
  model->eval();
  c10::InferenceMode inference;
  auto images = torch::randn({2, 3, 224, 224});
  EXPECT_EQ(model->encode_image(images).sizes(), torch::IntArrayRef({2, 512}));
  auto tokens = torch::zeros({3, 77}, torch::kLong);
  tokens.index_put_({torch::indexing::Slice(), 0}, 49406);
  tokens.index_put_({torch::indexing::Slice(), 1}, 49407);
  EXPECT_EQ(model->encode_text(tokens).sizes(), torch::IntArrayRef({3, 512}));
}

TEST(ClipPresets, UnknownPresetListsValidNames) {
  try {
    clip::clip_config_preset("ViT-H/14");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ViT-H/14"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("ViT-B/16"), std::string::npos);
  }
}

// The MLP runs QuickGELU as SiLU with 1.702 folded into the weights; the result must equal the
// plain formula with and without gradients and after in-place weight updates (an optimiser step).
TEST(Transformer, FoldedMlpMatchesQuickGeluAndFollowsWeightUpdates) {
  torch::manual_seed(0);
  clip::Mlp mlp(8, 32);
  const auto x = torch::randn({2, 3, 8});
  auto unfolded = [&] { return mlp->c_proj(clip::quick_gelu(mlp->c_fc(x))); };
  EXPECT_TRUE(torch::allclose(mlp(x), unfolded(), 1e-5, 1e-6));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(mlp(x), unfolded(), 1e-5, 1e-6));
  mlp->c_fc->weight.add_(0.1);
  mlp->c_proj->weight.mul_(0.5);
  EXPECT_TRUE(torch::allclose(mlp(x), unfolded(), 1e-5, 1e-6));
}

}  // namespace
}  // namespace vifi

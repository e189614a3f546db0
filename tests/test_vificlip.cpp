// ViFi-CLIP model: temporal pooling, fusion modes (Table 5), prompts, and which parameters
// train in `both`, `image` and `text` modes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/tiny_model.h"
#include "vifi/train/optimizer.h"

namespace vifi {
namespace {

using test::kActionClasses;

model::ViFiCLIPOptions with_fusion(model::Fusion fusion) {
  model::ViFiCLIPOptions o;
  o.fusion = fusion;
  return o;
}

TEST(ViFiCLIP, PromptsWrapClassNames) {
  auto m = test::tiny_vificlip({"brush_hair", "golf"});
  EXPECT_EQ(m->prompts(), (std::vector<std::string>{"a photo of a brush_hair.", "a photo of a golf."}));
  model::ViFiCLIPOptions zs;
  zs.zero_shot_prompt = true;
  EXPECT_EQ(model::class_prompt("golf", zs), "golf");
  model::ViFiCLIPOptions custom;
  custom.prompt.ctx_init = "a_video_of";
  EXPECT_EQ(model::class_prompt("golf", custom), "a video of golf.");
}

// Two label-list classes of the same 90 words and then "a cat" / "a dog" would share a cut prompt
// and a score: the reference's clip.tokenize refuses them, and so does vifi, naming the class.
TEST(ViFiCLIP, AClassNameLongerThanTheContextIsAnErrorNamingIt) {
  std::string words;
  for (int i = 0; i < 90; ++i) words += "word ";
  try {
    test::tiny_vificlip({"archery", words + "a cat", words + "a dog"});
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("class '" + words + "a cat'"), std::string::npos) << message;
    EXPECT_NE(message.find("is 99 tokens, more than CLIP's context of 77"), std::string::npos) << message;
  }
  // The longest that fits: "a photo of a " (4) + 70 words + "." + start + end = 77.
  std::string fits;
  for (int i = 0; i < 70; ++i) fits += "word ";
  EXPECT_NO_THROW(test::tiny_vificlip({"archery", fits}));
  EXPECT_THROW(test::tiny_vificlip({"archery", fits + "more"}), std::invalid_argument);
}

TEST(ViFiCLIP, ClassesWhosePromptsTokenizeAlikeAreReported) {
  testing::internal::CaptureStderr();  // without a sink, util/logging writes there
  auto model = test::tiny_vificlip({"Push up", "push  up", "archery"});  // case and spaces are cleaned away
  const auto log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("classes 'Push up' and 'push  up' give the same prompt tokens"), std::string::npos) << log;
  testing::internal::CaptureStderr();
  model->set_class_names(kActionClasses);
  EXPECT_EQ(testing::internal::GetCapturedStderr().find("same prompt tokens"), std::string::npos);
}

TEST(ViFiCLIP, EmbeddingFusionIsCosineOfTheTemporalMean) {
  auto m = test::tiny_vificlip(kActionClasses);
  m->eval();
  torch::NoGradGuard no_grad;
  auto video = torch::randn({2, 4, 3, 32, 32});
  auto logits = m->forward(video);
  ASSERT_EQ(logits.sizes(), torch::IntArrayRef({2, 3}));
  // Written out: frames one by one through CLIP, mean over time, normalise, scale.
  auto frames = m->clip()->encode_image(video.flatten(0, 1)).view({2, 4, -1});
  auto v = frames.mean(1);
  v = v / v.norm(2, -1, true);
  auto t = m->clip()->encode_text(test::shared_tokenizer()->tokenize(m->prompts()));
  t = t / t.norm(2, -1, true);
  auto expected = m->clip()->logit_scale.exp() * v.matmul(t.t());
  EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-5));
}

TEST(ViFiCLIP, DecisionFusionAveragesPerFrameLogits) {
  auto m = test::tiny_vificlip(kActionClasses, with_fusion(model::Fusion::decision));
  m->eval();
  torch::NoGradGuard no_grad;
  auto video = torch::randn({2, 3, 3, 32, 32});
  auto logits = m->forward(video);
  auto text = m->text_features();
  auto per_frame = torch::stack({clip::scaled_cosine_logits(m->clip()->encode_image(video.select(1, 0)), text, m->clip()->logit_scale),
                                 clip::scaled_cosine_logits(m->clip()->encode_image(video.select(1, 1)), text, m->clip()->logit_scale),
                                 clip::scaled_cosine_logits(m->clip()->encode_image(video.select(1, 2)), text, m->clip()->logit_scale)},
                                1);
  EXPECT_TRUE(torch::allclose(logits, per_frame.mean(1), 1e-5, 1e-5));
  // Embedding fusion differs from decision fusion on the same weights (normalise-then-average).
  auto emb = test::tiny_vificlip(kActionClasses, with_fusion(model::Fusion::embedding));
  emb->eval();
  EXPECT_FALSE(torch::allclose(emb->forward(video), logits, 1e-4, 1e-4));
}

TEST(ViFiCLIP, ImageFusionTrainsOnEveryFrame) {
  auto m = test::tiny_vificlip(kActionClasses, with_fusion(model::Fusion::image));
  auto video = torch::randn({2, 3, 3, 32, 32});
  m->train();
  auto train_logits = m->forward(video);
  EXPECT_EQ(train_logits.sizes(), torch::IntArrayRef({2, 3, 3}));  // [B,T,C]
  m->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(m->forward(video), train_logits.detach().mean(1), 1e-5, 1e-5));
}

std::set<std::string> trainable(const model::ViFiCLIP& m) {
  auto names = m->trainable_parameter_names();
  return {names.begin(), names.end()};
}

TEST(ViFiCLIP, TrainableEncodersFollowUse) {
  model::ViFiCLIPOptions o;
  auto both = test::tiny_vificlip(kActionClasses, o);
  EXPECT_TRUE(trainable(both).count("visual.conv1.weight"));
  EXPECT_TRUE(trainable(both).count("transformer.resblocks.0.attn.in_proj_weight"));
  EXPECT_TRUE(trainable(both).count("logit_scale"));
  EXPECT_FALSE(trainable(both).count("token_embedding.weight"));  // prompt embeddings are fixed, as in the reference

  o.use = model::TrainableEncoders::image;
  auto image = test::tiny_vificlip(kActionClasses, o);
  for (const auto& name : trainable(image)) EXPECT_EQ(name.rfind("visual.", 0), 0u) << name;
  EXPECT_EQ(trainable(image).size(), 5u + 12u * 2 + 3u);

  o.use = model::TrainableEncoders::text;
  auto text = test::tiny_vificlip(kActionClasses, o);
  const auto names = trainable(text);
  for (const auto& name : names) EXPECT_NE(name.rfind("visual.", 0), 0u) << name;
  EXPECT_TRUE(names.count("text_projection") && names.count("positional_embedding") && names.count("ln_final.weight"));
  EXPECT_FALSE(names.count("logit_scale"));
}

// After a few AdamW steps on a loss through both towers, frozen parameters are bitwise
// unchanged and received no gradient; trained ones moved.
void check_frozen_after_steps(model::TrainableEncoders use) {
  model::ViFiCLIPOptions o;
  o.use = use;
  auto m = test::tiny_vificlip(kActionClasses, o);
  m->train();
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : m->named_parameters()) before[p.key()] = p.value().detach().clone();
  vifi::TrainConfig tc;
  tc.lr = 1e-3;
  auto opt = train::make_adamw(train::trainable_parameters(*m), tc);
  auto video = torch::randn({2, 2, 3, 32, 32});
  auto labels = torch::tensor({0, 2});
  for (int step = 0; step < 2; ++step) {
    opt->zero_grad();
    torch::nn::functional::cross_entropy(m->forward(video), labels).backward();
    opt->step();
  }
  for (const auto& p : m->named_parameters()) {
    const bool frozen = !p.value().requires_grad();
    if (frozen) {
      EXPECT_FALSE(p.value().grad().defined()) << p.key();
      EXPECT_TRUE(torch::equal(p.value(), before[p.key()])) << p.key() << " changed while frozen";
    } else if (p.key() != "visual.class_embedding") {
      EXPECT_FALSE(torch::equal(p.value(), before[p.key()])) << p.key() << " did not train";
    }
  }
}

TEST(ViFiCLIP, FrozenTextSideIsUnchangedInImageMode) { check_frozen_after_steps(model::TrainableEncoders::image); }
TEST(ViFiCLIP, FrozenImageSideIsUnchangedInTextMode) { check_frozen_after_steps(model::TrainableEncoders::text); }

// CLIP's text tower run by hand on the model's prompts, bypassing text_features().
torch::Tensor uncached_text_features(model::ViFiCLIP& m) {
  torch::NoGradGuard no_grad;
  return m->clip()->encode_text(test::shared_tokenizer()->tokenize(m->prompts()));
}

TEST(ViFiCLIP, CachedTextFeaturesEqualFreshOnesWhenTextIsFrozen) {
  model::ViFiCLIPOptions o;
  o.use = model::TrainableEncoders::image;
  auto m = test::tiny_vificlip(kActionClasses, o);
  const auto first = m->text_features();  // [C,D]
  EXPECT_FALSE(first.requires_grad());
  EXPECT_TRUE(torch::allclose(first, uncached_text_features(m), 1e-6, 1e-7));
  // Served from the cache: the same storage again, and an in-place change to a frozen text
  // weight is not seen until the cache is cleared.
  EXPECT_EQ(m->text_features().data_ptr(), first.data_ptr());
  {
    torch::NoGradGuard no_grad;
    m->clip()->text_projection.mul_(2.0);
  }
  EXPECT_EQ(m->text_features().data_ptr(), first.data_ptr());
  const auto doubled = uncached_text_features(m);
  EXPECT_TRUE(torch::allclose(doubled, 2.0 * first, 1e-6, 1e-7));
  m->clear_text_cache();
  EXPECT_TRUE(torch::allclose(m->text_features(), doubled, 1e-6, 1e-7));
  // Results under InferenceMode are never cached (they could not enter a training graph).
  {
    c10::InferenceMode inference;
    const auto a = m->text_features(), b = m->text_features();
    EXPECT_NE(a.data_ptr(), b.data_ptr());
  }
  // A new class set replaces the cached features.
  m->set_class_names({"golf", "archery"});
  EXPECT_EQ(m->text_features().size(0), 2);
  EXPECT_TRUE(torch::allclose(m->text_features(), uncached_text_features(m), 1e-6, 1e-7));
}

TEST(ViFiCLIP, TextFeaturesAreRecomputedWhileTheTextSideTrains) {
  auto m = test::tiny_vificlip(kActionClasses);  // `both`: the text tower trains
  const auto first = m->text_features();
  EXPECT_TRUE(first.requires_grad());
  {
    torch::NoGradGuard no_grad;
    m->clip()->text_projection.mul_(2.0);
  }
  EXPECT_TRUE(torch::allclose(m->text_features(), 2.0 * first.detach(), 1e-6, 1e-7));
}

}  // namespace
}  // namespace vifi

namespace vifi {
namespace {

// TRAIN.USE_CHECKPOINT: recomputing block activations in backward gives the same loss and
// gradients as keeping them.
TEST(GradientCheckpointing, SameLossAndGradientsAsPlainBackward) {
  auto video = torch::randn({2, 2, 3, 32, 32});
  auto labels = torch::tensor({1, 0});
  std::map<std::string, torch::Tensor> grads[2];
  double losses[2];
  for (int checkpointed = 0; checkpointed < 2; ++checkpointed) {
    auto m = test::tiny_vificlip(kActionClasses, {}, /*seed=*/5);
    m->clip()->visual->transformer->set_gradient_checkpointing(checkpointed);
    m->clip()->transformer->set_gradient_checkpointing(checkpointed);
    m->train();
    auto loss = torch::nn::functional::cross_entropy(m->forward(video), labels);
    loss.backward();
    losses[checkpointed] = loss.item<double>();
    for (const auto& p : m->named_parameters())
      if (p.value().grad().defined()) grads[checkpointed][p.key()] = p.value().grad().clone();
  }
  EXPECT_DOUBLE_EQ(losses[0], losses[1]);
  ASSERT_EQ(grads[0].size(), grads[1].size());
  EXPECT_TRUE(grads[1].count("visual.transformer.resblocks.0.mlp.c_fc.weight"));
  for (const auto& [name, g] : grads[0])
    EXPECT_TRUE(torch::allclose(g, grads[1].at(name), 1e-5, 1e-7)) << name;
}

}  // namespace
}  // namespace vifi

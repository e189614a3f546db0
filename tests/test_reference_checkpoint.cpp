// model/reference_checkpoint + model/weights: torch.save files of other people's code. A tiny
// CLIP's state in the authors' layout and in OpenAI's (with and without `module.`, with the
// TorchScript attributes) loads with every tensor equal; the authors' own released-format files
// (tests/fixtures/vificlip_ref, made by their code) bring their prompts, sizes and CTX_INIT;
// errors name the key or the missing --clip.
#include <gtest/gtest.h>

#include "support/test_paths.h"
#include "support/tiny_model.h"
#include "vifi/clip/openai_weights.h"
#include "vifi/model/reference_checkpoint.h"
#include "vifi/model/weights.h"

namespace vifi {
namespace {

using test::fixture;

// The reference's names for a vifi/OpenAI state (the inverse of the documented mapping).
util::StateDict to_reference_layout(const util::StateDict& state) {
  util::StateDict out;
  for (const auto& [key, value] : state) {
    if (key.rfind("visual.", 0) == 0)
      out["module.image_encoder." + key.substr(7)] = value;
    else if (key == "logit_scale" || key == "token_embedding.weight")
      out["module." + key] = value;
    else
      out["module.text_encoder." + key] = value;
  }
  out["module.prompt_learner.complete_text_embeddings"] = torch::randn({3, 77, 64});  // rebuilt, ignored
  out["module.prompt_learner.ctx"] = torch::randn({4, 64});
  return out;
}

TEST(ReferenceCheckpoint, ConvertedLayoutLoadsExactly) {
  torch::manual_seed(3);
  clip::CLIP original(test::tiny_clip_config());
  const auto state = util::module_state(*original);
  const auto path = (test::scratch_dir() / "converted.pt").string();
  model::write_reference_checkpoint(path, to_reference_layout(state));

  EXPECT_EQ(model::detect_weights_kind(path), model::WeightsKind::torch_save);
  const auto mapped = model::map_reference_state(model::read_reference_checkpoint(path).state, path);
  EXPECT_EQ(mapped.prompts.count("prompt_learner.text_ctx"), 1u);
  EXPECT_EQ(mapped.clip.size(), state.size());
  auto loaded = model::load_clip(path);
  for (const auto& [key, value] : util::module_state(*loaded)) {
    ASSERT_TRUE(state.count(key)) << key;
    EXPECT_TRUE(torch::equal(value, state.at(key))) << key;
  }
}

TEST(ReferenceCheckpoint, ErrorsNameTheKey) {
  const auto dir = test::scratch_dir();
  const auto no_token = (dir / "no_token.pt").string();
  model::write_reference_checkpoint(no_token, {{"module.logit_scale", torch::ones({})}});
  try {
    model::load_clip(no_token);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no token_embedding.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--clip ViT-B-16.pt"), std::string::npos) << e.what();
  }
  util::StateDict odd{{"module.head.weight", torch::ones({1})}, {"token_embedding.weight", torch::ones({1})}};
  try {
    model::map_reference_state(odd, "x.pt");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("x.pt: unexpected key 'module.head.weight'"), std::string::npos) << e.what();
  }
  util::StateDict gap{{"module.image_encoder.VPT", torch::ones({4, 8})},
                      {"module.image_encoder.transformer.resblocks.2.VPT_shallow", torch::ones({4, 8})}};
  try {
    model::map_reference_state(gap, "gap.pth");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("vision prompts of block 2 without those of block 1"), std::string::npos) << e.what();
  }
}

// torch.save(jit_model.state_dict()) as the recipe makes it: OpenAI's names, fp16, and
// (when not dropped) the archive's input_resolution/context_length/vocab_size.
TEST(ReferenceCheckpoint, PlainOpenAIStateDictsLoadWithOrWithoutModulePrefix) {
  const auto archive = fixture("clip_tiny/clip_tiny.pt");
  const auto openai = util::module_state(*clip::load_openai_clip(archive));
  const auto raw = clip::read_torchscript_state(archive);
  const auto dir = test::scratch_dir();
  util::StateDict plain, ddp;
  for (const auto& [key, value] : raw) {
    if (!clip::openai_metadata_keys().count(key)) plain[key] = value;
    ddp["module." + key] = value;
  }
  for (const auto& [name, state] : {std::pair{"sd.pt", plain}, std::pair{"sd_module.pt", ddp}}) {
    const auto path = (dir / name).string();
    model::write_reference_checkpoint(path, state);
    const auto loaded = util::module_state(*model::load_clip(path));
    ASSERT_EQ(loaded.size(), openai.size()) << name;
    for (const auto& [key, value] : openai) EXPECT_TRUE(torch::equal(loaded.at(key), value)) << name << " " << key;
  }
}

TEST(ReferenceCheckpoint, ReleasedFilesBringTheirPromptsSizesAndTemplate) {
  const auto archive = fixture("clip_tiny/clip_tiny.pt");
  const auto prompted = model::read_model_weights(fixture("vificlip_ref/vl_prompted.pth"), archive);
  EXPECT_TRUE(prompted.prompt.enabled);
  EXPECT_EQ(prompted.prompt.n_ctx_text, 4);
  EXPECT_EQ(prompted.prompt.n_ctx_vision, 4);
  EXPECT_EQ(prompted.prompt.depth_text, 2);
  EXPECT_EQ(prompted.prompt.depth_vision, 2);
  EXPECT_EQ(prompted.prompt.ctx_init, "a photo of a");
  EXPECT_EQ(prompted.prompts.at("prompt_learner.vision_deep").sizes(), (std::vector<int64_t>{1, 4, 64}));
  // The token embedding is the archive's; everything else the file's own fine-tuned weights.
  const auto base = util::module_state(*clip::load_openai_clip(archive));
  EXPECT_TRUE(torch::equal(prompted.clip.at("token_embedding.weight"), base.at("token_embedding.weight")));
  EXPECT_FALSE(torch::allclose(prompted.clip.at("visual.proj"), base.at("visual.proj")));

  const auto finetuned = model::read_model_weights(fixture("vificlip_ref/finetuned.pth"), archive);
  EXPECT_FALSE(finetuned.prompt.enabled);
  EXPECT_TRUE(finetuned.prompts.empty());
  // Prompting reads "_" in class names as a space, as the reference's prompt learner does;
  // the fine-tuned model's plain template keeps it.
  auto vl = model::load_vificlip(fixture("vificlip_ref/vl_prompted.pth"), archive, {"ice_skating"});
  EXPECT_EQ(vl->prompts().front(), "a photo of a ice skating.");
  auto ft = model::load_vificlip(fixture("vificlip_ref/finetuned.pth"), archive, {"ice_skating"});
  EXPECT_EQ(ft->prompts().front(), "a photo of a ice_skating.");
}

}  // namespace
}  // namespace vifi

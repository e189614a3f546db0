// model/weights_export: every format reads back bit for bit; the vificlip file holds exactly the
// tensors of the authors' own checkpoint under their names (tests/fixtures/vificlip_ref, made by
// their trainers/vificlip.py); the openai file of OpenAI's archive gives OpenAI's features.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/clip/openai_weights.h"
#include "vifi/model/reference_checkpoint.h"
#include "vifi/model/weights_export.h"
#include "vifi/util/npy.h"
#include "vifi/util/torch_load.h"

namespace vifi {
namespace {

using test::fixture;

void expect_same_state(const util::StateDict& got, const util::StateDict& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const auto& [key, tensor] : want) {
    const auto it = got.find(key);
    ASSERT_NE(it, got.end()) << what << ": no " << key;
    EXPECT_EQ(it->second.scalar_type(), tensor.scalar_type()) << what << ": " << key;
    EXPECT_TRUE(torch::equal(it->second, tensor)) << what << ": " << key;
  }
}

model::ModelWeights authors(const std::string& name) {
  return model::read_model_weights(fixture("vificlip_ref/" + name + ".pth"), fixture("clip_tiny/clip_tiny.pt"));
}

class ExportRoundTrip : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ExportRoundTrip, ReadsBackBitForBit) {
  const auto [checkpoint, format] = GetParam();
  const auto original = authors(checkpoint);
  const auto path = (test::scratch_dir() / ("model." + format)).string();
  model::export_weights(original, model::parse_export_format(format), path);
  const auto back = model::read_model_weights(path);  // no --clip: the file carries the token embedding
  expect_same_state(back.clip, original.clip, format + " clip");
  expect_same_state(back.prompts, original.prompts, format + " prompts");
  EXPECT_EQ(back.prompt.enabled, original.prompt.enabled);
  EXPECT_EQ(back.prompt.n_ctx_text, original.prompt.n_ctx_text);
  EXPECT_EQ(back.prompt.depth_vision, original.prompt.depth_vision);
  if (format != "openai") {  // OpenAI's layout has no config
    EXPECT_EQ(back.prompt.ctx_init, original.prompt.ctx_init);
    EXPECT_EQ(back.zero_shot_prompt, original.zero_shot_prompt);
  }
}

// (openai refuses a prompted model: tested below.)
INSTANTIATE_TEST_SUITE_P(AuthorsCheckpoints, ExportRoundTrip,
                         ::testing::Values(std::make_tuple("finetuned", "openai"), std::make_tuple("finetuned", "vificlip"),
                                           std::make_tuple("finetuned", "safetensors"),
                                           std::make_tuple("vl_prompted", "vificlip"),
                                           std::make_tuple("vl_prompted", "safetensors")));

// The oracle is the authors' own file: their notebook drops the three class-dependent prompt
// buffers and loads the rest with load_state_dict(strict=False), so every other tensor must be
// there under the same name with the same values.
TEST(ExportVificlip, HoldsTheAuthorsTensorsUnderTheirNames) {
  for (const std::string name : {"finetuned", "vl_prompted"}) {
    const auto ref = model::read_reference_checkpoint(fixture("vificlip_ref/" + name + ".pth")).state;
    const auto path = (test::scratch_dir() / "vificlip.pth").string();
    model::export_weights(authors(name), model::ExportFormat::vificlip, path);
    const auto ours = model::read_reference_checkpoint(path).state;
    size_t compared = 0;
    for (const auto& [key, tensor] : ref) {
      if (key.find("token_prefix") != std::string::npos || key.find("token_suffix") != std::string::npos ||
          key.find("complete_text_embeddings") != std::string::npos)
        continue;
      const auto it = ours.find(key);
      ASSERT_NE(it, ours.end()) << name << ": the export lacks the authors' key " << key;
      EXPECT_TRUE(torch::equal(it->second, tensor.to(torch::kFloat32))) << name << ": " << key;
      ++compared;
    }
    // One extra: CLIP's token embedding, which their model does not hold (strict=False ignores it).
    EXPECT_EQ(ours.size(), compared + 1) << name;
    EXPECT_TRUE(ours.count("module.token_embedding.weight")) << name;
    EXPECT_GT(compared, 20u) << name;
  }
}

TEST(ExportOpenai, OpenaisArchiveExportsToOpenaisFeatures) {
  const auto archive = fixture("clip_tiny/clip_tiny.pt");
  const auto path = (test::scratch_dir() / "openai.pt").string();
  model::export_weights(model::read_model_weights(archive), model::ExportFormat::openai, path);
  // The names and values of OpenAI's state_dict (as clip.load(jit=False) hands it to build_model).
  const auto file = util::torch_load(path);
  size_t keys = 0;
  for (const auto& [key, tensor] : clip::read_torchscript_state(archive)) {
    if (clip::openai_metadata_keys().count(key)) continue;
    const auto* value = file.root().get(key);
    ASSERT_NE(value, nullptr) << key;
    EXPECT_TRUE(torch::equal(file.tensor(*value), tensor.to(torch::kFloat32))) << key;
    ++keys;
  }
  EXPECT_EQ(file.root().entries.size(), keys);
  // And the model built from it computes what OpenAI's code computed from the archive.
  auto clip = model::load_clip(path);
  clip->eval();
  torch::NoGradGuard no_grad;
  const auto features = clip->encode_image(util::load_npy(fixture("clip_tiny/images.npy")));
  EXPECT_TRUE(torch::allclose(features, util::load_npy(fixture("clip_tiny/image_features.npy")), 1e-5, 1e-5));
}

TEST(ExportOpenai, RefusesAModelWithPromptsAndNamesTheFormatsThatKeepThem) {
  const auto path = (test::scratch_dir() / "openai.pt").string();
  test::expect_error<std::runtime_error>(
      [&] { model::export_weights(authors("vl_prompted"), model::ExportFormat::openai, path); },
      {"openai.pt", "learned prompts", "--format vificlip"});
  test::expect_error<std::invalid_argument>([] { model::parse_export_format("onnx"); }, {"--format onnx", "openai, vificlip or safetensors"});
}

}  // namespace
}  // namespace vifi

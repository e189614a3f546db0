// model/reference_checkpoint: a tiny CLIP's state saved in the authors' layout (module.image_encoder.*,
// module.text_encoder.*, prompt_learner buffers) in the converter's format loads through
// model::load_clip with every tensor equal, and layout errors name the key.
#include <gtest/gtest.h>

#include "support/test_paths.h"
#include "support/tiny_model.h"
#include "vifi/model/reference_checkpoint.h"
#include "vifi/model/weights.h"

namespace vifi {
namespace {

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

  EXPECT_EQ(model::detect_weights_kind(path), model::WeightsKind::reference_checkpoint);
  const auto mapped = model::map_reference_state(model::read_reference_checkpoint(path), path);
  EXPECT_EQ(mapped.prompt.count("prompt_learner.ctx"), 1u);
  EXPECT_EQ(mapped.clip.size(), state.size());
  auto loaded = model::load_clip(path);
  for (const auto& [key, value] : util::module_state(*loaded)) {
    ASSERT_TRUE(state.count(key)) << key;
    EXPECT_TRUE(torch::equal(value, state.at(key))) << key;
  }
}

TEST(ReferenceCheckpoint, ErrorsNameTheKey) {
  util::StateDict no_token{{"module.logit_scale", torch::ones({})}};
  try {
    model::map_reference_state(no_token, "x.pt");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("token_embedding.weight"), std::string::npos) << e.what();
  }
  util::StateDict odd{{"module.head.weight", torch::ones({1})}, {"token_embedding.weight", torch::ones({1})}};
  try {
    model::map_reference_state(odd, "x.pt");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("x.pt: unexpected key 'module.head.weight'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vifi

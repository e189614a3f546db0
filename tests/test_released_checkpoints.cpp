// The authors' released checkpoints, natively: files made by their own trainers/vificlip.py and
// epoch_saving (tools/make_reference_fixtures.py; a fully fine-tuned and a VL-prompted tiny model)
// give the logits their code computed for the same video, through `vifi embed --classes` and
// through a config's MODEL.PRETRAINED.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "support/test_paths.h"
#include "vifi/experiment/components.h"
#include "vifi/util/npy.h"

namespace vifi {
namespace {

using test::fixture;

void expect_reference_logits(const torch::Tensor& got, const std::string& name) {
  const auto want = util::load_npy(fixture("vificlip_ref/logits_" + name + ".npy"));
  ASSERT_EQ(got.sizes(), want.sizes()) << name;
  // The bar: 1e-4 relative.
  EXPECT_TRUE(torch::allclose(got, want, /*rtol=*/1e-4, /*atol=*/0)) << name << ": got " << got << " want " << want;
  EXPECT_GT(want.std().item<double>(), 0.1) << "the fixture's logits must discriminate";
}

class ReleasedCheckpoint : public ::testing::TestWithParam<std::string> {};

TEST_P(ReleasedCheckpoint, EmbedReproducesTheAuthorsLogits) {
  const auto out = test::scratch_dir();
  std::string log;
  ASSERT_EQ(test::run_vifi("embed --weights " + fixture("vificlip_ref/" + GetParam() + ".pth") + " --clip " +
                               fixture("clip_tiny/clip_tiny.pt") + " --classes " + fixture("vificlip_ref/classes.txt") +
                               " --videos " + fixture("clip_tiny/video.npy") + " --out " + out.string(),
                           &log),
            0)
      << log;
  expect_reference_logits(util::load_npy((out / "logits_per_video.npy").string()), GetParam());
  EXPECT_EQ(util::load_npy((out / "text_features.npy").string()).size(0), 3);
}

TEST_P(ReleasedCheckpoint, AConfigsPretrainedModelIsTheAuthorsModel) {
  Config config;
  config.model.pretrained = fixture("vificlip_ref/" + GetParam() + ".pth");
  config.model.clip_archive = fixture("clip_tiny/clip_tiny.pt");
  config.data.input_size = 32;
  const bool prompted = GetParam() == "vl_prompted";
  config.trainer.prompt_model = prompted;
  config.trainer.n_ctx_vision = config.trainer.n_ctx_text = prompted ? 4 : 0;
  config.trainer.prompt_depth_vision = config.trainer.prompt_depth_text = prompted ? 2 : 0;
  auto model = experiment::build_model(config, {"archery", "ice_skating", "playing guitar"});
  model->eval();
  torch::NoGradGuard no_grad;
  expect_reference_logits(model->forward(util::load_npy(fixture("clip_tiny/video.npy"))), GetParam());
}

INSTANTIATE_TEST_SUITE_P(AuthorsCode, ReleasedCheckpoint, ::testing::Values("finetuned", "vl_prompted"));

TEST(ReleasedCheckpointErrors, MissingTokenEmbeddingAndMismatchedPromptConfigAreNamed) {
  std::string log;
  EXPECT_NE(test::run_vifi("embed --weights " + fixture("vificlip_ref/finetuned.pth") + " --classes " +
                               fixture("vificlip_ref/classes.txt") + " --out " + test::scratch_dir().string(),
                           &log),
            0);
  EXPECT_NE(log.find("finetuned.pth: no token_embedding.weight"), std::string::npos) << log;
  EXPECT_NE(log.find("--clip"), std::string::npos) << log;
  const auto dir = test::scratch_dir();
  std::ofstream(dir / "classes.txt") << "archery\n\nplaying guitar\n";
  EXPECT_NE(test::run_vifi("embed --weights " + fixture("vificlip_ref/finetuned.pth") + " --clip " +
                               fixture("clip_tiny/clip_tiny.pt") + " --classes " + (dir / "classes.txt").string() +
                               " --out " + (dir / "out").string(),
                           &log),
            0);
  EXPECT_NE(log.find("classes.txt: line 2 is blank"), std::string::npos) << log;

  Config config;
  config.model.pretrained = fixture("vificlip_ref/vl_prompted.pth");
  config.model.clip_archive = fixture("clip_tiny/clip_tiny.pt");
  config.data.input_size = 32;
  try {
    experiment::build_model(config, {"a", "b"});
    FAIL() << "a prompted file under a config without prompts";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("holds VL prompts (PROMPT_MODEL true, N_CTX_VISION 4, N_CTX_TEXT 4"), std::string::npos) << what;
    EXPECT_NE(what.find("set TRAINER.ViFi_CLIP"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace vifi

// OpenAI archive import: every error names the file and the key; metadata scalars are skipped.
// Broken archives are made here by re-saving the fixture's tensors as a TorchScript module.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <fstream>

#include "support/test_paths.h"
#include "vifi/clip/openai_weights.h"

namespace vifi {
namespace {

using test::fixture;

// Saves `state` as a TorchScript archive with nested submodules named by the dotted keys.
void write_torchscript(const util::StateDict& state, const std::string& path) {
  int counter = 0;
  torch::jit::Module root("__torch__.Root");
  for (const auto& [key, value] : state) {
    torch::jit::Module node = root;  // a handle: registering on it edits the shared object
    std::string rest = key;
    for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
      const auto name = rest.substr(0, dot);
      rest = rest.substr(dot + 1);
      if (!node.hasattr(name)) node.register_module(name, torch::jit::Module("__torch__.M" + std::to_string(counter++)));
      node = node.attr(name).toModule();
    }
    node.register_parameter(rest, value, /*is_buffer=*/false);
  }
  root.save(path);
}

std::string load_error(const std::string& path) {
  try {
    clip::load_openai_clip(path);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

class BrokenArchives : public ::testing::Test {
 protected:
  void SetUp() override {
    state = clip::read_torchscript_state(fixture("clip_tiny/clip_tiny.pt"));
    dir = test::scratch_dir();
  }
  std::string save(const util::StateDict& s, const std::string& name) {
    auto path = (dir / name).string();
    write_torchscript(s, path);
    return path;
  }
  util::StateDict state;
  std::filesystem::path dir;
};

TEST_F(BrokenArchives, RoundTripOfTheFixtureLoads) {
  auto path = save(state, "copy.pt");
  auto model = clip::load_openai_clip(path);
  EXPECT_TRUE(torch::equal(model->visual->proj, state.at("visual.proj").to(torch::kFloat32)));
  EXPECT_EQ(model->visual->proj.scalar_type(), torch::kFloat32);  // fp16 archive -> fp32 model
}

TEST_F(BrokenArchives, MetadataScalarsAreIgnored) {
  auto s = state;
  s["input_resolution"] = torch::tensor(32);
  s["context_length"] = torch::tensor(77);
  s["vocab_size"] = torch::tensor(49408);
  EXPECT_EQ(load_error(save(s, "meta.pt")), "no error");
}

TEST_F(BrokenArchives, MissingKeyIsNamed) {
  auto s = state;
  s.erase("visual.transformer.resblocks.1.mlp.c_fc.bias");
  const auto path = save(s, "missing.pt");
  const auto err = load_error(path);
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("missing key 'visual.transformer.resblocks.1.mlp.c_fc.bias'"), std::string::npos) << err;
}

TEST_F(BrokenArchives, UnexpectedKeyIsNamed) {
  auto s = state;
  s["visual.extra_token"] = torch::zeros({4});
  const auto err = load_error(save(s, "unexpected.pt"));
  EXPECT_NE(err.find("unexpected key 'visual.extra_token' [4]"), std::string::npos) << err;
}

TEST_F(BrokenArchives, ShapeMismatchIsNamed) {
  auto s = state;
  s["ln_final.bias"] = torch::zeros({32});  // width is 64
  const auto err = load_error(save(s, "shape.pt"));
  EXPECT_NE(err.find("shape mismatch for 'ln_final.bias': expected [64], got [32]"), std::string::npos) << err;
}

TEST_F(BrokenArchives, KeyNeededForTheArchitectureIsNamed) {
  auto s = state;
  s.erase("text_projection");
  const auto err = load_error(save(s, "noproj.pt"));
  EXPECT_NE(err.find("missing key 'text_projection'"), std::string::npos) << err;
}

TEST_F(BrokenArchives, NotATorchScriptArchive) {
  const auto path = (dir / "notes.pt").string();
  std::ofstream(path) << "this is not a zip archive\n";
  const auto err = load_error(path);
  EXPECT_NE(err.find(path + ": not a TorchScript archive"), std::string::npos) << err;
}

TEST_F(BrokenArchives, FileNotFound) {
  const auto path = (dir / "ViT-B-16.pt").string();
  EXPECT_EQ(load_error(path), path + ": file not found");
}

TEST(InferConfig, FollowsOpenAIsBuildModelRules) {
  // Shapes of OpenAI's ViT-B/16 archive, without allocating its weights.
  util::StateDict s;
  auto shape = [&](const std::string& k, std::vector<int64_t> sizes) { s[k] = torch::empty(sizes, torch::kHalf); };
  shape("visual.conv1.weight", {768, 3, 16, 16});
  shape("visual.positional_embedding", {197, 768});
  for (int i = 0; i < 12; ++i) {
    shape("visual.transformer.resblocks." + std::to_string(i) + ".attn.in_proj_weight", {2304, 768});
    shape("transformer.resblocks." + std::to_string(i) + ".attn.in_proj_weight", {1536, 512});
  }
  shape("text_projection", {512, 512});
  shape("positional_embedding", {77, 512});
  shape("token_embedding.weight", {49408, 512});
  shape("ln_final.weight", {512});
  EXPECT_EQ(clip::infer_clip_config(s, "ViT-B-16.pt"), clip::clip_config_preset("ViT-B/16"));
  s["visual.layer1.0.conv1.weight"] = torch::empty({1});
  EXPECT_THROW(clip::infer_clip_config(s, "RN50.pt"), std::runtime_error);
}

// The text tower's head count leaves no trace in the shapes; OpenAI's build_model takes width / 64.
// Every preset keeps that rule, so a vifi checkpoint (`vifi demo`'s vifi-tiny included) and its
// `vifi export --format openai` build into the model that trained, in vifi and in OpenAI's code.
TEST(OpenAIWeights, EveryPresetKeepsOpenAIsHeadRuleAndInfersBackToItself) {
  for (const auto& name : clip::clip_config_preset_names()) {
    const auto preset = clip::clip_config_preset(name);
    EXPECT_EQ(preset.transformer_heads, preset.transformer_width / 64) << name;
  }
  const auto tiny = clip::clip_config_preset("vifi-tiny");
  clip::CLIP model(tiny);
  EXPECT_EQ(clip::infer_clip_config(util::module_state(*model), "tiny.pth"), tiny);
}

}  // namespace
}  // namespace vifi

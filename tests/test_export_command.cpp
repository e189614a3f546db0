// `vifi export` as users run it, checked from Python (tools/check_export.py: PyTorch's own
// torch.load and a safetensors reader written from the specification) against the files the
// exports came from: OpenAI's archive and the authors' checkpoints. A model fine-tuned by
// `vifi demo` exports to all three formats and each gives that model's logits back in vifi; the
// openai file gives the features OpenAI's own build_model gives for it.
#include <gtest/gtest.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <torch/torch.h>

#include "support/demo_model.h"
#include "support/test_paths.h"
#include "vifi/util/npy.h"

namespace vifi {
namespace {

using test::fixture;

const std::string kTools = std::string(VIFI_FIXTURES) + "/../../tools";

// Debian's interpreter, where python3-torch lives (a pyenv python3 earlier on PATH has no torch).
std::string python() { return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

// Runs tools/check_export.py; skips the test where Debian's python3-torch is missing (exit 77).
void python_check(const std::string& args) {
  std::string out;
  const int rc = test::run_command(python() + " " + kTools + "/check_export.py " + args, &out);
  if (rc == 77) GTEST_SKIP() << "no PyTorch for python3 here: " << out;
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("OK: "), std::string::npos) << out;
}

// Exports `weights` into `dir` (default: a fresh scratch folder).
std::string export_file(const std::string& weights, const std::string& format, const std::string& extra = "",
                        std::filesystem::path dir = {}) {
  if (dir.empty()) dir = test::scratch_dir();
  const auto out = (dir / ("model." + format)).string();
  std::string log;
  EXPECT_EQ(test::run_vifi("export --weights " + weights + " --format " + format + " --out " + out + " " + extra, &log), 0) << log;
  EXPECT_NE(log.find("wrote " + out), std::string::npos) << log;
  return out;
}

TEST(ExportCommand, OpenaiFileOfOpenaisArchiveIsOpenaisStateDictInPython) {
  const auto archive = fixture("clip_tiny/clip_tiny.pt");
  python_check("openai " + export_file(archive, "openai") + " --archive " + archive);
}

class ExportAuthors : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(ExportAuthors, PythonReadsTheAuthorsTensors) {
  const auto [checkpoint, format] = GetParam();
  const auto source = fixture("vificlip_ref/" + checkpoint + ".pth");
  python_check(format + " " + export_file(source, format, "--clip " + fixture("clip_tiny/clip_tiny.pt")) + " --authors " + source);
}

INSTANTIATE_TEST_SUITE_P(Formats, ExportAuthors,
                         ::testing::Values(std::make_tuple("finetuned", "openai"), std::make_tuple("finetuned", "vificlip"),
                                           std::make_tuple("finetuned", "safetensors"),
                                           std::make_tuple("vl_prompted", "vificlip"),
                                           std::make_tuple("vl_prompted", "safetensors")));

// The "done when": the demo's fine-tuned model, exported to each format, gives the same
// logits through `vifi embed` as the checkpoint itself, bit for bit.
TEST(ExportCommand, TheDemosModelGivesItsLogitsFromEveryFormat) {
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  const auto embed = [&](const std::string& weights) {
    const auto out = dir / ("embed-" + std::filesystem::path(weights).extension().string().substr(1));
    std::string log;
    EXPECT_EQ(test::run_vifi("embed --weights " + weights + " --videos-from " + demo.val_list() + " --classes " +
                                 (dir / "classes.txt").string() + " --out " + out.string(),
                             &log),
              0)
        << log;
    return util::load_npy((out / "logits_per_video.npy").string());
  };
  {
    std::ofstream classes(dir / "classes.txt");
    for (const auto& name : demo.class_names()) classes << name << "\n";
  }
  const auto reference = embed(demo.weights());
  ASSERT_EQ(reference.size(0), 40);
  // The trained model tells the classes apart (so equal logits mean something).
  EXPECT_GT(reference.std().item<double>(), 1.0);
  for (const std::string format : {"openai", "vificlip", "safetensors"}) {
    const auto logits = embed(export_file(demo.weights(), format, "", dir));
    EXPECT_TRUE(torch::equal(logits, reference)) << format << ": max diff " << (logits - reference).abs().max().item<double>();
  }
}

// Runs `vifi embed` on `weights` with normalised videos and class names; returns its --out folder.
std::filesystem::path embed_videos(const std::string& weights, const std::string& videos, const std::string& classes,
                                   const std::filesystem::path& out) {
  std::string log;
  EXPECT_EQ(test::run_vifi("embed --weights " + weights + " --videos " + videos + " --classes " + classes + " --out " + out.string(), &log), 0)
      << log;
  return out;
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double error = ((got - want).abs().max() / want.abs().max()).item<double>();
  EXPECT_LT(error, 1e-5) << what;
}

// OpenAI's clip.model.build_model, given vifi's openai export of the authors' fine-tuned
// checkpoint, built a model whose features and logits are stored in tests/fixtures/openai_export
// (tools/make_export_fixtures.sh). vifi reading its own export must give the same numbers.
TEST(ExportCommand, OpenaiFileGivesTheFeaturesOpenAIsBuildModelGaveForIt) {
  const auto dir = test::scratch_dir();
  const auto file = export_file(fixture("vificlip_ref/finetuned.pth"), "openai", "--clip " + fixture("clip_tiny/clip_tiny.pt"), dir);
  const auto out = embed_videos(file, fixture("clip_tiny/video.npy"), fixture("vificlip_ref/classes.txt"), dir / "embed");
  for (const std::string name : {"video_features", "text_features", "logits_per_video"})
    expect_close(util::load_npy((out / (name + ".npy")).string()), util::load_npy(fixture("openai_export/" + name + ".npy")), name);
}

// The same check live, on the demo's fine-tuned model, where a checkout of openai/CLIP is given
// (VIFI_OPENAI_CLIP=/path/to/CLIP; CI has none, so it skips there and runs where one is).
TEST(ExportCommand, TheDemosOpenaiFileBuildsInOpenAIsCodeIntoTheSameModel) {
  const char* checkout = std::getenv("VIFI_OPENAI_CLIP");
  if (checkout == nullptr || !std::filesystem::exists(std::string(checkout) + "/clip/model.py"))
    GTEST_SKIP() << "VIFI_OPENAI_CLIP does not name a checkout of github.com/openai/CLIP";
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  {
    std::ofstream classes(dir / "classes.txt");
    for (const auto& name : demo.class_names()) classes << name << "\n";
  }
  torch::manual_seed(3);
  const auto videos = (dir / "videos.npy").string();
  util::save_npy(videos, torch::randn({4, 8, 3, 32, 32}));
  const auto file = export_file(demo.weights(), "openai", "", dir);
  const auto out = embed_videos(file, videos, (dir / "classes.txt").string(), dir / "embed");
  python_check("build-model " + file + " --openai-clip " + checkout + " --embed " + out.string() + " --videos " + videos);
}

TEST(ExportCommand, RefusesAPromptedModelAsOpenaiAndAnUnknownFormat) {
  const auto out = (test::scratch_dir() / "x.pt").string();
  std::string log;
  EXPECT_NE(test::run_vifi("export --weights " + fixture("vificlip_ref/vl_prompted.pth") + " --clip " +
                               fixture("clip_tiny/clip_tiny.pt") + " --format openai --out " + out,
                           &log),
            0);
  EXPECT_NE(log.find("learned prompts"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_NE(test::run_vifi("export --weights " + fixture("clip_tiny/clip_tiny.pt") + " --format onnx --out " + out, &log), 0);
  EXPECT_NE(log.find("onnx"), std::string::npos) << log;
}

}  // namespace
}  // namespace vifi

// `vifi predict` end to end on the fixture CLIP and a synthetic video: the ranking and the
// probabilities equal those of the model's logits computed in-process, and unreadable videos
// and empty label lists are reported clearly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "support/test_paths.h"
#include "support/tiny_model.h"
#include "vifi/data/synthetic.h"
#include "vifi/data/video_clip.h"
#include "vifi/model/prompt_checkpoint.h"
#include "vifi/model/weights.h"

namespace vifi {
namespace {

using test::fixture;

const std::vector<std::string> kLabels{"moving up red square", "blue circle", "green triangle", "walking dog",
                                       "playing guitar"};

std::string synthetic_video(const std::filesystem::path& dir) {
  data::SyntheticVideoSpec spec;
  spec.label = 0;
  spec.num_frames = 16;
  const auto path = (dir / "clip.avi").string();
  data::write_synthetic_video(path, spec);
  return path;
}

// (label, probability) in the order the JSON lists them.
std::vector<std::pair<std::string, double>> parse_top(const std::string& json) {
  std::vector<std::pair<std::string, double>> top;
  for (size_t at = json.find("\"label\":\""); at != std::string::npos; at = json.find("\"label\":\"", at + 1)) {
    const auto begin = at + 9, end = json.find('"', begin);
    const auto prob = json.find("\"probability\":", end) + 14;
    top.emplace_back(json.substr(begin, end - begin), std::stod(json.substr(prob)));
  }
  return top;
}

TEST(PredictCommand, RankingEqualsTheOrderOfTheLogits) {
  const auto dir = test::scratch_dir();
  const auto video = synthetic_video(dir);
  std::string labels;
  for (const auto& l : kLabels) labels += (labels.empty() ? "" : ",") + l;
  std::string out;
  ASSERT_EQ(test::run_vifi("predict " + video + " --weights " + fixture("clip_tiny/clip_tiny.pt") + " --labels \"" +
                               labels + "\" --frames 8 --topk 5 --json 2>/dev/null",
                           &out),
            0)
      << out;
  const auto top = parse_top(out);
  ASSERT_EQ(top.size(), 5U) << out;

  c10::InferenceMode inference;
  model::ViFiCLIP model(model::load_clip(fixture("clip_tiny/clip_tiny.pt")), test::shared_tokenizer(), kLabels,
                        model::ViFiCLIPOptions{});
  model->eval();
  data::ClipConfig config;
  config.num_frames = 8;
  config.augment.input_size = config.eval.input_size = 32;
  const auto clip = data::load_eval_clip({video, video, 0, 0}, config);
  const auto probs = torch::softmax(model->forward(clip.unsqueeze(0)), -1)[0];
  const auto order = probs.argsort(0, /*descending=*/true);
  for (int64_t i = 0; i < 5; ++i) {
    const auto want = order[i].item<int64_t>();
    EXPECT_EQ(top[static_cast<size_t>(i)].first, kLabels[static_cast<size_t>(want)]) << "rank " << i;
    EXPECT_NEAR(top[static_cast<size_t>(i)].second, probs[want].item<double>(), 1e-5);
  }
}

TEST(PredictCommand, PromptCheckpointIsApplied) {
  const auto dir = test::scratch_dir();
  const auto video = synthetic_video(dir);
  const auto weights = fixture("clip_tiny/clip_tiny.pt");
  const std::vector<std::string> labels{"run", "jump", "swim"};
  model::ViFiCLIPOptions options;
  options.prompt = {true, 2, 2, "a photo of a", 1, 1};
  torch::manual_seed(5);
  model::ViFiCLIP prompted(model::load_clip(weights), test::shared_tokenizer(), labels, options);
  {
    torch::NoGradGuard no_grad;  // prompts far from their initialisation, so they matter
    for (auto& p : prompted->prompt_learner()->parameters()) p.normal_(0.0, 1.0);
  }
  model::save_prompts((dir / "prompts.pth").string(), *prompted, "");
  std::string out;
  ASSERT_EQ(test::run_vifi("predict " + video + " --weights " + weights + " --prompts " + (dir / "prompts.pth").string() +
                               " --labels run,jump,swim --frames 8 --json 2>/dev/null",
                           &out),
            0)
      << out;
  const auto top = parse_top(out);
  ASSERT_EQ(top.size(), 3U) << out;
  c10::InferenceMode inference;
  prompted->eval();
  data::ClipConfig config;
  config.num_frames = 8;
  config.augment.input_size = config.eval.input_size = 32;
  const auto probs = torch::softmax(prompted->forward(data::load_eval_clip({video, video, 0, 0}, config).unsqueeze(0)), -1)[0];
  const auto best = probs.argmax().item<int64_t>();
  EXPECT_EQ(top[0].first, labels[static_cast<size_t>(best)]);
  EXPECT_NEAR(top[0].second, probs[best].item<double>(), 1e-5);
}

TEST(PredictCommand, TextOutputListsTopKAndLabelFileWorks) {
  const auto dir = test::scratch_dir();
  const auto video = synthetic_video(dir);
  std::ofstream(dir / "labels.csv") << "id,name\n0,run\n1,jump\n2,swim\n";
  std::string out;
  ASSERT_EQ(test::run_vifi("predict " + video + " --weights " + fixture("clip_tiny/clip_tiny.pt") + " --label-file " +
                               (dir / "labels.csv").string() + " --topk 2 --frames 4 2>/dev/null",
                           &out),
            0)
      << out;
  EXPECT_NE(out.find("  1. "), std::string::npos) << out;
  EXPECT_NE(out.find("  2. "), std::string::npos) << out;
  EXPECT_EQ(out.find("  3. "), std::string::npos) << out;
}

TEST(PredictCommand, UnreadableVideoIsNamedAndOthersStillPredicted) {
  const auto dir = test::scratch_dir();
  const auto video = synthetic_video(dir);
  std::ofstream(dir / "broken.mp4") << "not a video";
  std::string out;
  EXPECT_EQ(test::run_vifi("predict " + (dir / "broken.mp4").string() + " " + video + " --weights " +
                               fixture("clip_tiny/clip_tiny.pt") + " --labels a,b",
                           &out),
            1);
  EXPECT_NE(out.find("broken.mp4: cannot open"), std::string::npos) << out;
  EXPECT_NE(out.find("1 of 2 videos could not be read"), std::string::npos) << out;
  EXPECT_NE(out.find("clip.avi\n  1. "), std::string::npos) << out;
}

TEST(PredictCommand, EmptyLabelListIsRefused) {
  std::string out;
  EXPECT_EQ(test::run_vifi("predict x.avi --weights " + fixture("clip_tiny/clip_tiny.pt") + " --labels \" , \"", &out), 1);
  EXPECT_NE(out.find("--labels ' , ': no labels"), std::string::npos) << out;
  EXPECT_EQ(test::run_vifi("predict x.avi --weights " + fixture("clip_tiny/clip_tiny.pt"), &out), 1);
  EXPECT_NE(out.find("exactly one of --labels or --label-file"), std::string::npos) << out;
}

}  // namespace
}  // namespace vifi

// `vifi predict` end to end on the fixture CLIP and a synthetic video: the ranking and the
// probabilities equal those of the model's logits computed in-process, and unreadable videos
// and empty label lists are reported clearly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

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

// The object `predict --json` prints: the output's line that starts with {"videos" (run_vifi
// also captures the log on stderr). Null when there is none; a parse error throws.
nlohmann::json predict_json(const std::string& output) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("{\"videos\"", 0) == 0) return nlohmann::json::parse(line);
  return nullptr;
}

// (label, probability) of the only video, in the order the JSON lists them, after checking the
// JSON's shape: one video named `video`, no error, the labels exactly `labels` (all of them: the
// callers' --topk covers every label, so the softmax probabilities sum to 1).
std::vector<std::pair<std::string, double>> parse_top(const std::string& output, const std::string& video,
                                                      std::vector<std::string> labels) {
  const auto json = predict_json(output);
  if (!json.is_object() || json.at("videos").size() != 1) {
    ADD_FAILURE() << "expected one line {\"videos\":[one video]}:\n" << output;
    return {};
  }
  const auto& entry = json.at("videos").at(0);
  EXPECT_EQ(entry.at("video"), video);
  EXPECT_FALSE(entry.contains("error")) << output;
  std::vector<std::pair<std::string, double>> top;
  std::vector<std::string> listed;
  double sum = 0;
  for (const auto& t : entry.at("top")) {
    top.emplace_back(t.at("label").get<std::string>(), t.at("probability").get<double>());
    listed.push_back(top.back().first);
    sum += top.back().second;
  }
  std::sort(listed.begin(), listed.end());
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(listed, labels) << output;
  EXPECT_NEAR(sum, 1.0, 1e-5) << output;
  return top;
}

// The clip-tiny model's class probabilities for `video` read as `vifi predict` reads it: [C].
torch::Tensor reference_probabilities(const std::string& video, const std::vector<std::string>& labels,
                                      int64_t frames) {
  c10::InferenceMode inference;
  model::ViFiCLIP model(model::load_clip(fixture("clip_tiny/clip_tiny.pt")), test::shared_tokenizer(), labels,
                        model::ViFiCLIPOptions{});
  model->eval();
  data::ClipConfig config;
  config.num_frames = frames;
  config.augment.input_size = config.eval.input_size = 32;
  const auto clip = data::load_eval_clip({video, video, 0, 0}, config)[0];
  return torch::softmax(model->forward(clip.unsqueeze(0)), -1)[0];
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
  const auto top = parse_top(out, video, kLabels);
  ASSERT_EQ(top.size(), 5U) << out;

  const auto probs = reference_probabilities(video, kLabels, 8);
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
  options.prompt.enabled = true;
  options.prompt.n_ctx_vision = 2;
  options.prompt.n_ctx_text = 2;
  options.prompt.ctx_init = "a photo of a";
  options.prompt.depth_vision = 1;
  options.prompt.depth_text = 1;
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
  const auto top = parse_top(out, video, labels);
  ASSERT_EQ(top.size(), 3U) << out;
  c10::InferenceMode inference;
  prompted->eval();
  data::ClipConfig config;
  config.num_frames = 8;
  config.augment.input_size = config.eval.input_size = 32;
  const auto probs = torch::softmax(prompted->forward(data::load_eval_clip({video, video, 0, 0}, config)[0].unsqueeze(0)), -1)[0];
  const auto best = probs.argmax().item<int64_t>();
  EXPECT_EQ(top[0].first, labels[static_cast<size_t>(best)]);
  EXPECT_NEAR(top[0].second, probs[best].item<double>(), 1e-5);
}

// (label, percent) of the text output's ranked lines ("  1.  45.3%  run") after the line naming
// `video`, up to the next video's line.
std::vector<std::pair<std::string, double>> parse_text_top(const std::string& out, const std::string& video) {
  std::vector<std::pair<std::string, double>> top;
  std::istringstream in(out.substr(std::min(out.size(), out.find(video + "\n"))));
  std::string line;
  std::getline(in, line);  // the video
  while (std::getline(in, line)) {
    const auto dot = line.find(". "), percent = line.find("%  ");
    if (line.rfind("  ", 0) != 0 || dot == std::string::npos || percent == std::string::npos) break;
    EXPECT_EQ(std::stoi(line.substr(2, dot - 2)), static_cast<int>(top.size()) + 1) << line;
    top.emplace_back(line.substr(percent + 3), std::stod(line.substr(dot + 2, percent - dot - 2)));
  }
  return top;
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
  const auto top = parse_text_top(out, video);
  ASSERT_EQ(top.size(), 2U) << out;
  EXPECT_EQ(out.find("  3. "), std::string::npos) << out;
  // The names are the label file's, ranked as the model's probabilities rank them.
  const std::vector<std::string> labels{"run", "jump", "swim"};
  const auto probs = reference_probabilities(video, labels, 4);
  const auto order = probs.argsort(0, /*descending=*/true);
  for (size_t i = 0; i < top.size(); ++i) {
    const auto want = order[static_cast<int64_t>(i)].item<int64_t>();
    EXPECT_EQ(top[i].first, labels[static_cast<size_t>(want)]) << "rank " << i + 1 << "\n" << out;
    EXPECT_NEAR(top[i].second, 100.0 * probs[want].item<double>(), 0.05 + 1e-6) << out;
  }
  EXPECT_NE(top[0].first, top[1].first) << out;
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
  EXPECT_NE(out.find("broken.mp4: not a video: cannot open"), std::string::npos) << out;
  EXPECT_NE(out.find("1 of 2 videos could not be read"), std::string::npos) << out;
  EXPECT_NE(out.find("clip.avi\n  1. "), std::string::npos) << out;
  // The readable video ranks both given labels, each once, and nothing else.
  const auto top = parse_text_top(out, video);
  ASSERT_EQ(top.size(), 2U) << out;
  std::set<std::string> names{top[0].first, top[1].first};
  EXPECT_EQ(names, (std::set<std::string>{"a", "b"})) << out;
  EXPECT_NEAR(top[0].second + top[1].second, 100.0, 0.1) << out;
  EXPECT_GE(top[0].second, top[1].second) << out;
}

// Many videos through the loader's workers: a list with a quoted path, a label column and a
// broken file in the middle. Every readable video's probabilities equal those of the video read
// alone, and the output keeps the list's order with the failure in its place.
TEST(PredictCommand, AListOfVideosIsPredictedInItsOrderByWorkers) {
  const auto dir = test::scratch_dir();
  std::filesystem::create_directories(dir / "air drumming");
  std::vector<std::string> videos;
  for (int label = 0; label < 3; ++label) {
    data::SyntheticVideoSpec spec;
    spec.label = label;
    spec.num_frames = 16 + 4 * label;
    videos.push_back((dir / (label == 1 ? "air drumming/clip1.avi" : "clip" + std::to_string(label) + ".avi")).string());
    data::write_synthetic_video(videos.back(), spec);
  }
  std::ofstream(dir / "broken.mp4") << "not a video";
  std::ofstream(dir / "videos.txt") << "clip0.avi\n\"air drumming/clip1.avi\"\nbroken.mp4\nclip2.avi 3\n";
  std::string labels;
  for (const auto& l : kLabels) labels += (labels.empty() ? "" : ",") + l;
  std::string out;
  ASSERT_EQ(test::run_vifi("predict --videos-from " + (dir / "videos.txt").string() + " --workers 2 --weights " +
                               fixture("clip_tiny/clip_tiny.pt") + " --labels \"" + labels +
                               "\" --frames 8 --topk 5 --json 2>/dev/null",
                           &out),
            1)
      << out;
  const auto json = predict_json(out);
  ASSERT_TRUE(json.is_object()) << out;
  const auto& listed = json.at("videos");
  ASSERT_EQ(listed.size(), 4U) << out;
  const std::vector<std::string> expected{videos[0], videos[1], (dir / "broken.mp4").string(), videos[2]};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(listed[i].at("video"), expected[i]) << out;
  EXPECT_NE(listed[2].at("error").get<std::string>().find("broken.mp4"), std::string::npos) << out;
  EXPECT_TRUE(listed[2].at("top").empty()) << out;
  std::set<std::string> distinct_best;
  for (size_t i : {0, 1, 3}) {
    EXPECT_FALSE(listed[i].contains("error")) << out;
    const auto probs = reference_probabilities(expected[i], kLabels, 8);
    ASSERT_EQ(listed[i].at("top").size(), 5U) << out;
    for (const auto& t : listed[i].at("top")) {
      const auto label = t.at("label").get<std::string>();
      const auto c = std::find(kLabels.begin(), kLabels.end(), label) - kLabels.begin();
      EXPECT_NEAR(t.at("probability").get<double>(), probs[c].item<double>(), 1e-5) << expected[i] << " " << label;
    }
    distinct_best.insert(listed[i].at("top").at(0).at("label").get<std::string>() + " " +
                         std::to_string(listed[i].at("top").at(0).at("probability").get<double>()));
  }
  EXPECT_EQ(distinct_best.size(), 3U) << "three different videos gave the same answer:\n" << out;

  // Text output: the same order, the failure named in its place.
  ASSERT_EQ(test::run_vifi("predict " + videos[0] + " " + (dir / "broken.mp4").string() + " " + videos[2] +
                               " --workers 2 --weights " + fixture("clip_tiny/clip_tiny.pt") + " --labels a,b --frames 8 2>&1",
                           &out),
            1);
  const auto first = out.find(videos[0] + "\n  1. ");
  const auto broken = out.find((dir / "broken.mp4").string() + "\n  error: ");
  const auto last = out.find(videos[2] + "\n  1. ");
  ASSERT_NE(first, std::string::npos) << out;
  ASSERT_NE(broken, std::string::npos) << out;
  ASSERT_NE(last, std::string::npos) << out;
  EXPECT_LT(first, broken);
  EXPECT_LT(broken, last);

  // A folder stands for the videos below it, sorted by path (videos.txt is not one).
  ASSERT_EQ(test::run_vifi("predict " + dir.string() + " --weights " + fixture("clip_tiny/clip_tiny.pt") +
                               " --labels \"" + labels + "\" --frames 8 --topk 5 --json 2>/dev/null",
                           &out),
            1)
      << out;
  const auto folder = predict_json(out);
  ASSERT_TRUE(folder.is_object()) << out;
  const std::vector<std::string> sorted{videos[1], (dir / "broken.mp4").string(), videos[0], videos[2]};
  ASSERT_EQ(folder.at("videos").size(), sorted.size()) << out;
  for (size_t i = 0; i < sorted.size(); ++i) {
    EXPECT_EQ(folder.at("videos")[i].at("video"), sorted[i]) << out;
    const auto same = std::find(expected.begin(), expected.end(), sorted[i]) - expected.begin();
    const auto& got = folder.at("videos")[i].at("top");
    const auto& want = listed[static_cast<size_t>(same)].at("top");
    ASSERT_EQ(got.size(), want.size()) << sorted[i];
    for (size_t k = 0; k < got.size(); ++k) {  // other batches: the same to float rounding
      EXPECT_EQ(got[k].at("label"), want[k].at("label")) << sorted[i];
      EXPECT_NEAR(got[k].at("probability").get<double>(), want[k].at("probability").get<double>(), 1e-5) << sorted[i];
    }
  }
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

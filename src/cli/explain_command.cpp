// `vifi explain VIDEO --weights W [--weights W2] --label TEXT --out DIR`: where the image tower
// looks in each sampled frame, as attention-rollout heatmaps (eval/attention_rollout; why
// rollout: see there) over the frames, each captioned with the model's name and the frame's
// cosine similarity to the label's prompt.
// Two weights files (vanilla CLIP, then fine-tuned) are shown side by side on the same frames.
//
// Writes DIR/frame_XX.png (the frame, then one overlay per model), DIR/grid.png (a row of frames,
// then a row of overlays per model), DIR/explain.mp4 (the frame_XX images in sequence) and
// DIR/attention_K.npy ([T,grid,grid] rollout maps of model K = 1, 2).
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "flag_checks.h"
#include "rollout_view.h"
#include "video_inference.h"
#include "vifi/model/weights.h"
#include "vifi/util/logging.h"
#include "vifi/util/npy.h"
#include "vifi/viz/heatmap.h"
#include "vifi/viz/image_io.h"

namespace vifi::cli {
namespace {

struct ExplainOptions {
  std::string video;
  std::vector<std::string> weights;  // 1 or 2 files: vanilla, fine-tuned
  std::string names;                 // captions for the weights, comma-separated (default: file stems)
  std::string label;
  std::string out;
  std::string clip_archive;   // --clip
  std::string prompt_prefix;  // empty: the checkpoint's CTX_INIT, else "a photo of a"
  int64_t frames = 8;
  int size = 160;   // pixels per panel
  double fps = 2.0;
};

RolloutView explain_with(const std::string& weights, const std::string& name, const ExplainOptions& o) {
  c10::InferenceMode inference;
  auto model = model::load_vificlip(weights, o.clip_archive, {o.label}, o.prompt_prefix);
  return rollout_view(model, read_video_clip(o.video, o.frames, model->clip()->config().image_resolution), name);
}

std::string two_digits(size_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02zu", i);
  return buf;
}

void run_explain(const ExplainOptions& o) {
  if (o.weights.empty() || o.weights.size() > 2) throw std::runtime_error("explain: give one or two --weights files");
  if (o.label.find_first_not_of(" \t") == std::string::npos) throw std::runtime_error("explain: --label is empty");
  std::vector<std::string> names;
  if (!o.names.empty()) names = split_labels(o.names, "--names");
  if (!names.empty() && names.size() != o.weights.size())
    throw std::runtime_error("explain: --names has " + std::to_string(names.size()) + " names for " +
                             std::to_string(o.weights.size()) + " --weights files");
  std::vector<RolloutView> views;
  for (size_t i = 0; i < o.weights.size(); ++i)
    views.push_back(explain_with(o.weights[i], names.empty() ? std::filesystem::path(o.weights[i]).stem().string() : names[i], o));
  std::filesystem::create_directories(o.out);
  const auto out = [&](const std::string& name) { return (std::filesystem::path(o.out) / name).string(); };
  std::vector<cv::Mat> frame_images;
  const auto frames = views[0].frames.size();
  for (size_t t = 0; t < frames; ++t) {
    std::vector<cv::Mat> panels{frame_panel(views[0], t, o.size)};
    for (const auto& v : views) panels.push_back(overlay_panel(v, t, o.size));
    frame_images.push_back(viz::side_by_side(panels));
    viz::write_png(out("frame_" + two_digits(t) + ".png"), frame_images.back());
  }
  viz::write_png(out("grid.png"), rollout_grid(views, o.size));
  viz::write_mp4(out("explain.mp4"), frame_images, o.fps);
  for (size_t k = 0; k < views.size(); ++k) util::save_npy(out("attention_" + std::to_string(k + 1) + ".npy"), views[k].maps);
  util::log_info("explain: attention rollout of " + std::to_string(frames) + " frames for \"" + o.label + "\" in " + o.out +
                 " (grid.png, frame_XX.png, explain.mp4)");
}

}  // namespace

void add_explain_command(CLI::App& app) {
  auto o = std::make_shared<ExplainOptions>();
  auto* cmd = app.add_subcommand("explain", "Attention-rollout heatmaps of a video's frames (vanilla vs fine-tuned)");
  cmd->add_option("video", o->video, "video file")->required();
  cmd->add_option("--weights", o->weights, "weights file; give two (vanilla, fine-tuned) to compare side by side")
      ->required();
  cmd->add_option("--names", o->names, "captions for the weights, comma-separated (default: file names)");
  cmd->add_option("--label", o->label, "class name the similarity is computed for")->required();
  cmd->add_option("--out", o->out, "output directory")->required();
  cmd->add_option("--prompt-prefix", o->prompt_prefix, "text before the label (default: the checkpoint's CTX_INIT, else \"a photo of a\")");
  cmd->add_option("--clip", o->clip_archive, "OpenAI CLIP archive lending token_embedding.weight to a checkpoint without it");
  cmd->add_option("--frames", o->frames, "frames sampled from the video")->check(CLI::Range(1, 64));
  cmd->add_option("--size", o->size, "pixels per panel")->check(CLI::Range(32, 1024));
  cmd->add_option("--fps", o->fps, "frame rate of explain.mp4")->check(finite_in(0.1, 240));
  cmd->callback([o] { run_explain(*o); });
}

}  // namespace vifi::cli

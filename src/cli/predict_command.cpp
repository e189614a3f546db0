// `vifi predict (VIDEO... | --videos-from LIST) --weights W [--prompts P] (--labels "a,b" |
// --label-file CSV)`: the top-k classes of each video with their probabilities (softmax over the
// given labels of the model's scaled cosine logits), as text or JSON, in the order given. Videos
// are decoded by --workers threads while the model runs on the previous batch, each read as
// evaluation reads it. A video that cannot be read is reported by name and the others are still
// predicted; the exit code is then 1.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "video_inference.h"
#include "vifi/data/video_files.h"
#include "vifi/model/weights.h"
#include "vifi/util/json.h"

namespace vifi::cli {
namespace {

struct PredictOptions {
  std::vector<std::string> videos;
  std::string videos_from;  // "path" or "path label" per line
  std::string root;         // the list's paths are relative to it (default: the list's folder)
  std::string weights;
  std::string labels;
  std::string label_file;
  std::string clip_archive;  // --clip: token embedding for a checkpoint without it
  std::string prompt_prefix;  // empty: the checkpoint's CTX_INIT, else "a photo of a"
  std::string prompts;  // prompt checkpoint learned on `weights` (vifi prompt)
  int64_t topk = 5;
  int64_t frames = 32;
  int workers = 4;  // decoding threads
  bool json = false;
};

struct Prediction {
  std::string video;
  std::string error;                                   // set when the video could not be read
  std::vector<std::pair<std::string, double>> top;     // (label, probability), best first
};

// The top-k of one video's class probabilities [C].
std::vector<std::pair<std::string, double>> top_classes(model::ViFiCLIP& model, const torch::Tensor& probs, int64_t topk) {
  std::vector<std::pair<std::string, double>> top;
  const auto k = std::min<int64_t>(topk, probs.size(0));
  const auto [values, indices] = probs.topk(k);
  for (int64_t i = 0; i < k; ++i)
    top.emplace_back(model->class_names()[static_cast<size_t>(indices[i].item<int64_t>())], values[i].item<double>());
  return top;
}

// {"videos":[{"video", "error" (only when unreadable), "top":[{"label","probability"}...]}...]}
std::string as_json(const std::vector<Prediction>& predictions) {
  auto videos = util::Json::array();
  for (const auto& p : predictions) {
    util::Json video{{"video", p.video}};
    if (!p.error.empty()) video["error"] = p.error;
    auto top = util::Json::array();
    for (const auto& [label, probability] : p.top)
      top.push_back(util::Json{{"label", label}, {"probability", util::json_number(probability)}});
    video["top"] = std::move(top);
    videos.push_back(std::move(video));
  }
  return util::json_text(util::Json{{"videos", std::move(videos)}}) + "\n";
}

std::string as_text(const Prediction& p) {
  std::ostringstream out;
  out << p.video << "\n";
  if (!p.error.empty()) return out.str() + "  error: " + p.error + "\n";
  for (size_t i = 0; i < p.top.size(); ++i)
    out << "  " << i + 1 << ". " << std::fixed << std::setprecision(1) << std::setw(5) << 100.0 * p.top[i].second
        << "%  " << p.top[i].first << "\n";
  return out.str();
}

void run_predict(const PredictOptions& o) {
  if (o.videos.empty() == o.videos_from.empty())
    throw std::runtime_error("predict: give the videos as arguments or with --videos-from LIST (one of them)");
  const auto videos = o.videos_from.empty() ? data::expand_video_folders(o.videos) : read_video_list(o.videos_from, o.root);
  const auto labels = labels_from(o.labels, o.label_file);
  c10::InferenceMode inference;
  auto model = model::load_vificlip(o.weights, o.clip_archive, labels, o.prompt_prefix, o.prompts);
  const auto records = unlabelled_records(videos);
  std::vector<Prediction> predictions;
  for (const auto& video : videos) predictions.push_back(Prediction{video, {}, {}});
  size_t printed = 0, failed = 0;
  read_video_records(records, o.frames, model->clip()->config().image_resolution, o.workers, kClipsPerPass,
                     [&](const torch::Tensor& clips, const std::vector<int64_t>& rows, const std::vector<FailedVideo>& unread) {
                       if (clips.defined()) {
                         const auto probs = torch::softmax(model->forward(clips), -1);  // [B,C]
                         for (size_t b = 0; b < rows.size(); ++b)
                           predictions[static_cast<size_t>(rows[b])].top = top_classes(model, probs[static_cast<int64_t>(b)], o.topk);
                       }
                       for (const auto& f : unread) {  // the loader has logged each
                         predictions[static_cast<size_t>(f.index)].error = f.reason;
                         ++failed;
                       }
                       // Batches come in list order: print what is complete.
                       for (; printed < predictions.size(); ++printed) {
                         const auto& p = predictions[printed];
                         if (p.top.empty() && p.error.empty()) break;
                         if (!o.json) std::cout << as_text(p) << std::flush;
                       }
                       return true;
                     });
  if (o.json) std::cout << as_json(predictions);
  if (failed)
    throw std::runtime_error("predict: " + std::to_string(failed) + " of " + std::to_string(videos.size()) +
                             " videos could not be read");
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  auto* cmd = app.add_subcommand("predict", "Top-k classes of videos for a list of labels");
  cmd->add_option("videos", o->videos, "video files, or folders of them (searched at any depth)");
  cmd->add_option("--videos-from", o->videos_from, "list of videos, one per line (\"path\" or \"path label\": annotation lists work)");
  cmd->add_option("--root", o->root, "folder the list's paths are relative to (default: the list's folder)");
  cmd->add_option("--weights", o->weights, "OpenAI CLIP archive, vifi checkpoint or torch.save checkpoint (the authors' releases as they are)")->required();
  cmd->add_option("--clip", o->clip_archive, "OpenAI CLIP archive lending token_embedding.weight to a checkpoint without it");
  cmd->add_option("--labels", o->labels, "class names, comma-separated: \"run,jump,swim\"");
  cmd->add_option("--label-file", o->label_file, "class names: label CSV (id,name) or one name per line");
  cmd->add_option("--prompt-prefix", o->prompt_prefix, "text before each class name (default: the checkpoint's CTX_INIT, else \"a photo of a\")");
  cmd->add_option("--prompts", o->prompts, "prompt checkpoint (vifi prompt's prompts.pth) learned on --weights");
  cmd->add_option("--topk", o->topk, "classes shown per video")->check(CLI::PositiveNumber);
  cmd->add_option("--frames", o->frames, "frames sampled per video (test-mode sampling)")->check(CLI::Range(1, 256));
  cmd->add_option("--workers", o->workers, "decoding threads (default 4)")->check(CLI::Range(1, 256));
  cmd->add_flag("--json", o->json, "print one JSON object instead of text");
  cmd->callback([o] { run_predict(*o); });
}

}  // namespace vifi::cli

// `vifi embed`: features and scaled-cosine logits of any weights file (OpenAI archive, vifi or
// released checkpoint, with the prompts it carries or --prompts), as .npy files.
// Inputs are already-normalised float32 arrays: images [N,3,R,R], videos [B,T,3,R,R]; a text file
// with one raw text per line (--texts), or one class name per line (--classes) whose prompts are
// built as the checkpoint's trainer built them (CTX_INIT template, or learned context). Or a
// dataset's annotation list (--videos-from): each video read as evaluation reads it (by
// --workers threads), its embedding, label and path saved (videos.txt; a video that cannot be
// read is listed in failed.txt and makes the exit code 1), and with --plot a t-SNE scatter of
// the embeddings coloured by class (the paper's Fig. 1). Comparing logits_per_video.npy with the
// authors' code is how a converted model is checked (docs/reproducing.md).
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "video_inference.h"
#include "vifi/data/dataset.h"
#include "vifi/eval/tsne.h"
#include "vifi/model/vificlip.h"
#include "vifi/model/weights.h"
#include "vifi/clip/tokenizer.h"
#include "vifi/util/logging.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/npy.h"
#include "vifi/viz/charts.h"
#include "vifi/viz/image_io.h"

namespace vifi::cli {
namespace {

struct EmbedOptions {
  std::string weights;
  std::string images;
  std::string videos;
  std::string texts;
  std::string classes;        // class names, one per line: prompts as the checkpoint's trainer built them
  std::string prompts;        // a `vifi prompt` prompts.pth learned on --weights
  std::string clip_archive;   // --clip: token embedding for a checkpoint without it
  std::string prompt_prefix;  // empty: the checkpoint's CTX_INIT, else "a photo of a"
  std::string out;
  int64_t batch_size = 64;
  std::string videos_from;  // annotation list ("path label" lines)
  std::string root;         // its DATA.ROOT; default: the list's folder
  std::string label_file;   // class names for the plot's legend
  int64_t frames = 8;
  int workers = 4;  // decoding threads for --videos-from
  bool plot = false;
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open text file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  if (lines.empty()) throw std::runtime_error(path + ": no texts (expected one text per line)");
  return lines;
}

// --classes: one name per line; a blank line would silently become the class "".
std::vector<std::string> read_class_names(const std::string& path) {
  auto names = read_lines(path);
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].find_first_not_of(" \t") == std::string::npos)
      throw std::runtime_error(path + ": line " + std::to_string(i + 1) + " is blank (expected one class name per line)");
  return names;
}

// Runs `encode` over `input` in chunks of `batch` rows and concatenates the results.
template <typename Encode>
torch::Tensor in_chunks(const torch::Tensor& input, int64_t batch, Encode encode) {
  std::vector<torch::Tensor> parts;
  for (const auto& chunk : input.split(batch)) parts.push_back(encode(chunk));
  return torch::cat(parts);
}

torch::Tensor load_images(const std::string& path, int64_t dims, int64_t resolution) {
  auto t = util::load_npy(path);
  TORCH_CHECK(t.dim() == dims && t.size(-3) == 3 && t.size(-2) == resolution && t.size(-1) == resolution, path,
              ": expected a float32 array of shape ", dims == 4 ? "[N,3," : "[B,T,3,", resolution, ",", resolution,
              "] (normalised RGB), got ", t.sizes());
  return t;
}

// Video embeddings by ViFi-CLIP's temporal pooling (with the model's vision prompts), about
// `batch` frames per forward pass: [B,T,3,R,R] -> [B,D].
torch::Tensor encode_videos(model::ViFiCLIP& model, const torch::Tensor& videos, int64_t batch) {
  const auto clips_per_pass = std::max<int64_t>(1, batch / videos.size(1));
  return in_chunks(videos, clips_per_pass, [&](const torch::Tensor& x) { return model->encode_video(x); });
}

// Every video of an annotation list read as evaluation reads it: embeddings [N,D], labels [N]
// and paths, in list order, without the videos that could not be read (`failed`).
struct EmbeddedList {
  torch::Tensor features, labels;
  std::vector<std::string> videos;
  std::vector<FailedVideo> failed;
};

EmbeddedList embed_video_list(model::ViFiCLIP& model, const EmbedOptions& o) {
  const auto root = o.root.empty() ? std::filesystem::path(o.videos_from).parent_path().string() : o.root;
  const auto records = data::load_annotation_list(o.videos_from, root);
  if (records.empty()) throw std::runtime_error(o.videos_from + ": no videos");
  EmbeddedList out;
  std::vector<torch::Tensor> features;
  std::vector<int64_t> labels;
  size_t done = 0;
  const auto clips_per_pass = std::max<int64_t>(1, o.batch_size / o.frames);
  embed_video_records(model, records, o.frames, o.workers, clips_per_pass,
                      [&](const torch::Tensor& embeddings, const std::vector<int64_t>& rows, const std::vector<FailedVideo>& failed) {
                        if (!rows.empty()) features.push_back(embeddings);
                        for (const auto row : rows) {
                          labels.push_back(records[static_cast<size_t>(row)].label);
                          out.videos.push_back(records[static_cast<size_t>(row)].path);
                        }
                        out.failed.insert(out.failed.end(), failed.begin(), failed.end());
                        done += rows.size() + failed.size();
                        util::log_info("embed: " + std::to_string(done) + "/" + std::to_string(records.size()) + " videos");
                        return true;
                      });
  if (features.empty()) throw std::runtime_error(o.videos_from + ": none of its " + std::to_string(records.size()) + " videos could be read");
  out.features = torch::cat(features);
  out.labels = torch::tensor(labels, torch::kLong);
  return out;
}

// t-SNE of the embeddings: tsne.npy [N,2] and tsne.png coloured by class.
void plot_embeddings(const torch::Tensor& features, const torch::Tensor& labels, const EmbedOptions& o,
                     const std::string& npy, const std::string& png) {
  const auto xy = eval::tsne(torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(-1)));
  util::save_npy(npy, xy);
  viz::ScatterPlot plot;
  plot.title = "t-SNE of video embeddings (" + std::filesystem::path(o.weights).stem().string() + ")";
  for (int64_t i = 0; i < xy.size(0); ++i) {
    plot.points.emplace_back(xy[i][0].item<float>(), xy[i][1].item<float>());
    plot.labels.push_back(labels[i].item<int64_t>());
  }
  if (!o.label_file.empty()) plot.class_names = data::load_class_names(o.label_file);
  viz::write_png(png, viz::draw_scatter_plot(plot));
}

void run_embed(const EmbedOptions& o) {
  if (o.images.empty() && o.videos.empty() && o.texts.empty() && o.videos_from.empty() && o.classes.empty())
    throw std::runtime_error("embed: nothing to do: give --images, --videos, --videos-from, --texts and/or --classes");
  if (!o.videos.empty() && !o.videos_from.empty())
    throw std::runtime_error("embed: give --videos (an array) or --videos-from (a list), not both");
  if (!o.texts.empty() && !o.classes.empty())
    throw std::runtime_error("embed: give --texts (raw texts) or --classes (class prompts), not both: each writes text_features.npy");
  if (o.plot && o.videos_from.empty()) throw std::runtime_error("embed: --plot needs --videos-from");
  c10::InferenceMode inference;
  // Without --classes the class list only satisfies the constructor; no class feature is written.
  const auto classes = o.classes.empty() ? std::vector<std::string>{"video"} : read_class_names(o.classes);
  auto model = model::load_vificlip(o.weights, o.clip_archive, classes, o.prompt_prefix, o.prompts);
  auto& clip = model->clip();
  const auto res = clip->config().image_resolution;
  std::filesystem::create_directories(o.out);
  const auto out = [&](const std::string& name) { return (std::filesystem::path(o.out) / name).string(); };

  torch::Tensor image_features, video_features, text_features;
  if (!o.images.empty()) {  // an image is a one-frame video, so vision prompts apply alike
    image_features = in_chunks(load_images(o.images, 4, res), o.batch_size,
                               [&](const torch::Tensor& x) { return model->encode_video(x.unsqueeze(1)); });
    util::save_npy(out("image_features.npy"), image_features);
  }
  if (!o.videos.empty()) {
    video_features = encode_videos(model, load_images(o.videos, 5, res), o.batch_size);
    util::save_npy(out("video_features.npy"), video_features);
  }
  std::vector<FailedVideo> failed_videos;
  if (!o.videos_from.empty()) {
    auto list = embed_video_list(model, o);
    video_features = list.features;
    util::save_npy(out("video_features.npy"), video_features);
    util::save_npy(out("labels.npy"), list.labels);
    std::string videos, failed;
    for (const auto& v : list.videos) videos += v + "\n";
    for (const auto& f : list.failed) failed += f.path + "\t" + f.reason + "\n";
    util::write_file_atomic(out("videos.txt"), videos);
    util::write_file_atomic(out("failed.txt"), failed);
    failed_videos = std::move(list.failed);
    if (o.plot) plot_embeddings(video_features, list.labels, o, out("tsne.npy"), out("tsne.png"));
  }
  if (!o.texts.empty()) {
    const clip::Tokenizer tokenizer;
    auto tokens = tokenizer.tokenize(read_lines(o.texts), clip->config().context_length);
    text_features = in_chunks(tokens, o.batch_size, [&](const torch::Tensor& t) { return clip->encode_text(t); });
    util::save_npy(out("text_features.npy"), text_features);
  }
  if (!o.classes.empty()) {
    text_features = model->text_features();
    util::save_npy(out("text_features.npy"), text_features);
    std::string prompts;
    for (const auto& p : model->prompts()) prompts += p + "\n";
    util::write_file_atomic(out("prompts.txt"), prompts);
    util::log_info("embed: " + std::to_string(classes.size()) + " class prompts like \"" + model->prompts().front() + "\"" +
                   (model->options().prompt.text_active() ? " (learned context replaces the words after the start token)" : ""));
  }
  if (text_features.defined() && image_features.defined())
    util::save_npy(out("logits_per_image.npy"), clip::scaled_cosine_logits(image_features, text_features, clip->logit_scale));
  if (text_features.defined() && video_features.defined())
    util::save_npy(out("logits_per_video.npy"), clip::scaled_cosine_logits(video_features, text_features, clip->logit_scale));
  util::log_info("embed: wrote features to " + o.out);
  if (!failed_videos.empty())  // the others are written; the exit code says the list was not whole
    throw std::runtime_error("embed: " + std::to_string(failed_videos.size()) + " videos of " + o.videos_from +
                             " could not be read (listed in " + out("failed.txt") + "); the rows of video_features.npy "
                             "and labels.npy are the videos of " + out("videos.txt"));
}

}  // namespace

void add_embed_command(CLI::App& app) {
  auto options = std::make_shared<EmbedOptions>();
  auto* cmd = app.add_subcommand("embed", "Export CLIP image, video and text features (.npy) and their logits");
  cmd->add_option("--weights", options->weights, "OpenAI CLIP archive (ViT-B-16.pt), vifi checkpoint or torch.save checkpoint (the authors' releases)")->required();
  cmd->add_option("--clip", options->clip_archive, "OpenAI CLIP archive lending token_embedding.weight to a checkpoint without it");
  cmd->add_option("--prompts", options->prompts, "prompt checkpoint (vifi prompt's prompts.pth) learned on --weights");
  cmd->add_option("--images", options->images, "normalised images, float32 .npy [N,3,R,R]");
  cmd->add_option("--videos", options->videos, "normalised videos, float32 .npy [B,T,3,R,R]");
  cmd->add_option("--texts", options->texts, "text file, one raw text per line: text_features.npy");
  cmd->add_option("--classes", options->classes, "class names, one per line: text_features.npy of their prompts, built as the checkpoint's trainer built them, and prompts.txt");
  cmd->add_option("--prompt-prefix", options->prompt_prefix, "with --classes: text before each class name (default: the checkpoint's CTX_INIT, else \"a photo of a\")");
  cmd->add_option("--out", options->out, "output directory")->required();
  cmd->add_option("--batch-size", options->batch_size, "images or texts per forward pass")->check(CLI::PositiveNumber);
  cmd->add_option("--videos-from", options->videos_from, "annotation list (\"path label\" lines): video_features.npy + labels.npy");
  cmd->add_option("--root", options->root, "folder the list's paths are relative to (default: the list's folder)");
  cmd->add_option("--label-file", options->label_file, "class names for the plot legend (label CSV or one per line)");
  cmd->add_option("--frames", options->frames, "frames sampled per video of --videos-from")->check(CLI::Range(1, 256));
  cmd->add_option("--workers", options->workers, "decoding threads for --videos-from (default 4)")->check(CLI::Range(1, 256));
  cmd->add_flag("--plot", options->plot, "with --videos-from: 2-D t-SNE of the embeddings, tsne.npy + tsne.png");
  cmd->callback([options] { run_embed(*options); });
}

}  // namespace vifi::cli

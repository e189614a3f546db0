// `vifi embed`: features and scaled-cosine logits from an OpenAI CLIP archive, as .npy files.
// Inputs are already-normalised float32 arrays: images [N,3,R,R], videos [B,T,3,R,R], and a
// text file with one text per line.
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "vifi/model/weights.h"
#include "vifi/clip/tokenizer.h"
#include "vifi/util/logging.h"
#include "vifi/util/npy.h"

namespace vifi::cli {
namespace {

struct EmbedOptions {
  std::string weights;
  std::string images;
  std::string videos;
  std::string texts;
  std::string out;
  int64_t batch_size = 64;
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

void run_embed(const EmbedOptions& o) {
  if (o.images.empty() && o.videos.empty() && o.texts.empty())
    throw std::runtime_error("embed: nothing to do: give --images, --videos and/or --texts");
  c10::InferenceMode inference;
  auto model = model::load_clip(o.weights);  // any weights file: OpenAI, vifi, converted reference
  model->eval();
  const auto res = model->config().image_resolution;
  std::filesystem::create_directories(o.out);
  const auto out = [&](const std::string& name) { return (std::filesystem::path(o.out) / name).string(); };
  const auto encode_frames = [&](const torch::Tensor& x) { return model->encode_image(x); };

  torch::Tensor image_features, video_features, text_features;
  if (!o.images.empty()) {
    image_features = in_chunks(load_images(o.images, 4, res), o.batch_size, encode_frames);
    util::save_npy(out("image_features.npy"), image_features);
  }
  if (!o.videos.empty()) {
    auto videos = load_images(o.videos, 5, res);  // [B,T,3,R,R]
    auto frames = in_chunks(videos.flatten(0, 1), o.batch_size, encode_frames);
    video_features = frames.view({videos.size(0), videos.size(1), -1}).mean(1);  // temporal pooling
    util::save_npy(out("video_features.npy"), video_features);
  }
  if (!o.texts.empty()) {
    const clip::Tokenizer tokenizer;
    auto tokens = tokenizer.tokenize(read_lines(o.texts), model->config().context_length);
    text_features = in_chunks(tokens, o.batch_size, [&](const torch::Tensor& t) { return model->encode_text(t); });
    util::save_npy(out("text_features.npy"), text_features);
  }
  if (text_features.defined() && image_features.defined())
    util::save_npy(out("logits_per_image.npy"), clip::scaled_cosine_logits(image_features, text_features, model->logit_scale));
  if (text_features.defined() && video_features.defined())
    util::save_npy(out("logits_per_video.npy"), clip::scaled_cosine_logits(video_features, text_features, model->logit_scale));
  util::log_info("embed: wrote features to " + o.out);
}

}  // namespace

void add_embed_command(CLI::App& app) {
  auto options = std::make_shared<EmbedOptions>();
  auto* cmd = app.add_subcommand("embed", "Export CLIP image, video and text features (.npy) and their logits");
  cmd->add_option("--weights", options->weights, "OpenAI CLIP archive (ViT-B-16.pt), vifi checkpoint or converted reference checkpoint")->required();
  cmd->add_option("--images", options->images, "normalised images, float32 .npy [N,3,R,R]");
  cmd->add_option("--videos", options->videos, "normalised videos, float32 .npy [B,T,3,R,R]");
  cmd->add_option("--texts", options->texts, "text file, one text per line");
  cmd->add_option("--out", options->out, "output directory")->required();
  cmd->add_option("--batch-size", options->batch_size, "images or texts per forward pass")->check(CLI::PositiveNumber);
  cmd->callback([options] { run_embed(*options); });
}

}  // namespace vifi::cli

// Model and clip loading for the single-video commands (see header).
#include "video_inference.h"

#include <filesystem>
#include <memory>
#include <stdexcept>

#include "vifi/data/labels.h"
#include "vifi/data/loader.h"
#include "vifi/data/transforms.h"
#include "vifi/data/video_clip.h"

namespace vifi::cli {

std::vector<std::string> split_labels(const std::string& text, const std::string& option) {
  std::vector<std::string> labels;
  size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find(',', start), text.size());
    auto label = text.substr(start, end - start);
    label.erase(0, label.find_first_not_of(" \t"));
    label.erase(label.find_last_not_of(" \t") + 1);
    if (!label.empty()) labels.push_back(label);
    start = end + 1;
  }
  if (labels.empty()) throw std::runtime_error(option + " '" + text + "': no labels (expected e.g. \"run,jump,swim\")");
  return labels;
}

std::vector<std::string> labels_from(const std::string& labels, const std::string& label_file) {
  if (labels.empty() == label_file.empty()) throw std::runtime_error("give the class names with exactly one of --labels or --label-file");
  if (!labels.empty()) return split_labels(labels, "--labels");
  auto names = data::load_class_names(label_file);
  if (names.empty()) throw std::runtime_error(label_file + ": no class names");
  return names;
}

data::ClipConfig inference_clip_config(int64_t frames, int64_t resolution) {
  data::ClipConfig config;
  config.num_frames = frames;
  config.augment.input_size = static_cast<int>(resolution);
  config.eval.input_size = static_cast<int>(resolution);
  data::validate(config);
  return config;
}

torch::Tensor read_video_clip(const std::string& path, int64_t frames, int64_t resolution) {
  data::VideoRecord record;
  record.path = path;
  record.relative = path;
  return data::load_eval_clip(record, inference_clip_config(frames, resolution))[0];  // the one view: [1,T,3,R,R] -> [T,3,R,R]
}

torch::Tensor video_embedding(model::ViFiCLIP& model, const std::string& path, int64_t frames) {
  const auto clip = read_video_clip(path, frames, model->clip()->config().image_resolution);
  return model->encode_video(clip.unsqueeze(0))[0];
}

bool read_video_records(const std::vector<data::VideoRecord>& records, int64_t frames, int64_t resolution,
                        int workers, int64_t clips_per_pass, const ClipBatchReady& on_batch) {
  if (records.empty()) return true;
  data::LoaderConfig options;
  options.batch_size = clips_per_pass;
  options.num_workers = workers;
  options.prefetch_batches = 2;
  options.shuffle = false;
  data::VideoLoader loader(records, inference_clip_config(frames, resolution), options, data::LoaderMode::eval);
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    torch::Tensor clips;
    if (!batch->index.empty()) clips = batch->video.select(1, 0);  // the one view: [B,1,T,3,R,R] -> [B,T,3,R,R]
    if (!on_batch(clips, batch->index, batch->failed)) return false;
  }
  return true;
}

bool embed_video_records(model::ViFiCLIP& model, const std::vector<data::VideoRecord>& records, int64_t frames,
                         int workers, int64_t clips_per_pass, const EmbeddedBatch& on_batch) {
  return read_video_records(records, frames, model->clip()->config().image_resolution, workers, clips_per_pass,
                            [&](const torch::Tensor& clips, const std::vector<int64_t>& rows,
                                const std::vector<FailedVideo>& failed) {
                              return on_batch(clips.defined() ? model->encode_video(clips) : clips, rows, failed);
                            });
}

std::vector<data::VideoRecord> unlabelled_records(const std::vector<std::string>& paths) {
  std::vector<data::VideoRecord> records;
  for (const auto& path : paths) {
    data::VideoRecord record;
    record.path = path;
    record.relative = path;
    records.push_back(std::move(record));
  }
  return records;
}

std::vector<std::string> read_video_list(const std::string& list, const std::string& root_option) {
  const auto root = root_option.empty() ? std::filesystem::path(list).parent_path().string() : root_option;
  std::vector<std::string> out;
  for (const auto& record : data::load_annotation_list(list, root, data::ListLabels::optional)) out.push_back(record.path);
  if (out.empty()) throw std::runtime_error(list + ": no videos");
  return out;
}

torch::Tensor query_embedding(model::ViFiCLIP& model, const std::string& query) {
  if (query.find_first_not_of(" \t") == std::string::npos) throw std::runtime_error("empty query: give words to search for");
  try {
    model->set_class_names({query});
  } catch (const c10::Error& e) {
    throw std::runtime_error("query '" + query.substr(0, 80) + "': " + e.what_without_backtrace());
  } catch (const std::invalid_argument& e) {  // longer than CLIP's context
    throw std::runtime_error(std::string("query: ") + e.what());
  }
  return model->text_features()[0];
}

QueryBank load_querybank(model::ViFiCLIP& model, const std::string& path) {
  QueryBank bank;
  bank.names = data::load_class_names(path);
  if (bank.names.empty()) throw std::runtime_error(path + ": no class names for the query bank");
  std::vector<torch::Tensor> rows;
  for (const auto& name : bank.names) rows.push_back(query_embedding(model, name));
  bank.embeddings = torch::stack(rows);
  bank.scale = model->clip()->logit_scale.exp().item<double>();
  return bank;
}

std::vector<eval::SearchHit> rank_by_querybank(const torch::Tensor& features, const std::string& query_text,
                                               const torch::Tensor& query, const QueryBank& bank, int64_t topk) {
  std::vector<torch::Tensor> texts{query};
  for (size_t k = 0; k < bank.names.size(); ++k)
    if (bank.names[k] != query_text) texts.push_back(bank.embeddings[static_cast<int64_t>(k)]);
  return eval::rank_by_querybank(features, torch::stack(texts), bank.scale, topk);
}

}  // namespace vifi::cli

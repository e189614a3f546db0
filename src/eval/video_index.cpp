// Video index folder and cosine ranking (see header).
#include "vifi/eval/video_index.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "vifi/model/prompt_checkpoint.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/crc32c.h"
#include "vifi/util/json.h"
#include "vifi/util/npy.h"
#include "vifi/util/state_dict.h"

namespace vifi::eval {
namespace {

namespace fs = std::filesystem;
constexpr const char* kIndexFormat = "vifi-video-index-v1";

std::string file_in(const std::string& dir, const char* name) { return (fs::path(dir) / name).string(); }

// CRC-32C of a feature row as float32 bytes (what it is saved as, whatever it was computed in).
std::string row_checksum(const torch::Tensor& features, int64_t row) {
  const auto t = features[row].to(torch::kCPU, torch::kFloat32).contiguous();
  return util::hex32(util::crc32c({static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * sizeof(float)}));
}


}  // namespace

IndexIdentity index_identity(model::ViFiCLIPImpl& model, int64_t frames) {
  const auto base = model::base_model_identity(model);  // every non-prompt weight
  std::string prompts;  // the learned prompts' fp32 bytes, in name order
  if (model.prompt_learner())
    for (const auto& [key, value] : util::module_state(*model.prompt_learner())) {
      const auto t = value.detach().to(torch::kCPU, torch::kFloat32).contiguous();
      prompts += key;
      prompts.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * sizeof(float));
    }
  return {base.arch, prompts.empty() ? base.checksum : base.checksum + "-" + util::hex32(util::crc32c(prompts)), frames};
}

void save_video_index(const std::string& dir, const VideoIndex& index) {
  if (static_cast<int64_t>(index.videos.size()) != (index.features.defined() ? index.features.size(0) : 0))
    throw std::invalid_argument("save_video_index: " + std::to_string(index.videos.size()) + " paths for " +
                                std::to_string(index.features.defined() ? index.features.size(0) : 0) + " feature rows");
  std::string lines;
  for (const auto& v : index.videos) {
    if (v.find('\n') != std::string::npos)
      throw std::invalid_argument("save_video_index: a path with a line break cannot be listed in videos.txt: '" + v + "'");
    lines += v + "\n";
  }
  const auto rows = static_cast<int64_t>(index.videos.size());
  const util::Json commit{{"rows", rows},
                          {"last_row_crc32c", rows > 0 ? row_checksum(index.features, rows - 1) : ""},
                          {"videos_txt_crc32c", util::hex32(util::crc32c(lines))}};
  fs::create_directories(dir);
  util::save_npy(file_in(dir, "video_features.npy"), index.features);
  util::write_file_atomic(file_in(dir, "videos.txt"), lines);
  auto failed = util::Json::array();
  for (const auto& [video, reason] : index.failed) failed.push_back(util::Json{{"video", video}, {"error", reason}});
  const util::Json meta{{"format", kIndexFormat},
                        {"model", {{"arch", index.identity.arch}, {"checksum", index.identity.checksum},
                                   {"frames", index.identity.frames}, {"weights", index.weights},
                                   {"clip", index.clip_archive}, {"prompts", index.prompts}}},
                        {"videos", index.videos.size()},
                        {"failed", std::move(failed)},
                        {"commit", commit}};
  util::write_file_atomic(file_in(dir, "index.json"), util::json_text(meta, 1) + "\n");
}

bool has_video_index(const std::string& dir) { return fs::exists(file_in(dir, "index.json")); }

VideoIndex load_video_index(const std::string& dir) {
  const auto json_path = file_in(dir, "index.json");
  std::ifstream in(json_path);
  if (!in) throw std::runtime_error(dir + ": not a video index (no index.json; make one with vifi index)");
  util::Json meta;
  VideoIndex index;
  try {
    meta = util::Json::parse(in);
    const auto format = meta.at("format").get<std::string>();
    if (format != kIndexFormat)
      throw std::runtime_error(json_path + ": format is '" + format + "', expected '" + kIndexFormat +
                               "' (an index of another vifi version, or not an index)");
    const auto& model = meta.at("model");
    if (!model.at("frames").is_number_integer())
      throw std::runtime_error(json_path + ": model.frames is " + model.at("frames").dump() +
                               ", expected a whole number of frames");
    index.identity = {model.at("arch").get<std::string>(), model.at("checksum").get<std::string>(),
                      model.at("frames").get<int64_t>()};
    if (index.identity.frames < 1 || index.identity.frames > kMaxIndexFrames)
      throw std::runtime_error(json_path + ": model.frames is " + std::to_string(index.identity.frames) +
                               ", expected 1 to " + std::to_string(kMaxIndexFrames));
    index.weights = model.at("weights").get<std::string>();
    index.clip_archive = model.value("clip", "");
    index.prompts = model.value("prompts", "");
    for (const auto& f : meta.value("failed", util::Json::array()))
      index.failed.emplace_back(f.at("video").get<std::string>(), f.at("error").get<std::string>());
  } catch (const util::Json::exception& e) {
    throw std::runtime_error(json_path + ": not a vifi index.json: " + e.what());
  }
  const auto list_path = file_in(dir, "videos.txt");
  if (!fs::exists(list_path)) throw std::runtime_error(list_path + ": missing (the index in " + dir + " is incomplete)");
  std::ifstream list(list_path, std::ios::binary);
  std::ostringstream buffer;
  buffer << list.rdbuf();
  if (!list || list.bad()) throw std::runtime_error(list_path + ": cannot be read");
  const std::string text = buffer.str();
  index.features = util::load_npy(file_in(dir, "video_features.npy")).to(torch::kFloat32);
  if (index.features.dim() != 2)
    throw std::runtime_error(dir + ": video_features.npy has shape " + util::shape_string(index.features.sizes()) +
                             ", expected [videos, width]");
  std::optional<int64_t> committed;
  std::string last_row, list_crc;
  try {
    if (meta.contains("commit")) {
      const auto& commit = meta.at("commit");
      committed = commit.at("rows").get<int64_t>();
      last_row = commit.at("last_row_crc32c").get<std::string>();
      list_crc = commit.at("videos_txt_crc32c").get<std::string>();
      if (*committed < 0) throw std::runtime_error(json_path + ": commit.rows is negative");
    }
  } catch (const util::Json::exception& e) {
    throw std::runtime_error(json_path + ": not a vifi index.json: " + e.what());
  }
  // The first `committed` lines (all of them for an index without a commit record).
  size_t end = 0;
  while (end < text.size() && (!committed || static_cast<int64_t>(index.videos.size()) < *committed)) {
    const auto eol = text.find('\n', end);
    if (eol == std::string::npos) break;  // a last line without its '\n' was never written whole
    if (eol > end) index.videos.push_back(text.substr(end, eol - end));
    end = eol + 1;
  }
  if (!committed) {
    if (index.features.size(0) != static_cast<int64_t>(index.videos.size()))
      throw std::runtime_error(dir + ": video_features.npy has shape " + util::shape_string(index.features.sizes()) +
                               " but videos.txt lists " + std::to_string(index.videos.size()) + " videos");
    return index;
  }
  const auto rows = *committed;
  const bool whole = index.features.size(0) >= rows && static_cast<int64_t>(index.videos.size()) == rows &&
                     util::hex32(util::crc32c(std::string_view(text).substr(0, end))) == list_crc &&
                     (rows == 0 || row_checksum(index.features, rows - 1) == last_row);
  if (!whole)
    throw StaleVideoIndex(dir + ": its files are not the save index.json records (" + std::to_string(rows) +
                          " videos; video_features.npy has " + std::to_string(index.features.size(0)) +
                          " rows): a save was cut short; run vifi index again to rebuild it");
  index.features = index.features.narrow(0, 0, rows);
  return index;
}

namespace {

torch::Tensor unit_rows(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::normalize(x.to(torch::kFloat32), F::NormalizeFuncOptions().dim(-1));
}

// Hits for every row, best `score` first (ties by row), cut to `topk`.
std::vector<SearchHit> best_hits(const torch::Tensor& scores, const torch::Tensor& cosines, int64_t topk) {
  const auto s = scores.contiguous(), c = cosines.contiguous();
  const auto* sp = s.data_ptr<float>();
  const auto* cp = c.data_ptr<float>();
  std::vector<SearchHit> hits;
  for (int64_t i = 0; i < s.size(0); ++i) hits.push_back({i, static_cast<double>(sp[i]), static_cast<double>(cp[i])});
  std::stable_sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
  hits.resize(static_cast<size_t>(std::min<int64_t>(std::max<int64_t>(topk, 0), static_cast<int64_t>(hits.size()))));
  return hits;
}

}  // namespace

std::vector<SearchHit> rank_by_cosine(const torch::Tensor& features, const torch::Tensor& query, int64_t topk) {
  if (features.dim() != 2 || query.dim() != 1 || features.size(1) != query.size(0))
    throw std::invalid_argument("rank_by_cosine: features " + util::shape_string(features.sizes()) + " and query " +
                                util::shape_string(query.sizes()) + " must be [N,D] and [D]");
  const auto cosines = torch::mv(unit_rows(features), unit_rows(query));
  return best_hits(cosines, cosines, topk);
}

std::vector<SearchHit> rank_by_querybank(const torch::Tensor& features, const torch::Tensor& texts, double scale, int64_t topk) {
  if (features.dim() != 2 || texts.dim() != 2 || features.size(1) != texts.size(1) || texts.size(0) < 1)
    throw std::invalid_argument("rank_by_querybank: features " + util::shape_string(features.sizes()) + " and texts " +
                                util::shape_string(texts.sizes()) + " must be [N,D] and [1+K,D]");
  if (!(scale > 0)) throw std::invalid_argument("rank_by_querybank: scale must be > 0, got " + std::to_string(scale));
  const auto cosines = torch::mm(unit_rows(features), unit_rows(texts).t());  // [N,1+K]
  const auto probability = torch::softmax(cosines * scale, 1).select(1, 0);
  return best_hits(probability, cosines.select(1, 0), topk);
}

}  // namespace vifi::eval

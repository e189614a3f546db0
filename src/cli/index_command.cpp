// `vifi index VIDEOS... | --videos-from LIST --weights W --out DIR`: embeds a video collection
// once for `vifi search` and `vifi serve --index` (folder layout: eval/video_index). Videos
// already in DIR with the same model identity are kept, not re-embedded; the index is saved
// every few dozen videos (less often once a save takes over 5% of the time: util/save_pacing),
// and on Ctrl-C, so an interrupted run resumes where it stopped. Videos are decoded by
// data::VideoLoader's workers (--workers) while the model embeds the previous batch. A video that
// cannot be read is listed in index.json and on stderr, and the exit code is 1.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "commands.h"
#include "video_inference.h"
#include "vifi/data/dataset.h"
#include "vifi/data/video_files.h"
#include "vifi/data/video_reader.h"
#include "vifi/eval/video_index.h"
#include "vifi/model/weights.h"
#include "vifi/util/error_message.h"
#include "vifi/util/interrupt.h"
#include "vifi/util/logging.h"
#include "vifi/util/save_pacing.h"

namespace vifi::cli {
namespace {

namespace fs = std::filesystem;

struct IndexOptions {
  std::vector<std::string> videos;
  std::string videos_from;  // one video per line, optionally followed by a label ("path label")
  std::string root;         // folder the list's paths are relative to (default: the list's folder)
  std::string weights;
  std::string clip_archive;
  std::string prompts;
  std::string out;
  int64_t frames = 8;
  int64_t save_every = 64;  // new videos between saves (more once saving gets slow: util/save_pacing)
  int workers = 4;          // decoding threads
};

std::string fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

int run_index(const IndexOptions& o) {
  if (o.videos.empty() == o.videos_from.empty())
    throw std::runtime_error("index: give the videos as arguments or with --videos-from LIST (one of them)");
  auto requested = o.videos_from.empty() ? data::expand_video_folders(o.videos) : read_video_list(o.videos_from, o.root);
  for (auto& v : requested) v = absolute(v);

  util::install_interrupt_handler();
  c10::InferenceMode inference;
  auto model = model::load_vificlip(o.weights, o.clip_archive, {"video"}, "", o.prompts);
  eval::VideoIndex index;
  index.identity = eval::index_identity(*model, o.frames);
  index.weights = absolute(o.weights);
  index.clip_archive = o.clip_archive.empty() ? "" : absolute(o.clip_archive);
  index.prompts = o.prompts.empty() ? "" : absolute(o.prompts);

  std::vector<torch::Tensor> rows;
  std::optional<eval::VideoIndex> old;
  if (eval::has_video_index(o.out)) {
    try {
      old = eval::load_video_index(o.out);
    } catch (const eval::StaleVideoIndex& e) {  // what it holds cannot be trusted; it is rebuilt
      util::log_warn("index: " + std::string(e.what()) + "; embedding every video again");
    }
  }
  if (old) {
    if (old->identity == index.identity) {
      index.videos = old->videos;
      for (int64_t i = 0; i < old->features.size(0); ++i) rows.push_back(old->features[i]);
    } else {
      util::log_warn("index: " + o.out + " was made with another model or frame count (" + old->identity.arch + " " +
                     old->identity.checksum + ", " + std::to_string(old->identity.frames) + " frames); embedding every video again");
    }
  }
  // Rows are kept by path, so a video replaced in place since the last save (modified after
  // video_features.npy was written, as make decides) is embedded again into its own row.
  std::map<std::string, size_t> row_of;
  for (size_t i = 0; i < index.videos.size(); ++i) row_of.emplace(index.videos[i], i);
  std::error_code no_save_time;
  const auto saved_at = fs::last_write_time(fs::path(o.out) / "video_features.npy", no_save_time);
  const auto changed_since_save = [&](const std::string& video) {
    std::error_code unreadable;  // left to the decoder to name
    const auto modified = fs::last_write_time(video, unreadable);
    return !no_save_time && !unreadable && modified > saved_at;
  };
  std::vector<std::string> todo;
  std::set<std::string> queued;
  size_t changed = 0;
  for (const auto& v : requested) {
    const bool present = row_of.count(v) != 0;
    if (present && !changed_since_save(v)) continue;
    if (!queued.insert(v).second) continue;
    todo.push_back(v);
    changed += present;
  }
  util::log_info("index: " + std::to_string(requested.size()) + " videos, " + std::to_string(requested.size() - todo.size()) +
                 " already embedded with this model, " + std::to_string(todo.size()) + " to embed" +
                 (changed ? " (" + std::to_string(changed) + " changed since the index was saved)" : ""));

  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  util::SavePacing pacing(o.save_every, 0.05);
  pacing.saved(static_cast<int64_t>(index.videos.size()), 0.0, 0.0);  // what is on disk already
  const auto save = [&] {
    const double began = seconds();
    index.features = rows.empty() ? torch::zeros({0, model->clip()->config().embed_dim}) : torch::stack(rows);
    eval::save_video_index(o.out, index);
    pacing.saved(static_cast<int64_t>(index.videos.size() + index.failed.size()), began, seconds());
  };
  // A path videos.txt cannot list fails here; the others are decoded by the loader's workers, in
  // list order, as evaluation reads a video (read_video_clip's sampling and crop).
  std::vector<std::string> listable;
  for (const auto& path : todo) {
    if (path.find('\n') != std::string::npos) {  // videos.txt lists one path per line
      index.failed.emplace_back(path, path + ": a path with a line break cannot be indexed (rename the file)");
      util::log_error("index: " + index.failed.back().second);
      continue;
    }
    listable.push_back(path);
  }
  const auto records = unlabelled_records(listable);
  size_t done = 0;
  const auto total = records.size();
  const bool finished = embed_video_records(
      model, records, o.frames, o.workers, kClipsPerPass,
      [&](const torch::Tensor& embeddings, const std::vector<int64_t>& batch_rows, const std::vector<FailedVideo>& failed) {
        if (util::interrupt_requested()) return false;
        for (const auto& failure : failed) index.failed.emplace_back(failure.path, failure.reason);
        for (size_t b = 0; b < batch_rows.size(); ++b) {
          const auto& path = records[static_cast<size_t>(batch_rows[b])].path;
          const auto row = row_of.find(path);
          if (row != row_of.end()) {  // changed since the last save: its row, in place
            rows[row->second] = embeddings[static_cast<int64_t>(b)];
            continue;
          }
          rows.push_back(embeddings[static_cast<int64_t>(b)]);
          index.videos.push_back(path);
        }
        const auto before = done;
        done += batch_rows.size() + failed.size();
        if (done == total || pacing.due(static_cast<int64_t>(index.videos.size() + index.failed.size()), seconds())) save();
        if (before / static_cast<size_t>(o.save_every) != done / static_cast<size_t>(o.save_every) || done == total) {
          const double rate = done / std::max(seconds(), 1e-9);
          util::log_info("index: " + std::to_string(done) + "/" + std::to_string(total) + " videos, " + fixed(rate, 1) +
                         " videos/s, ETA " + fixed((total - done) / std::max(rate, 1e-9), 0) + " s");
        }
        return true;
      });
  if (!finished) {
    save();
    util::log_warn("index: interrupted; " + std::to_string(done) + " of " + std::to_string(total) + " new videos saved in " +
                   o.out + " (rerun the same command to continue)");
    return 130;
  }
  if (records.empty()) save();  // the folder exists and names this model even when nothing was new
  std::cout << "index: " << index.videos.size() << " videos in " << o.out << " (model checksum " << index.identity.checksum
            << ", " << o.frames << " frames per video)\n";
  if (!index.failed.empty()) {
    util::log_error("index: " + std::to_string(index.failed.size()) + " videos could not be read (listed in " +
                    (fs::path(o.out) / "index.json").string() + ")");
    return 1;
  }
  return 0;
}

}  // namespace

void add_search_index_command(CLI::App& app) {
  auto o = std::make_shared<IndexOptions>();
  auto* cmd = app.add_subcommand("index", "Embed a video collection once for vifi search and vifi serve --index");
  cmd->add_option("videos", o->videos, "video files, or folders of them (searched at any depth)");
  cmd->add_option("--videos-from", o->videos_from, "list of videos, one per line (\"path\" or \"path label\": annotation lists work)");
  cmd->add_option("--root", o->root, "folder the list's paths are relative to (default: the list's folder)");
  cmd->add_option("--weights", o->weights, "OpenAI CLIP archive, vifi checkpoint, torch.save or safetensors file")->required();
  cmd->add_option("--clip", o->clip_archive, "OpenAI CLIP archive lending token_embedding.weight to a checkpoint without it");
  cmd->add_option("--prompts", o->prompts, "prompt checkpoint (vifi prompt's prompts.pth) learned on --weights");
  cmd->add_option("--out", o->out, "index folder (created; an existing index of the same model is extended)")->required();
  cmd->add_option("--frames", o->frames, "frames sampled per video (test-mode sampling)")
      ->check(CLI::Range(int64_t{1}, eval::kMaxIndexFrames));
  cmd->add_option("--workers", o->workers, "decoding threads (default 4)")->check(CLI::Range(1, 256));
  cmd->callback([o] {
    const int code = run_index(*o);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace vifi::cli

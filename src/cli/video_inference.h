// What `vifi predict`, `vifi explain`, `vifi embed --videos-from`, `vifi index`, `vifi search`
// and `vifi serve` share: label lists from the
// command line, and one video read the way evaluation reads it (test-mode sampling, short-side
// resize and centre crop, normalised). Their models come from model::load_vificlip.
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "vifi/batch/clip_batch.h"
#include "vifi/data/dataset.h"
#include "vifi/data/video_clip.h"
#include "vifi/eval/video_index.h"
#include "vifi/model/vificlip.h"

namespace vifi::cli {

// "a,b , c" -> {"a","b","c"} (trimmed). Throws naming the option when no label is left.
std::vector<std::string> split_labels(const std::string& text, const std::string& option);

// Class names from --labels text or a --label-file (CSV "id,name" or one name per line);
// exactly one of them must be given.
std::vector<std::string> labels_from(const std::string& labels, const std::string& label_file);

// How read_video_clip reads a video: `frames` frames, test-mode sampling, one view at
// `resolution` (short-side resize, centre crop). Loaders over many videos use it too.
data::ClipConfig inference_clip_config(int64_t frames, int64_t resolution);

// `frames` frames of `path` sampled and cropped as in evaluation: [T,3,R,R] float32.
// Throws data::VideoError naming the file when it cannot be read.
torch::Tensor read_video_clip(const std::string& path, int64_t frames, int64_t resolution);

// The video embedding of `path` [D]: read_video_clip through ViFiCLIP::encode_video (vision
// prompts included). Throws data::VideoError naming the file when it cannot be read.
torch::Tensor video_embedding(model::ViFiCLIP& model, const std::string& path, int64_t frames);

// Many videos, each read as read_video_clip reads one, decoded by `workers` threads
// (data::VideoLoader, eval mode) while the caller runs the model on the previous batch of
// `clips_per_pass`. In list order, `on_batch(clips [B,T,3,R,R], rows, failed)` gets each batch:
// `rows` the indices into `records` of the clips (`clips` undefined when there are none),
// `failed` the videos that could not be read (the loader has logged each). It returns false to
// stop (Ctrl-C); so does this function.
using ClipBatchReady = std::function<bool(const torch::Tensor& clips, const std::vector<int64_t>& rows,
                                          const std::vector<FailedVideo>& failed)>;
bool read_video_records(const std::vector<data::VideoRecord>& records, int64_t frames, int64_t resolution,
                        int workers, int64_t clips_per_pass, const ClipBatchReady& on_batch);

// read_video_records through ViFiCLIP::encode_video: `on_batch(embeddings [B,D], rows, failed)`.
using EmbeddedBatch = ClipBatchReady;
bool embed_video_records(model::ViFiCLIP& model, const std::vector<data::VideoRecord>& records, int64_t frames,
                         int workers, int64_t clips_per_pass, const EmbeddedBatch& on_batch);

// Clips per forward pass of the commands that run a model over many videos (`index`, `predict`).
inline constexpr int64_t kClipsPerPass = 8;

// Records for videos named on a command line or in a list: path and name as given, no label.
std::vector<data::VideoRecord> unlabelled_records(const std::vector<std::string>& paths);

// The videos of `list` (--videos-from): "path" or "path label" per line, in an annotation list's
// syntax (quoted paths as `vifi data prepare` writes names with spaces), relative to `root`
// (empty: the list's folder). Throws std::runtime_error naming the list when it has no videos.
std::vector<std::string> read_video_list(const std::string& list, const std::string& root);

// The text embedding [D] of `query` prompted as a class name is (the model's CTX_INIT template
// or learned context), so a search for a class name matches how the model was trained.
// Throws std::runtime_error for an empty query or one longer than CLIP's context.
torch::Tensor query_embedding(model::ViFiCLIP& model, const std::string& query);

// The class names a model was trained on, embedded once as query_embedding embeds a query, for
// `vifi search --querybank` and `vifi serve --querybank` (eval::rank_by_querybank).
struct QueryBank {
  std::vector<std::string> names;  // [K]
  torch::Tensor embeddings;        // [K,D]
  double scale = 0.0;              // the model's logit scale exp(s), the softmax's temperature
};

// Reads the class names (label CSV or one per line) and embeds them. Throws std::runtime_error
// naming the file when it holds no names.
QueryBank load_querybank(model::ViFiCLIP& model, const std::string& path);

// The index's videos ranked by the probability the classifier over {query} + bank gives the
// query (the bank's entry equal to the query is left out, so the query counts once).
// `features` [N,D], `query` [D] (query_embedding of `query_text`).
std::vector<eval::SearchHit> rank_by_querybank(const torch::Tensor& features, const std::string& query_text,
                                               const torch::Tensor& query, const QueryBank& bank, int64_t topk);

}  // namespace vifi::cli

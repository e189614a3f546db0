// A video collection embedded once, for text-to-video and video-to-video search (`vifi index`,
// `vifi search`, `vifi serve --index`). Owns the index folder's layout and the ranking:
//   video_features.npy  [N,D] float32 video embeddings (frame embeddings averaged over time,
//                       ViFiCLIP::encode_video; not normalised, as `vifi embed` writes them)
//   videos.txt          N lines, the absolute path of row i
//   index.json          the model's identity (architecture, weights checksum, frames, weights
//                       file), the videos that could not be read, with the reason, and the
//                       commit record: the row count N, CRC-32C of row N-1 and of videos.txt
// The identity decides reuse: re-indexing with the same model keeps every row already there.
// Why a commit record: each file is replaced atomically but the three are not, and a run killed
// between them (SIGKILL, OOM, power) leaves files of two saves. Rows and paths only grow, so
// index.json (written last) names the prefix that is whole; a folder whose files do not hold that
// prefix (another model's rows after a change of model) is refused as StaleVideoIndex.
#pragma once
#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vifi/model/vificlip.h"

namespace vifi::eval {

// The most frames `vifi index` samples per video; also what a loaded index.json may claim, so a
// damaged file cannot make `vifi search --like` sample a billion frames.
inline constexpr int64_t kMaxIndexFrames = 256;

struct IndexIdentity {
  std::string arch;      // CLIPConfig::to_string()
  std::string checksum;  // CRC-32C of every weight incl. learned prompts (8 hex digits)
  int64_t frames = 8;    // frames sampled per video, in [1, kMaxIndexFrames]
  bool operator==(const IndexIdentity& o) const { return arch == o.arch && checksum == o.checksum && frames == o.frames; }
};

// The identity of `model` embedding `frames` frames per video.
IndexIdentity index_identity(model::ViFiCLIPImpl& model, int64_t frames);

struct VideoIndex {
  IndexIdentity identity;
  std::string weights;                     // the weights file it was made with (for `vifi search`)
  std::string clip_archive;                // its --clip, if any
  std::string prompts;                     // its --prompts, if any
  std::vector<std::string> videos;         // row i's path
  torch::Tensor features;                  // [N,D] float32
  std::vector<std::pair<std::string, std::string>> failed;  // (video, reason)
};

// A folder whose files are not the save its index.json records (a save cut short; see above).
struct StaleVideoIndex : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Writes the three files atomically, one at a time, index.json last. Throws
// std::invalid_argument for a path holding a line break (videos.txt is one path per line).
void save_video_index(const std::string& dir, const VideoIndex& index);
// The rows index.json commits (later rows of a cut-short save are dropped). Throws
// std::runtime_error naming the folder and file when one is missing, index.json is not this
// format (format tag, types, model.frames outside [1, kMaxIndexFrames]) or they disagree (an index
// without a commit record, from before it existed: row count vs lines of videos.txt), and
// StaleVideoIndex when the files do not hold the committed rows.
VideoIndex load_video_index(const std::string& dir);
// True when `dir` holds an index.json.
bool has_video_index(const std::string& dir);

struct SearchHit {
  int64_t row = 0;
  double score = 0.0;   // what the hits are ranked by: the cosine, or the querybank probability
  double cosine = 0.0;  // cosine similarity in [-1, 1]
};

// The `topk` rows of `features` [N,D] most similar to `query` [D] by cosine similarity, best
// first (ties by row). Throws std::invalid_argument when the widths differ.
std::vector<SearchHit> rank_by_cosine(const torch::Tensor& features, const torch::Tensor& query, int64_t topk);

// Query-bank normalisation (Bogolin et al., "Cross Modal Retrieval with Querybank Normalisation",
// CVPR 2022: the inverted softmax) with the bank a model's class prompts and the temperature its
// logit scale, so a video's score is the probability its classifier over {query} + bank gives
// the query: exp(s cos(v,q)) / sum over t in {q} + bank of exp(s cos(v,t)). A model fine-tuned
// by cross-entropy (ViFi-CLIP) only learns that a video is nearer its class than the others;
// how near differs from video to video (hubness), which plain cosine ranking across videos
// inherits. `texts` [1+K,D]: row 0 the query, then the bank without it. Throws
// std::invalid_argument for mismatched shapes or a non-positive scale.
std::vector<SearchHit> rank_by_querybank(const torch::Tensor& features, const torch::Tensor& texts, double scale, int64_t topk);

}  // namespace vifi::eval

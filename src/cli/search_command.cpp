// `vifi search DIR "text query" [--topk K] [--json]` and `vifi search DIR --like VIDEO`: the
// videos of an index (vifi index) ranked by cosine similarity to the query's prompt embedding
// (the model's class-prompt template) or to another video's embedding; with --querybank LABELS,
// by the probability the model's classifier over the query and those classes gives the query
// (eval::rank_by_querybank).
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "commands.h"
#include "video_inference.h"
#include "vifi/eval/video_index.h"
#include "vifi/model/weights.h"
#include "vifi/util/json.h"

namespace vifi::cli {
namespace {

struct SearchOptions {
  std::string index;
  std::string query;
  std::string like;
  std::string weights;  // default: the index's
  std::string clip_archive;
  std::string prompts;
  std::string querybank;  // class names (label CSV or one per line)
  int64_t topk = 10;
  bool json = false;
};

void run_search(const SearchOptions& o) {
  if (o.query.empty() == o.like.empty()) throw std::runtime_error("search: give a text query or --like VIDEO (one of them)");
  const auto index = eval::load_video_index(o.index);
  const auto weights = o.weights.empty() ? index.weights : o.weights;
  const auto clip_archive = o.clip_archive.empty() ? index.clip_archive : o.clip_archive;
  const auto prompts = o.prompts.empty() ? index.prompts : o.prompts;
  c10::InferenceMode inference;
  auto model = model::load_vificlip(weights, clip_archive, {"video"}, "", prompts);
  const auto identity = eval::index_identity(*model, index.identity.frames);
  if (!(identity == index.identity))
    throw std::runtime_error(o.index + " was indexed with model " + index.identity.arch + " (checksum " + index.identity.checksum +
                             ") but " + weights + " is " + identity.arch + " (checksum " + identity.checksum +
                             "); search with the weights it was made with, or re-index");
  if (!o.querybank.empty() && !o.like.empty()) throw std::runtime_error("search: --querybank ranks text queries; give a text, not --like");
  const auto query = o.like.empty() ? query_embedding(model, o.query) : video_embedding(model, o.like, index.identity.frames);
  const auto prompt = model->prompts().front();  // the query's, before the bank's prompts replace it
  const auto hits = o.querybank.empty()
                        ? eval::rank_by_cosine(index.features, query, o.topk)
                        : rank_by_querybank(index.features, o.query, query, load_querybank(model, o.querybank), o.topk);
  if (o.json) {
    auto results = util::Json::array();
    for (size_t i = 0; i < hits.size(); ++i)
      results.push_back(util::Json{{"rank", i + 1},
                                   {"video", index.videos[static_cast<size_t>(hits[i].row)]},
                                   {"score", util::json_number(hits[i].score)},
                                   {"cosine", util::json_number(hits[i].cosine)}});
    util::Json out{{"query", o.like.empty() ? o.query : o.like}};
    if (o.like.empty()) out["prompt"] = prompt;
    out["ranking"] = o.querybank.empty() ? "cosine" : "querybank";
    out["results"] = std::move(results);
    std::cout << util::json_text(out) << "\n";
    return;
  }
  std::cout << (o.like.empty() ? "\"" + prompt + "\"" : "like " + o.like) << ": top " << hits.size()
            << " of " << index.videos.size() << " videos"
            << (o.querybank.empty() ? "" : " by the probability over the query and " + o.querybank + "'s classes") << "\n";
  for (size_t i = 0; i < hits.size(); ++i) {
    std::cout << std::setw(4) << i + 1 << ".  " << std::fixed << std::setprecision(3) << std::setw(6) << hits[i].score;
    if (!o.querybank.empty()) std::cout << "  (cosine " << std::setw(6) << hits[i].cosine << ")";
    std::cout << "  " << index.videos[static_cast<size_t>(hits[i].row)] << "\n";
  }
}

}  // namespace

void add_search_command(CLI::App& app) {
  auto o = std::make_shared<SearchOptions>();
  auto* cmd = app.add_subcommand("search", "Rank the videos of an index (vifi index) by a text query or a video");
  cmd->add_option("index", o->index, "index folder written by vifi index")->required();
  cmd->add_option("query", o->query, "text to search for, prompted like a class name (e.g. \"playing guitar\")");
  cmd->add_option("--like", o->like, "a video: rank the index by similarity to it instead of a text");
  cmd->add_option("--topk", o->topk, "results shown")->check(CLI::PositiveNumber);
  cmd->add_option("--querybank", o->querybank,
                  "class names the model was trained on (label CSV or one per line): rank by the probability its "
                  "classifier over the query and these classes gives the query (QB-Norm's inverted softmax)");
  cmd->add_flag("--json", o->json, "print one JSON object instead of text");
  cmd->add_option("--weights", o->weights, "weights the index was made with (default: the file index.json names)");
  cmd->add_option("--clip", o->clip_archive, "OpenAI CLIP archive lending token_embedding.weight (default: the index's)");
  cmd->add_option("--prompts", o->prompts, "prompt checkpoint the index was made with (default: the index's)");
  cmd->callback([o] { run_search(*o); });
}

}  // namespace vifi::cli

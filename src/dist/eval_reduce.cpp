// Merging evaluation results across ranks (see header).
#include "vifi/dist/eval_reduce.h"

#include <sstream>

namespace vifi::dist {
namespace {

// Length-prefixed fields, so paths and messages may hold any character.
void put(std::ostringstream& out, const std::string& s) { out << s.size() << ':' << s; }

std::string get(std::istringstream& in) {
  size_t n = 0;
  char colon = 0;
  in >> n >> colon;
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  return s;
}

std::string encode(const std::vector<train::FailedVideo>& failed) {
  std::ostringstream out;
  out << failed.size() << ' ';
  for (const auto& f : failed) {
    out << f.index << ' ';
    put(out, f.path);
    put(out, f.reason);
  }
  return out.str();
}

void decode_into(const std::string& text, std::vector<train::FailedVideo>& failed) {
  std::istringstream in(text);
  size_t n = 0;
  in >> n;
  for (size_t i = 0; i < n; ++i) {
    train::FailedVideo f;
    in >> f.index;
    f.path = get(in);
    f.reason = get(in);
    failed.push_back(std::move(f));
  }
}

}  // namespace

eval::EvalResult all_reduce_eval(const eval::EvalResult& local, ProcessGroup& group) {
  eval::EvalResult merged;
  auto counts = local.counts.to_tensor();
  group.all_reduce_sum(counts);
  merged.counts = eval::ClassificationCounts::from_tensor(counts, local.counts.num_classes());
  // A rank with an empty shard never saw a batch and kept the default of 1 view.
  auto views = torch::tensor({local.num_views});
  group.all_reduce_max(views);
  merged.num_views = views.item<int64_t>();
  for (const auto& text : group.all_gather_strings(encode(local.failed))) decode_into(text, merged.failed);
  return merged;
}

}  // namespace vifi::dist

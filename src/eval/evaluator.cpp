// The evaluation loop. Runs under InferenceMode and restores the model's train/eval mode.
#include "vifi/eval/evaluator.h"

#include <sstream>

#include "vifi/batch/device_prefetcher.h"
#include "vifi/dist/process_group.h"
#include "vifi/eval/views.h"

namespace vifi::eval {
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

std::string encode(const std::vector<FailedVideo>& failed) {
  std::ostringstream out;
  out << failed.size() << ' ';
  for (const auto& f : failed) {
    out << f.index << ' ';
    put(out, f.path);
    put(out, f.reason);
  }
  return out.str();
}

void decode_into(const std::string& text, std::vector<FailedVideo>& failed) {
  std::istringstream in(text);
  size_t n = 0;
  in >> n;
  for (size_t i = 0; i < n; ++i) {
    FailedVideo f;
    in >> f.index;
    f.path = get(in);
    f.reason = get(in);
    failed.push_back(std::move(f));
  }
}

}  // namespace

EvalResult merge_over_ranks(const EvalResult& local, dist::ProcessGroup& group) {
  EvalResult merged;
  auto counts = local.counts.to_tensor();
  group.all_reduce_sum(counts);
  merged.counts = ClassificationCounts::from_tensor(counts, local.counts.num_classes());
  // A rank with an empty shard never saw a batch and kept the default of 1 view.
  auto views = torch::tensor({local.num_views});
  group.all_reduce_max(views);
  merged.num_views = views.item<int64_t>();
  for (const auto& text : group.all_gather_strings(encode(local.failed))) decode_into(text, merged.failed);
  return merged;
}

EvalResult evaluate(model::ViFiCLIP& model, vifi::BatchSource& source, const EvalOptions& options) {
  const bool was_training = model->is_training();
  model->eval();
  c10::InferenceMode inference;
  const auto text = model->text_features();
  EvalResult result;
  result.counts = ClassificationCounts(text.size(0));
  vifi::DevicePrefetcher batches(source, options.device);
  batches.start_epoch(0);
  int64_t done = 0;
  while (auto batch = batches.next()) {
    result.failed.insert(result.failed.end(), batch->failed.begin(), batch->failed.end());
    if (batch->label.numel() > 0) {
      result.num_views = batch->video.size(1);
      const auto logits = model->logits(flatten_views(batch->video.to(options.device)), text);  // [B*V,C]
      result.counts.update(average_views(logits, result.num_views), batch->label);
    }
    if (options.progress) options.progress(++done, source.num_batches());
  }
  model->train(was_training);
  return options.group ? merge_over_ranks(result, *options.group) : result;
}

}  // namespace vifi::eval

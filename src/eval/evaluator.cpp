// The evaluation loop. Runs under InferenceMode and restores the model's train/eval mode.
#include "vifi/eval/evaluator.h"

#include "vifi/dist/eval_reduce.h"
#include "vifi/train/device_prefetcher.h"

namespace vifi::eval {

EvalResult evaluate(model::ViFiCLIP& model, train::BatchSource& source, const EvalOptions& options) {
  const bool was_training = model->is_training();
  model->eval();
  c10::InferenceMode inference;
  const auto text = model->text_features();
  EvalResult result{ClassificationCounts(text.size(0)), {}, 1};
  train::DevicePrefetcher batches(source, options.device);
  batches.start_epoch(0);
  int64_t done = 0;
  while (auto batch = batches.next()) {
    result.failed.insert(result.failed.end(), batch->failed.begin(), batch->failed.end());
    if (batch->label.numel() > 0) {
      auto video = batch->video.to(options.device);
      const bool views = video.dim() == 6;  // [B,V,T,3,H,W]
      const auto b = video.size(0);
      result.num_views = views ? video.size(1) : 1;
      auto logits = model->logits(views ? video.flatten(0, 1) : video, text);  // [B*V,C]
      result.counts.update(aggregate_views(logits.view({b, result.num_views, -1})), batch->label);
    }
    if (options.progress) options.progress(++done, source.num_batches());
  }
  model->train(was_training);
  return options.group ? dist::all_reduce_eval(result, *options.group) : result;
}

}  // namespace vifi::eval

// Evaluation of a ViFi-CLIP model over a batch source: text features once per run, logits per
// view, softmax averaged over views, every video counted exactly once (no drop_last), videos that
// failed to decode listed.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "vifi/eval/metrics.h"
#include "vifi/model/vificlip.h"
#include "vifi/train/batch_source.h"

namespace vifi::dist {
class ProcessGroup;
}

namespace vifi::eval {

struct EvalResult {
  ClassificationCounts counts;
  std::vector<train::FailedVideo> failed;
  int64_t num_views = 1;
};

struct EvalOptions {
  torch::Device device = torch::kCPU;
  // Called after each batch with (batches done, batches total).
  std::function<void(int64_t, int64_t)> progress;
  // Several ranks: `source` holds this rank's eval shard and the result is merged over ranks
  // (collective; every rank gets the totals).
  dist::ProcessGroup* group = nullptr;
};

EvalResult evaluate(model::ViFiCLIP& model, train::BatchSource& source, const EvalOptions& options);

}  // namespace vifi::eval

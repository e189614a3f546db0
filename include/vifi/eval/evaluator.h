// Evaluation of a ViFi-CLIP model over a batch source: text features once per run, logits per
// view, softmax averaged over views, every video counted exactly once (no drop_last), videos that
// failed to decode listed.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "vifi/eval/metrics.h"
#include "vifi/model/vificlip.h"
#include "vifi/batch/batch_source.h"

namespace vifi::dist {
class ProcessGroup;
}

namespace vifi::eval {

struct EvalResult {
  ClassificationCounts counts;
  std::vector<vifi::FailedVideo> failed;
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

// Every batch of `source` must be [B,V,T,3,H,W] (eval/views); throws c10::Error otherwise.
EvalResult evaluate(model::ViFiCLIP& model, vifi::BatchSource& source, const EvalOptions& options);

// Collective: every rank passes its shard's result and gets the merged one (counts summed, failed
// videos concatenated in rank order, gathered through the process group's store).
EvalResult merge_over_ranks(const EvalResult& local, dist::ProcessGroup& group);

}  // namespace vifi::eval

// Data-parallel gradient averaging: after the last backward before an optimiser step, every
// rank's trainable gradients are replaced by their mean over ranks, so all ranks take the same
// step. Gradients are packed into buckets (flat buffers of up to `bucket_bytes`) that are
// all-reduced as one message each and divided in place.
//
// Overlap: arm() before the step's last backward makes per-parameter gradient hooks copy each
// gradient (already accumulated with earlier micro-steps) into its bucket and launch the bucket's
// asynchronous all-reduce as soon as the bucket is complete, in bucket order; finish() waits.
//
// What differs from PyTorch's DDP:
//  - It syncs only on step boundaries by construction (DDP syncs every backward unless the
//    caller wraps the other micro-steps in no_sync()).
//  - Gradients are copied into the buckets (DDP makes param.grad a view of its bucket); the copy
//    keeps the trainer's gradient tensors and single-process path untouched.
//  - It divides by the world size after the sum (DDP divides before); the same mean.
//  - Buckets follow reverse registration order (about backward order) instead of DDP's order
//    rebuilt from the first iteration; there is no find_unused_parameters: a parameter with no
//    gradient on some step is filled in by finish() (zeros where this rank has none, left
//    undefined locally as in a single process).
//  - A parameter that receives a second gradient within one backward (weight sharing, reentrant
//    recomputation) makes its bucket "stale": finish() re-reduces it from .grad, never wrong.
// Frozen parameters (requires_grad false) are never passed in and so never communicated.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <vector>

#include "vifi/dist/process_group.h"

namespace vifi::dist {

struct GradSyncOptions {
  int64_t bucket_bytes = 25 * 1024 * 1024;  // DDP's default bucket_cap_mb
};

// Indices into `tensors`, from last to first, grouped into buckets of at most `bucket_bytes` (a
// larger tensor gets one of its own) and of one dtype and device each. Pure.
std::vector<std::vector<size_t>> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes);

// Rank `root`'s parameters and buffers copied into every rank's module (bucketed broadcasts).
void broadcast_module(torch::nn::Module& module, ProcessGroup& group, int root = 0);

class GradSync {
 public:
  // `params`: the trainable parameters (the optimiser's), identical in order on every rank.
  GradSync(std::vector<torch::Tensor> params, std::shared_ptr<ProcessGroup> group, GradSyncOptions options = {});
  ~GradSync();  // removes the hooks, so the model may outlive this object
  GradSync(const GradSync&) = delete;
  GradSync& operator=(const GradSync&) = delete;

  // The next backward is the last one before an optimiser step: reduce buckets as they fill.
  void arm();
  // After that backward: every bucket reduced and waited for, .grad = mean over ranks.
  void finish();

  size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> params;    // indices into params_
    std::vector<int64_t> offsets;  // element offset of each parameter in `flat`
    torch::Tensor flat;            // [sum of numel] on the group's device
    size_t ready = 0;
    bool stale = false;
    std::optional<PendingWork> work;
  };
  void on_gradient(size_t param, const torch::Tensor& grad);
  void launch_ready_buckets();
  void fill_from_grads(Bucket& bucket);
  void write_back(Bucket& bucket);
  torch::Tensor slot(Bucket& bucket, size_t k);

  std::vector<torch::Tensor> params_;
  std::shared_ptr<ProcessGroup> group_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> where_;  // param -> (bucket, position in it)
  std::vector<char> seen_;                        // param got its gradient in this backward
  std::vector<unsigned> hooks_;
  size_t next_launch_ = 0;  // buckets launch strictly in order: every rank's i-th all-reduce is the same bucket
  bool armed_ = false;
};

}  // namespace vifi::dist

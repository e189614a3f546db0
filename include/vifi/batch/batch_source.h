// What the trainer and evaluator consume: batches of clips, epoch by epoch. The FFmpeg loader
// (data/loader, target vifi_video) implements it; keeping the interface here, below data/, keeps
// training and evaluation in vifi_core (LibTorch only) and lets tests and benchmarks feed tensors.
#pragma once
#include <torch/torch.h>

#include <optional>

#include "vifi/batch/clip_batch.h"

namespace vifi {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Begins `epoch`, skipping its first `skip_batches` batches (resuming mid-epoch).
  virtual void start_epoch(int64_t epoch, int64_t skip_batches = 0) = 0;
  virtual std::optional<ClipBatch> next() = 0;  // nullopt after the epoch's last batch
  virtual int64_t num_batches() const = 0;      // per epoch, on this rank
  // Clips in batch `batch` of every epoch on this rank (0 <= batch < num_batches(); the last may
  // be short). The trainer weights a short accumulation group by it before loading the group.
  virtual int64_t batch_clips(int64_t batch) const = 0;
  virtual int64_t dataset_size() const = 0;
  // Training: samples replaced because their video was bad (cumulative).
  virtual int64_t replaced_samples() const { return 0; }
};

// A BatchSource over tensors held in memory: video [N,T,3,H,W] (training) or [N,V,T,3,H,W]
// (evaluation, see ClipBatch), label [N].
// Epoch e visits a permutation seeded by (seed, e) when `shuffle`, else list order.
class TensorBatchSource : public BatchSource {
 public:
  TensorBatchSource(torch::Tensor video, torch::Tensor label, int64_t batch_size, bool shuffle, uint64_t seed);
  void start_epoch(int64_t epoch, int64_t skip_batches = 0) override;
  std::optional<ClipBatch> next() override;
  int64_t num_batches() const override;
  int64_t batch_clips(int64_t batch) const override;
  int64_t dataset_size() const override { return label_.size(0); }

 private:
  torch::Tensor video_, label_;
  int64_t batch_size_;
  bool shuffle_;
  uint64_t seed_;
  torch::Tensor order_;
  int64_t cursor_ = 0;
};

}  // namespace vifi

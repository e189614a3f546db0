// Host-to-device prefetching of training and evaluation batches.
//
// On a CUDA device, each batch is copied from page-locked (pinned) host memory with a
// non-blocking copy, issued one batch ahead: while the GPU still runs the kernels of step n
// (launched asynchronously), the host takes batch n+1 from the loader, pins it and queues its
// copy, so neither the pinning nor the copy waits for the GPU, and the copy is a DMA instead of
// a staged pageable memcpy that blocks the host. The copy shares the compute stream, so its
// few milliseconds run between two steps rather than under them (a side stream needs CUDA
// headers that vifi_core does not require). On the CPU the batches pass through untouched.
#pragma once
#include <torch/torch.h>

#include <optional>

#include "vifi/batch/batch_source.h"

namespace vifi {

class DevicePrefetcher {
 public:
  DevicePrefetcher(BatchSource& source, torch::Device device) : source_(source), device_(device) {}

  // Begins the source's epoch and queues the copy of its first batch.
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  // The next batch with video and label on the device; nullopt at the end of the epoch.
  std::optional<ClipBatch> next();

 private:
  std::optional<ClipBatch> fetch();

  BatchSource& source_;
  torch::Device device_;
  std::optional<ClipBatch> ahead_;
};

// The batch's tensors on `device`: pinned and copied without blocking when it is a CUDA device.
ClipBatch to_device(ClipBatch batch, const torch::Device& device);

}  // namespace vifi

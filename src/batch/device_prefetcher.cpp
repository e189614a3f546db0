// Host-to-device prefetching: see the header for the overlap it buys and what it does not.
#include "vifi/batch/device_prefetcher.h"

namespace vifi {

ClipBatch to_device(ClipBatch batch, const torch::Device& device) {
  if (device.is_cpu()) return batch;
  if (device.is_cuda()) {
    // Pinned memory lets the copy run as an asynchronous DMA; the source tensor must stay
    // alive until it completes, which the caching host allocator guarantees for pinned blocks.
    batch.video = batch.video.pin_memory().to(device, /*non_blocking=*/true);
    batch.label = batch.label.pin_memory().to(device, /*non_blocking=*/true);
  } else {
    batch.video = batch.video.to(device);
    batch.label = batch.label.to(device);
  }
  return batch;
}

void DevicePrefetcher::start_epoch(int64_t epoch, int64_t skip_batches) {
  source_.start_epoch(epoch, skip_batches);
  ahead_ = fetch();
}

std::optional<ClipBatch> DevicePrefetcher::next() {
  auto current = std::move(ahead_);
  if (current) ahead_ = fetch();  // queued before the caller launches this step's kernels
  return current;
}

std::optional<ClipBatch> DevicePrefetcher::fetch() {
  auto batch = source_.next();
  if (!batch) return std::nullopt;
  return to_device(std::move(*batch), device_);
}

}  // namespace vifi

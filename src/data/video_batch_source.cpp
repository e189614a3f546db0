// The VideoLoader behind the BatchSource interface (see header).
#include "vifi/data/video_batch_source.h"

namespace vifi::data {

VideoBatchSource::VideoBatchSource(std::vector<VideoRecord> records, const ClipConfig& clip, const LoaderConfig& loader,
                                   LoaderMode mode)
    : loader_(std::move(records), clip, loader, mode) {}

void VideoBatchSource::start_epoch(int64_t epoch, int64_t skip_batches) {
  loader_.start_epoch(epoch, skip_batches);
}

std::optional<vifi::ClipBatch> VideoBatchSource::next() {
  return loader_.next();
}

}  // namespace vifi::data

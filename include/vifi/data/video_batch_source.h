// The FFmpeg loader (data/loader) behind the BatchSource interface the trainer and evaluator
// consume; it yields the loader's ClipBatch as it is. Its options come from the run config
// through experiment/adapters.
#pragma once
#include <memory>

#include "vifi/data/loader.h"
#include "vifi/batch/batch_source.h"

namespace vifi::data {

class VideoBatchSource : public vifi::BatchSource {
 public:
  VideoBatchSource(std::vector<VideoRecord> records, const ClipConfig& clip, const LoaderConfig& loader,
                   LoaderMode mode);
  // Skipped batches are not decoded: the loader keys every draw by position in the epoch.
  void start_epoch(int64_t epoch, int64_t skip_batches = 0) override;
  std::optional<vifi::ClipBatch> next() override;
  int64_t num_batches() const override { return loader_.num_batches(); }
  int64_t batch_clips(int64_t batch) const override { return loader_.batch_clips(batch); }
  int64_t dataset_size() const override { return loader_.dataset_size(); }
  int64_t replaced_samples() const override { return loader_.bad_data().replaced_samples; }

 private:
  VideoLoader loader_;
};

}  // namespace vifi::data

// The FFmpeg loader (data/loader) seen as a train::BatchSource, and the translation of the run
// config into the loader's and transforms' own structs (config is parsed once, then each
// component gets only its part).
#pragma once
#include <memory>

#include "vifi/data/loader.h"
#include "vifi/train/batch_source.h"
#include "vifi/train/config.h"

namespace vifi::data {

ClipConfig clip_config_from(const train::Config& config);
LoaderConfig loader_config_from(const train::Config& config, LoaderMode mode, int rank, int world_size);

class VideoBatchSource : public train::BatchSource {
 public:
  VideoBatchSource(std::vector<VideoRecord> records, const ClipConfig& clip, const LoaderConfig& loader,
                   LoaderMode mode);
  // Skipped batches are not decoded: the loader keys every draw by position in the epoch.
  void start_epoch(int64_t epoch, int64_t skip_batches = 0) override;
  std::optional<train::ClipBatch> next() override;
  int64_t num_batches() const override { return loader_.num_batches(); }
  int64_t dataset_size() const override { return loader_.dataset_size(); }
  int64_t replaced_samples() const override { return loader_.bad_data().replaced_samples; }

 private:
  VideoLoader loader_;
};

}  // namespace vifi::data

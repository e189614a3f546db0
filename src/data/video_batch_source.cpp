// Adapter from VideoLoader batches to train::ClipBatch.
#include "vifi/data/video_batch_source.h"

namespace vifi::data {

ClipConfig clip_config_from(const train::Config& config) {
  ClipConfig clip;
  clip.num_frames = config.data.num_frames;
  clip.augment.input_size = static_cast<int>(config.data.input_size);
  clip.augment.color_jitter = config.aug.color_jitter;
  clip.augment.gray_scale = config.aug.gray_scale;
  clip.eval.input_size = static_cast<int>(config.data.input_size);
  clip.eval.num_crops = static_cast<int>(config.test.num_crop);
  clip.num_clips = config.test.num_clip;
  return clip;
}

LoaderConfig loader_config_from(const train::Config& config, LoaderMode mode, int rank, int world_size) {
  LoaderConfig loader;
  loader.batch_size = config.train.batch_size;
  loader.num_workers = static_cast<int>(std::max<int64_t>(1, config.data.num_workers));
  loader.rank = rank;
  loader.world_size = world_size;
  loader.seed = static_cast<uint64_t>(config.seed);
  loader.shuffle = mode == LoaderMode::train;
  return loader;
}

VideoBatchSource::VideoBatchSource(std::vector<VideoRecord> records, const ClipConfig& clip, const LoaderConfig& loader,
                                   LoaderMode mode)
    : loader_(std::move(records), clip, loader, mode) {}

void VideoBatchSource::start_epoch(int64_t epoch, int64_t skip_batches) {
  loader_.start_epoch(epoch, skip_batches);
}

std::optional<train::ClipBatch> VideoBatchSource::next() {
  auto batch = loader_.next();
  if (!batch) return std::nullopt;
  train::ClipBatch out{batch->video, batch->label, batch->index, {}};
  for (const auto& f : batch->failed) out.failed.push_back({f.index, f.path, f.reason});
  return out;
}

}  // namespace vifi::data

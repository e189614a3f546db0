// Video record -> clip tensor for training and evaluation.
#include "vifi/data/video_clip.h"

#include <stdexcept>
#include <string>

#include "vifi/data/sampling.h"
#include "vifi/data/video_reader.h"

namespace vifi::data {
namespace {

// Opens the record's video; a file without frames is bad data like an unreadable one.
VideoReader open_video(const VideoRecord& record) {
  VideoReader reader(record.path);
  if (reader.info().num_frames < 1) throw VideoError(VideoFault::empty, record.path, "no frames");
  return reader;
}

}  // namespace

void validate(const ClipConfig& cfg) {
  if (cfg.num_frames < 1) throw std::invalid_argument("ClipConfig.num_frames (DATA.NUM_FRAMES) must be >= 1");
  if (cfg.num_clips < 1) throw std::invalid_argument("ClipConfig.num_clips (TEST.NUM_CLIP) must be >= 1");
  if (cfg.augment.input_size != cfg.eval.input_size) {
    throw std::invalid_argument("ClipConfig: augment.input_size " + std::to_string(cfg.augment.input_size) +
                                " differs from eval.input_size " + std::to_string(cfg.eval.input_size));
  }
  validate(cfg.augment);
  validate(cfg.eval);
}

int64_t eval_num_views(const ClipConfig& cfg) { return cfg.num_clips * cfg.eval.num_crops; }

std::vector<int64_t> train_sample_shape(const ClipConfig& cfg) {
  return {cfg.num_frames, 3, cfg.augment.input_size, cfg.augment.input_size};
}

std::vector<int64_t> eval_sample_shape(const ClipConfig& cfg) {
  const int64_t s = cfg.eval.input_size;
  return {eval_num_views(cfg), cfg.num_frames, 3, s, s};
}

torch::Tensor load_train_clip(const VideoRecord& record, const ClipConfig& cfg, Rng& sampling, Rng& augment) {
  VideoReader reader = open_video(record);
  const auto indices = sample_train_indices(reader.info().num_frames, cfg.num_frames, sampling);
  return train_transform(reader.read_frames(indices), augment, cfg.augment);
}

torch::Tensor load_eval_clip(const VideoRecord& record, const ClipConfig& cfg) {
  VideoReader reader = open_video(record);
  const auto indices = sample_multiview_indices(reader.info().num_frames, cfg.num_frames, cfg.num_clips);
  const torch::Tensor crops = eval_transform(reader.read_frames(indices), cfg.eval);  // [C, V*T, 3, S, S]
  // [C, V*T, ...] -> [C*V, T, ...]: crop-major views, as the reference orders them.
  return crops.reshape(eval_sample_shape(cfg));
}

}  // namespace vifi::data

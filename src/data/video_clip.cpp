// Video record -> clip tensor for training and evaluation.
#include "vifi/data/video_clip.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "vifi/data/sampling.h"
#include "vifi/data/video_reader.h"

namespace vifi::data {
namespace {

// Opens the record's video; a file without frames is bad data like an unreadable one.
VideoReader open_video(const VideoRecord& record, const VideoReaderOptions& options) {
  VideoReader reader(record.path, options);
  if (reader.info().num_frames < 1) throw VideoError(VideoFault::empty, record.path, "no frames");
  return reader;
}

VideoReaderOptions reader_options(const DecodeConfig& decode, PassedFrames passed_frames, int short_side) {
  VideoReaderOptions options;
  options.passed_frames = passed_frames;
  options.decoder_threads = std::max(1, decode.decoder_threads);
  options.short_side = decode.scaling == FrameScaling::in_conversion ? short_side : 0;
  options.numbering_store = decode.numbering_store;
  return options;
}

}  // namespace

VideoReaderOptions train_reader_options(const ClipConfig& cfg) {
  return reader_options(cfg.decode, cfg.decode.train_passed_frames, train_resize_short_side(cfg.augment.input_size));
}

VideoReaderOptions eval_reader_options(const ClipConfig& cfg) {
  const int s = cfg.eval.input_size;
  return reader_options(cfg.decode, cfg.decode.eval_passed_frames, cfg.eval.num_crops == 3 ? s : train_resize_short_side(s));
}

void validate(const ClipConfig& cfg) {
  if (cfg.num_frames < 1) throw std::invalid_argument("ClipConfig.num_frames (DATA.NUM_FRAMES) must be >= 1");
  if (cfg.num_clips < 1) throw std::invalid_argument("ClipConfig.num_clips (TEST.NUM_CLIP) must be >= 1");
  if (cfg.decode.decoder_threads < 0 || cfg.decode.decoder_threads > 64) {
    throw std::invalid_argument("DecodeConfig.decoder_threads (DATA.DECODER_THREADS) must be in [0, 64], got " +
                                std::to_string(cfg.decode.decoder_threads));
  }
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

torch::Tensor load_train_clip(const VideoRecord& record, const ClipConfig& cfg, Rng& sampling, Rng& augment,
                              torch::Tensor out) {
  VideoReader reader = open_video(record, train_reader_options(cfg));
  const auto indices = sample_train_indices(reader.info().num_frames, cfg.num_frames, sampling);
  return train_transform(reader.read_frames(indices), augment, cfg.augment, std::move(out));
}

torch::Tensor load_eval_clip(const VideoRecord& record, const ClipConfig& cfg, torch::Tensor out) {
  VideoReader reader = open_video(record, eval_reader_options(cfg));
  const auto indices = sample_multiview_indices(reader.info().num_frames, cfg.num_frames, cfg.num_clips);
  const int64_t s = cfg.eval.input_size;
  // [C, V*T, ...] -> [C*V, T, ...]: crop-major views, as the reference orders them. Both are
  // views of one contiguous block, so `out` is written through the first.
  const std::vector<int64_t> crop_major{cfg.eval.num_crops, cfg.num_clips * cfg.num_frames, 3, s, s};
  if (out.defined() && (!out.is_contiguous() || out.sizes() != torch::IntArrayRef(eval_sample_shape(cfg)))) {
    throw std::invalid_argument("load_eval_clip: out= must be a contiguous tensor of the eval sample's shape");
  }
  const torch::Tensor crops = eval_transform(reader.read_frames(indices), cfg.eval,
                                             out.defined() ? out.view(crop_major) : torch::Tensor());
  return crops.view(eval_sample_shape(cfg));
}

}  // namespace vifi::data

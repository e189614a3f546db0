// One dataset sample end to end: open the video, sample frame indices, decode only those frames,
// transform them into a normalised clip tensor.
// Owns: the per-sample composition of data/video_reader, data/sampling and data/transforms, and
// the layout of evaluation views. Bad data (missing, unreadable, truncated, zero-frame video)
// surfaces as VideoError naming the file; what to do about it is the loader's business.
//
// Evaluation views: V = num_clips (TEST.NUM_CLIP) temporal views x C = num_crops (TEST.NUM_CROP)
// spatial crops, ordered crop-major like the reference (view = crop * num_clips + clip, its
// FormatShape/validate reshape). The view axis is always there (V*C >= 1); eval/views averages it.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "vifi/data/dataset.h"
#include "vifi/data/rng.h"
#include "vifi/data/transforms.h"
#include "vifi/data/video_reader.h"

namespace vifi::data {

// How a clip's frames are decoded; what each choice buys is in docs/performance.md.
struct DecodeConfig {
  PassedFrames train_passed_frames = PassedFrames::skip_deblocking;  // DATA.PASSED_FRAMES
  PassedFrames eval_passed_frames = PassedFrames::skip_unreferenced;  // TEST.PASSED_FRAMES
  FrameScaling scaling = FrameScaling::after_decode;             // DATA.SCALE_FRAMES
  // DATA.DECODER_THREADS: FFmpeg threads per video; 0 lets the loader give each worker the
  // cores the workers leave idle (hardware threads / workers). 1 by default: with unreferenced
  // passed frames skipped, H.264 keeps only a chain of dependent frames, which frame threads
  // cannot overlap (measured in docs/performance.md).
  int decoder_threads = 1;
  // Where learned frame numberings persist (VideoReaderOptions::numbering_store): the folder
  // itself, resolved from DATA.NUMBERING_CACHE; empty: memory only.
  std::string numbering_store;
};

struct ClipConfig {
  DecodeConfig decode;
  int64_t num_frames = 8;    // DATA.NUM_FRAMES (T)
  AugmentConfig augment;     // training transforms (augment.input_size = DATA.INPUT_SIZE)
  EvalTransformConfig eval;  // evaluation crops (eval.input_size = DATA.INPUT_SIZE)
  int64_t num_clips = 1;     // TEST.NUM_CLIP: temporal views at evaluation
};

// Throws std::invalid_argument naming the offending field.
void validate(const ClipConfig& cfg);

// The reader options a training (or evaluation) clip is decoded with: the decode choices (its own
// passed-frames choice: training reads skip passed frames' deblocking by default, evaluation
// reads stay exact), and the short side the train (eval) transforms resize to when scaling in
// the conversion.
VideoReaderOptions train_reader_options(const ClipConfig& cfg);
VideoReaderOptions eval_reader_options(const ClipConfig& cfg);

// Views per evaluation sample: num_clips * eval.num_crops.
int64_t eval_num_views(const ClipConfig& cfg);

// Shape of one sample: {T,3,S,S} for training, {V,T,3,S,S} for evaluation.
std::vector<int64_t> train_sample_shape(const ClipConfig& cfg);
std::vector<int64_t> eval_sample_shape(const ClipConfig& cfg);

// [T,3,S,S]: train sampling drawn from `sampling`, augmentation drawn from `augment`.
// `out` (PyTorch's out=): when defined, a contiguous float32 [T,3,S,S] the clip is written into
// and returned (the loader passes a row of its batch); std::invalid_argument if it is not.
torch::Tensor load_train_clip(const VideoRecord& record, const ClipConfig& cfg, Rng& sampling, Rng& augment,
                              torch::Tensor out = {});

// [V,T,3,S,S] (V >= 1): deterministic test sampling and crops. `out` as above, [V,T,3,S,S].
torch::Tensor load_eval_clip(const VideoRecord& record, const ClipConfig& cfg, torch::Tensor out = {});

}  // namespace vifi::data

// Multi-view inference (ViFi-CLIP Sec. 4, the reference's TEST.NUM_CLIP x TEST.NUM_CROP test):
// the one owner of how many views a test takes, how they sit in a batch and how their scores
// are combined. Every evaluation batch carries a view axis, [B,V,T,3,H,W] with V >= 1 (V = 1
// for single-view), so the evaluator has one path and never guesses from a tensor's rank.
//
// Layout: V = num_clips temporal views x num_crops spatial crops, crop-major (view = crop *
// num_clips + clip), as the reference's FormatShape orders them; data/video_clip stacks them in
// that order. Averaging: the mean over views of each view's softmax (the reference sums them;
// the argmax is the same and a mean stays a probability).
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "vifi/config/config.h"

namespace vifi::eval {

struct ViewLayout {
  int64_t clips = 1;  // TEST.NUM_CLIP: temporal views
  int64_t crops = 1;  // TEST.NUM_CROP: spatial crops (1 or 3)
  int64_t count() const { return clips * crops; }
};

// The reference's multi-view test after training (MULTI_VIEW_INFERENCE): 4 clips x 3 crops.
inline constexpr ViewLayout kMultiViewInference = [] {
  ViewLayout layout;
  layout.clips = 4;
  layout.crops = 3;
  return layout;
}();

// The views TEST.* asks for.
ViewLayout view_layout(const TestConfig& test);
// TEST.* with its view keys set to `layout`.
TestConfig with_views(TestConfig test, const ViewLayout& layout);

// [B,V,T,3,H,W] -> [B*V,T,3,H,W]; throws (naming the shape) on anything but a 6-d batch.
torch::Tensor flatten_views(const torch::Tensor& video);
// view logits [B*V,C] (or [B,V,C]) -> [B,C] mean over views of softmax, float32.
torch::Tensor average_views(const torch::Tensor& view_logits, int64_t views);

}  // namespace vifi::eval

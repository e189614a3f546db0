// View layout and averaging (see header).
#include "vifi/eval/views.h"

namespace vifi::eval {

ViewLayout view_layout(const TestConfig& test) {
  ViewLayout layout;
  layout.clips = test.num_clip;
  layout.crops = test.num_crop;
  return layout;
}

TestConfig with_views(TestConfig test, const ViewLayout& layout) {
  test.num_clip = layout.clips;
  test.num_crop = layout.crops;
  return test;
}

torch::Tensor flatten_views(const torch::Tensor& video) {
  TORCH_CHECK(video.dim() == 6, "evaluation batches are [B,V,T,3,H,W] (V views, 1 for single-view), got ",
              video.sizes());
  return video.flatten(0, 1);
}

torch::Tensor average_views(const torch::Tensor& view_logits, int64_t views) {
  TORCH_CHECK(views >= 1, "average_views: views must be >= 1, got ", views);
  TORCH_CHECK((view_logits.dim() == 2 && view_logits.size(0) % views == 0) ||
                  (view_logits.dim() == 3 && view_logits.size(1) == views),
              "average_views expects [B*V,C] or [B,V,C] logits with V = ", views, ", got ", view_logits.sizes());
  const auto classes = view_logits.size(-1);
  return view_logits.reshape({-1, views, classes}).to(torch::kFloat32).softmax(-1).mean(1);
}

}  // namespace vifi::eval

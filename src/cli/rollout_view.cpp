// Rollout figures (see header).
#include "rollout_view.h"

#include <cstdio>

#include "vifi/data/clip_frames.h"
#include "vifi/eval/attention_rollout.h"
#include "vifi/viz/heatmap.h"

namespace vifi::cli {
namespace {

cv::Mat map_image(const torch::Tensor& map) {  // [g,g] -> CV_32F
  auto m = map.to(torch::kFloat).contiguous();
  return cv::Mat(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_32F, m.data_ptr()).clone();
}

}  // namespace

RolloutView rollout_view(model::ViFiCLIP& model, const torch::Tensor& clip, const std::string& name) {
  namespace F = torch::nn::functional;
  const auto& config = model->clip()->config();
  RolloutView view{name, data::denormalize_frames(clip), {}, {}};
  view.maps = eval::rollout_maps(model->clip()->visual, clip, config.grid_size());
  const auto frame = F::normalize(model->frame_features(clip.unsqueeze(0))[0], F::NormalizeFuncOptions().dim(-1));
  const auto text = F::normalize(model->text_features(), F::NormalizeFuncOptions().dim(-1));
  view.similarity = torch::matmul(frame, text.t()).select(1, 0);  // [T]
  return view;
}

cv::Mat overlay_panel(const RolloutView& v, size_t t, int size) {
  char caption[96];
  std::snprintf(caption, sizeof caption, "%s %.2f", v.name.c_str(), v.similarity[static_cast<int64_t>(t)].item<double>());
  return viz::with_caption(viz::overlay_heatmap(v.frames[t], map_image(v.maps[static_cast<int64_t>(t)]), size), caption);
}

cv::Mat frame_panel(const RolloutView& v, size_t t, int size) {
  cv::Mat plain = viz::overlay_heatmap(v.frames[t], cv::Mat::zeros(1, 1, CV_32F), size, 0.0);
  return viz::with_caption(plain, "frame " + std::to_string(t + 1) + "/" + std::to_string(v.frames.size()));
}

cv::Mat rollout_grid(const std::vector<RolloutView>& views, int size) {
  std::vector<cv::Mat> tiles;
  const auto frames = views.at(0).frames.size();
  for (size_t row = 0; row <= views.size(); ++row)
    for (size_t t = 0; t < frames; ++t)
      tiles.push_back(row == 0 ? frame_panel(views[0], t, size) : overlay_panel(views[row - 1], t, size));
  return viz::tile_grid(tiles, static_cast<int>(frames));
}

}  // namespace vifi::cli

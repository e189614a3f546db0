// Attention-rollout figures of one video under one or more models, shared by `vifi explain`
// (PNG/MP4 files) and `vifi serve` (the page's grid): the frames as the model saw them, the
// rollout maps (eval/attention_rollout) and each frame's cosine similarity to a label's prompt.
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "vifi/model/vificlip.h"

namespace vifi::cli {

struct RolloutView {
  std::string name;             // caption prefix (the model's file stem)
  std::vector<cv::Mat> frames;  // RGB frames as the model saw them
  torch::Tensor maps;           // [T,grid,grid]
  torch::Tensor similarity;     // [T] cosine(frame embedding, prompt embedding of class_names()[0])
};

// `clip` [T,3,R,R] (read_video_clip) under `model`, whose first class name is the label.
RolloutView rollout_view(model::ViFiCLIP& model, const torch::Tensor& clip, const std::string& name);

// Panel t: the frame with the model's rollout overlaid, captioned "<name> <similarity>".
cv::Mat overlay_panel(const RolloutView& view, size_t t, int size);
// Panel t: the plain frame, captioned "frame t/T".
cv::Mat frame_panel(const RolloutView& view, size_t t, int size);
// A row of plain frames, then one row of overlays per view.
cv::Mat rollout_grid(const std::vector<RolloutView>& views, int size);

}  // namespace vifi::cli

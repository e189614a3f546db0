// Attention heatmaps over video frames and tiled figures: the pieces of `vifi explain`'s output.
// Images are BGR CV_8UC3 (OpenCV's order) unless a name says RGB.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace vifi::viz {

// The frame (RGB CV_8UC3, any size) scaled to `size` x `size`, with `map` (CV_32F, grid x grid,
// non-negative) stretched to [0,1] by its maximum, upsampled bicubically, coloured with the jet
// colormap and blended at `alpha`.
cv::Mat overlay_heatmap(const cv::Mat& rgb_frame, const cv::Mat& map, int size, double alpha = 0.5);

// A caption strip (white, dark text) stacked above `image`.
cv::Mat with_caption(const cv::Mat& image, const std::string& caption);

// Tiles (all the same size) in rows of `columns`, a 4 px white gap between them.
cv::Mat tile_grid(const std::vector<cv::Mat>& tiles, int columns);

// Images side by side (equal heights), a 4 px white gap between them.
cv::Mat side_by_side(const std::vector<cv::Mat>& images);

}  // namespace vifi::viz

// Heatmap overlay and tiling (see header).
#include "vifi/viz/heatmap.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <stdexcept>

#include "vifi/viz/axes.h"

namespace vifi::viz {

cv::Mat overlay_heatmap(const cv::Mat& rgb_frame, const cv::Mat& map, int size, double alpha) {
  if (rgb_frame.type() != CV_8UC3 || map.type() != CV_32F || map.empty())
    throw std::invalid_argument("overlay_heatmap: expected an RGB CV_8UC3 frame and a CV_32F map");
  cv::Mat frame;
  cv::resize(rgb_frame, frame, {size, size}, 0, 0, cv::INTER_CUBIC);
  cv::cvtColor(frame, frame, cv::COLOR_RGB2BGR);
  double max_value = 0;
  cv::minMaxLoc(map, nullptr, &max_value);
  cv::Mat scaled, heat8, heat;
  map.convertTo(scaled, CV_8U, max_value > 0 ? 255.0 / max_value : 0.0);
  cv::resize(scaled, heat8, {size, size}, 0, 0, cv::INTER_CUBIC);
  cv::applyColorMap(heat8, heat, cv::COLORMAP_JET);
  cv::Mat blended;
  cv::addWeighted(frame, 1.0 - alpha, heat, alpha, 0.0, blended);
  return blended;
}

cv::Mat with_caption(const cv::Mat& image, const std::string& caption) {
  // Small tiles get a smaller font before the text is cut.
  double scale = 0.42;
  while (scale > 0.31 && text_size(caption, scale).width > image.cols - 6) scale -= 0.04;
  cv::Mat strip(22, image.cols, CV_8UC3, cv::Scalar(255, 255, 255));
  std::string text = caption;
  while (text.size() > 3 && text_size(text, scale).width > image.cols - 6) text = text.substr(0, text.size() - 4) + "..";
  put_text(strip, text, {3, 16}, scale, cv::Scalar(40, 40, 40));
  cv::Mat out;
  cv::vconcat(strip, image, out);
  return out;
}

cv::Mat tile_grid(const std::vector<cv::Mat>& tiles, int columns) {
  if (tiles.empty() || columns < 1) throw std::invalid_argument("tile_grid: no tiles");
  const int gap = 4, w = tiles[0].cols, h = tiles[0].rows;
  const int n = static_cast<int>(tiles.size()), cols = std::min(columns, n), rows = (n + cols - 1) / cols;
  cv::Mat grid(rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, CV_8UC3, cv::Scalar(255, 255, 255));
  for (int i = 0; i < n; ++i) {
    if (tiles[static_cast<size_t>(i)].size() != tiles[0].size())
      throw std::invalid_argument("tile_grid: tiles differ in size");
    tiles[static_cast<size_t>(i)].copyTo(grid(cv::Rect((i % cols) * (w + gap), (i / cols) * (h + gap), w, h)));
  }
  return grid;
}

cv::Mat side_by_side(const std::vector<cv::Mat>& images) {
  return tile_grid(images, static_cast<int>(images.size()));
}

}  // namespace vifi::viz

// Frame PNGs and the contact sheet of one clip (see header).
#include "vifi/viz/contact_sheet.h"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "vifi/viz/heatmap.h"
#include "vifi/viz/image_io.h"

namespace vifi::viz {
namespace {

// A row of a sheet holds one clip of up to 10 frames; longer clips wrap at 8.
int sheet_columns(size_t slots) { return slots <= 10 ? static_cast<int>(slots) : 8; }

cv::Mat to_bgr(const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

}  // namespace

std::string clip_frame_filename(const data::ClipFrame& frame) {
  char name[96];
  std::snprintf(name, sizeof name, "frame_%02lld_%05lld", static_cast<long long>(frame.slot),
                static_cast<long long>(frame.index));
  return std::string(name) + (frame.crop >= 0 ? "_crop" + std::to_string(frame.crop) : "") + ".png";
}

std::string clip_frame_caption(const data::ClipFrame& frame) {
  return "#" + std::to_string(frame.slot) + " frame " + std::to_string(frame.index) +
         (frame.crop >= 0 ? " crop " + std::to_string(frame.crop) : "");
}

cv::Mat contact_sheet(const std::vector<cv::Mat>& rgb_images, const std::vector<std::string>& captions, int columns,
                      int thumbnail_width) {
  if (rgb_images.empty() || rgb_images.size() != captions.size()) {
    throw std::invalid_argument("contact_sheet: " + std::to_string(rgb_images.size()) + " images and " +
                                std::to_string(captions.size()) + " captions, expected as many of each (>= 1)");
  }
  const cv::Size full = rgb_images.front().size();
  const int height = std::max(1, static_cast<int>(std::lround(static_cast<double>(full.height) * thumbnail_width / full.width)));
  std::vector<cv::Mat> tiles;
  for (size_t i = 0; i < rgb_images.size(); ++i) {
    if (rgb_images[i].type() != CV_8UC3 || rgb_images[i].size() != full)
      throw std::invalid_argument("contact_sheet: image " + std::to_string(i) + " is not RGB CV_8UC3 of the first's size");
    cv::Mat thumb;
    cv::resize(rgb_images[i], thumb, {thumbnail_width, height}, 0, 0, cv::INTER_AREA);
    tiles.push_back(with_caption(to_bgr(thumb), captions[i]));
  }
  return tile_grid(tiles, columns);
}

std::vector<std::string> write_clip_frames(const std::string& dir, const data::ClipFrames& frames) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create the output folder (" + ec.message() + ")");
  std::vector<std::string> paths;
  std::vector<cv::Mat> images;
  std::vector<std::string> captions;
  for (const auto& f : frames.frames) {
    paths.push_back((std::filesystem::path(dir) / clip_frame_filename(f)).string());
    write_png(paths.back(), to_bgr(f.rgb));
    images.push_back(f.rgb);
    captions.push_back(clip_frame_caption(f));
  }
  paths.push_back((std::filesystem::path(dir) / "contact_sheet.png").string());
  write_png(paths.back(), contact_sheet(images, captions, sheet_columns(frames.indices.size())));
  return paths;
}

}  // namespace vifi::viz

// Writing figures: PNG files (atomically, so a reader never sees half an image) and short MP4
// animations of equally sized frames. Errors name the file.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace vifi::viz {

// BGR (or grayscale) image -> PNG bytes. Throws std::runtime_error naming `what` when it cannot
// be encoded (an empty image).
std::string encode_png(const cv::Mat& image, const std::string& what);

// BGR (or grayscale) image -> PNG at `path`.
void write_png(const std::string& path, const cv::Mat& image);

// BGR frames of one size -> H.264 MP4 (MPEG-4 Part 2 where this FFmpeg has no libx264). Odd
// sizes are padded by one white pixel (4:2:0 chroma needs even sides).
void write_mp4(const std::string& path, const std::vector<cv::Mat>& frames, double fps);

}  // namespace vifi::viz

// A clip's frames as files: one PNG per frame, named after its slot and frame index, and a
// contact sheet (a grid of captioned thumbnails) to see a sampling at a glance.
// Owns: the file names, the captions and the sheet's layout. PNGs are lossless, so a frame file
// holds exactly the pixels of the image it was given (RGB in, BGR on disk as PNG expects).
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "vifi/data/clip_frames.h"

namespace vifi::viz {

// "frame_03_00017.png": slot 3 showing frame 17; a crop adds "_crop1".
std::string clip_frame_filename(const data::ClipFrame& frame);

// "#3 frame 17", "#3 frame 17 crop 1".
std::string clip_frame_caption(const data::ClipFrame& frame);

// RGB CV_8UC3 images of one size -> a BGR grid of `columns` thumbnails `thumbnail_width` wide
// (aspect ratio kept), each captioned. Throws std::invalid_argument when the counts differ.
cv::Mat contact_sheet(const std::vector<cv::Mat>& rgb_images, const std::vector<std::string>& captions, int columns,
                      int thumbnail_width = 160);

// Writes DIR/<clip_frame_filename> for every frame and DIR/contact_sheet.png (DIR created if
// missing); returns the paths written, the sheet last. Each file is written atomically.
std::vector<std::string> write_clip_frames(const std::string& dir, const data::ClipFrames& frames);

}  // namespace vifi::viz

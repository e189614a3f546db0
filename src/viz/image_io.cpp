// PNG through cv::imencode + util/atomic_file; MP4 through data's libav writer.
#include "vifi/viz/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <stdexcept>

#include "../data/video_writer.h"  // same library (vifi_video): the libav encode/mux loop
#include "vifi/data/synthetic.h"
#include "vifi/util/atomic_file.h"

namespace vifi::viz {

std::string encode_png(const cv::Mat& image, const std::string& what) {
  std::vector<uchar> bytes;
  // Level 9: figures are written once and committed, so size matters more than encode time.
  if (image.empty() || !cv::imencode(".png", image, bytes, {cv::IMWRITE_PNG_COMPRESSION, 9}))
    throw std::runtime_error(what + ": cannot encode a " + std::to_string(image.cols) + "x" +
                             std::to_string(image.rows) + " image as PNG");
  return std::string(bytes.begin(), bytes.end());
}

void write_png(const std::string& path, const cv::Mat& image) {
  util::write_file_atomic(path, encode_png(image, path));
}

void write_mp4(const std::string& path, const std::vector<cv::Mat>& frames, double fps) {
  if (frames.empty()) throw std::invalid_argument(path + ": no frames to write");
  data::EncoderSettings settings;
  settings.codec = data::synthetic_codec_available("h264") ? "h264" : "mpeg4";
  settings.width = frames[0].cols + frames[0].cols % 2;
  settings.height = frames[0].rows + frames[0].rows % 2;
  settings.fps = fps;
  settings.max_b_frames = 0;
  data::VideoWriter writer(path, settings);
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].size() != frames[0].size()) throw std::invalid_argument(path + ": frames differ in size");
    cv::Mat rgb;
    cv::cvtColor(frames[i], rgb, cv::COLOR_BGR2RGB);
    cv::copyMakeBorder(rgb, rgb, 0, settings.height - rgb.rows, 0, settings.width - rgb.cols, cv::BORDER_CONSTANT,
                       cv::Scalar(255, 255, 255));
    writer.write(rgb, static_cast<int64_t>(i));
  }
  writer.finish();
}

}  // namespace vifi::viz

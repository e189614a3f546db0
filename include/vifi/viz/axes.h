// The frame every chart shares, drawn with OpenCV on a white BGR canvas: title, plot area,
// x/y axes with "nice" ticks (1, 2, 5 x 10^k) and their labels, axis names, a legend box, and
// a colour palette that tells up to 20 classes apart (tab20-like). Owns the data -> pixel map.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace vifi::viz {

struct AxisRange {
  double lo = 0.0;
  double hi = 1.0;
};

// Range covering `values` with a 5% margin (a flat series gets +-1 around its value).
AxisRange padded_range(const std::vector<double>& values);

// Ticks inside [range.lo, range.hi] with a 1/2/5 x 10^k step, about `target` of them.
std::vector<double> nice_ticks(AxisRange range, int target = 6);

// Tick text: "0.5", "120", "1e-05" (short, no trailing zeros).
std::string format_tick(double value);

// BGR colour of series / class `index` (cycles after 20).
cv::Scalar palette_color(size_t index);

struct AxesSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  AxisRange x;
  AxisRange y;
  bool show_ticks = true;  // t-SNE's coordinates mean nothing: a scatter turns them off
};

// A canvas with titled, labelled axes; maps data coordinates into the plot area.
class Axes {
 public:
  Axes(cv::Size size, const AxesSpec& spec, int legend_width = 0);

  cv::Point to_pixel(double x, double y) const;
  cv::Mat& canvas() { return canvas_; }
  const cv::Rect& area() const { return area_; }

  // A legend right of the plot area: one colour swatch and name per entry.
  void draw_legend(const std::vector<std::string>& names, const std::vector<cv::Scalar>& colors);

 private:
  void draw_frame(const AxesSpec& spec);
  cv::Mat canvas_;
  cv::Rect area_;
  AxesSpec spec_;
};

// Text helpers shared by the figures (OpenCV's Hershey simplex font, anti-aliased).
void put_text(cv::Mat& image, const std::string& text, cv::Point origin, double scale, cv::Scalar color,
              int thickness = 1);
cv::Size text_size(const std::string& text, double scale, int thickness = 1);

}  // namespace vifi::viz

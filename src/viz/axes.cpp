// Chart frame drawing (see header).
#include "vifi/viz/axes.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace vifi::viz {
namespace {

constexpr double kTickFont = 0.42;
constexpr double kLabelFont = 0.5;
constexpr double kTitleFont = 0.6;
const cv::Scalar kInk{40, 40, 40};
const cv::Scalar kGrid{225, 225, 225};

}  // namespace

void put_text(cv::Mat& image, const std::string& text, cv::Point origin, double scale, cv::Scalar color,
              int thickness) {
  cv::putText(image, text, origin, cv::FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv::LINE_AA);
}

cv::Size text_size(const std::string& text, double scale, int thickness) {
  int baseline = 0;
  return cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
}

AxisRange padded_range(const std::vector<double>& values) {
  if (values.empty()) return {};
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  if (*hi - *lo < 1e-12) return {*lo - 1.0, *hi + 1.0};
  const double margin = 0.05 * (*hi - *lo);
  return {*lo - margin, *hi + margin};
}

std::vector<double> nice_ticks(AxisRange range, int target) {
  const double raw = (range.hi - range.lo) / std::max(1, target);
  const int exponent = static_cast<int>(std::floor(std::log10(raw)));
  // Tick k is (k * m) scaled by 10^exponent; dividing by 10^-exponent for small steps gives the
  // correctly rounded 0.6 where 3 * 0.2 would give 0.6000000000000001.
  const auto scale = [exponent](double units) {
    return exponent >= 0 ? units * std::pow(10.0, exponent) : units / std::pow(10.0, -exponent);
  };
  double m = 1.0;
  for (const double candidate : {1.0, 2.0, 5.0, 10.0}) {
    m = candidate;
    if (scale(m) >= raw) break;
  }
  std::vector<double> ticks;
  const double step = scale(m);
  for (auto k = static_cast<int64_t>(std::ceil(range.lo / step)); scale(static_cast<double>(k) * m) <= range.hi + 1e-9 * step; ++k)
    ticks.push_back(scale(static_cast<double>(k) * m));
  return ticks;
}

std::string format_tick(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", value);
  return buf;
}

cv::Scalar palette_color(size_t index) {
  // matplotlib's tab10 followed by its lighter tab20 partners, as BGR.
  static const std::vector<cv::Scalar> colors = {
      {180, 119, 31},  {14, 127, 255},  {44, 160, 44},   {40, 39, 214},   {189, 103, 148},
      {75, 86, 140},   {194, 119, 227}, {127, 127, 127}, {34, 189, 188},  {207, 190, 23},
      {232, 199, 174}, {120, 187, 255}, {138, 223, 152}, {150, 152, 255}, {213, 176, 197},
      {148, 156, 196}, {210, 182, 247}, {199, 199, 199}, {141, 219, 219}, {229, 218, 158}};
  return colors[index % colors.size()];
}

Axes::Axes(cv::Size size, const AxesSpec& spec, int legend_width)
    : canvas_(size, CV_8UC3, cv::Scalar(255, 255, 255)), spec_(spec) {
  // Room on the left for the widest y tick label plus the rotated axis name.
  int widest = 0;
  if (spec.show_ticks)
    for (const double t : nice_ticks(spec.y)) widest = std::max(widest, text_size(format_tick(t), kTickFont).width);
  const int left = 30 + (spec.show_ticks ? widest + 10 : 0), top = 40, bottom = spec.show_ticks ? 56 : 36;
  area_ = cv::Rect(left, top, size.width - left - 20 - legend_width, size.height - top - bottom);
  draw_frame(spec);
}

cv::Point Axes::to_pixel(double x, double y) const {
  const double fx = (x - spec_.x.lo) / (spec_.x.hi - spec_.x.lo);
  const double fy = (y - spec_.y.lo) / (spec_.y.hi - spec_.y.lo);
  return {area_.x + static_cast<int>(std::lround(fx * area_.width)),
          area_.y + area_.height - static_cast<int>(std::lround(fy * area_.height))};
}

void Axes::draw_frame(const AxesSpec& spec) {
  const auto title = text_size(spec.title, kTitleFont, 2);
  put_text(canvas_, spec.title, {(canvas_.cols - title.width) / 2, 26}, kTitleFont, kInk, 2);
  if (spec.show_ticks) {
    for (const double t : nice_ticks(spec.x)) {
      const auto p = to_pixel(t, spec.y.lo);
      cv::line(canvas_, {p.x, area_.y}, {p.x, area_.y + area_.height}, kGrid, 1);
      const auto label = format_tick(t);
      put_text(canvas_, label, {p.x - text_size(label, kTickFont).width / 2, p.y + 18}, kTickFont, kInk);
    }
    for (const double t : nice_ticks(spec.y)) {
      const auto p = to_pixel(spec.x.lo, t);
      cv::line(canvas_, {area_.x, p.y}, {area_.x + area_.width, p.y}, kGrid, 1);
      const auto label = format_tick(t);
      put_text(canvas_, label, {p.x - text_size(label, kTickFont).width - 6, p.y + 5}, kTickFont, kInk);
    }
  }
  cv::rectangle(canvas_, area_, kInk, 1);
  const auto xl = text_size(spec.x_label, kLabelFont);
  put_text(canvas_, spec.x_label, {area_.x + (area_.width - xl.width) / 2, canvas_.rows - 12}, kLabelFont, kInk);
  // The y label reads bottom to top: draw it on a strip and rotate the strip.
  const auto yl = text_size(spec.y_label, kLabelFont);
  cv::Mat strip(yl.height + 8, yl.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
  put_text(strip, spec.y_label, {2, yl.height + 2}, kLabelFont, kInk);
  cv::rotate(strip, strip, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int y0 = std::max(0, area_.y + (area_.height - strip.rows) / 2);
  if (y0 + strip.rows <= canvas_.rows && strip.cols + 4 <= area_.x) strip.copyTo(canvas_(cv::Rect(4, y0, strip.cols, strip.rows)));
}

void Axes::draw_legend(const std::vector<std::string>& names, const std::vector<cv::Scalar>& colors) {
  const int x = area_.x + area_.width + 12;
  for (size_t i = 0; i < names.size(); ++i) {
    const int y = area_.y + 8 + static_cast<int>(i) * 20;
    if (y + 12 > canvas_.rows) break;
    cv::rectangle(canvas_, cv::Rect(x, y, 12, 12), colors[i], cv::FILLED);
    put_text(canvas_, names[i], {x + 18, y + 11}, kTickFont, kInk);
  }
}

}  // namespace vifi::viz

// The two chart kinds vifi draws: line charts (training curves) and class-coloured scatter
// plots (t-SNE of video embeddings). Built on viz/axes; return BGR images ready for imwrite.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <utility>
#include <vector>

namespace vifi::viz {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;  // a legend is drawn when there are two or more
  cv::Size size{640, 400};
};

// Throws std::invalid_argument when no series has a point.
cv::Mat draw_line_chart(const LineChart& chart);

// A 2-D embedding map: axes named "t-SNE 1/2" without ticks (the coordinates carry no meaning),
// one colour per class, a legend of the classes present.
struct ScatterPlot {
  std::string title;
  std::vector<cv::Point2f> points;
  std::vector<int64_t> labels;             // class of each point (indexes class_names)
  std::vector<std::string> class_names;    // legend entries; "class <i>" where missing
  cv::Size size{720, 560};
};

// Throws std::invalid_argument when points and labels differ in length or are empty.
cv::Mat draw_scatter_plot(const ScatterPlot& plot);

}  // namespace vifi::viz

// Line charts and scatter plots on viz::Axes.
#include "vifi/viz/charts.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <stdexcept>

#include "vifi/viz/axes.h"

namespace vifi::viz {
namespace {

int legend_width(const std::vector<std::string>& names) {
  int width = 0;
  for (const auto& n : names) width = std::max(width, text_size(n, 0.42).width);
  return names.empty() ? 0 : std::min(width + 36, 260);
}

std::string class_name(const ScatterPlot& plot, int64_t label) {
  if (label >= 0 && label < static_cast<int64_t>(plot.class_names.size())) return plot.class_names[static_cast<size_t>(label)];
  return "class " + std::to_string(label);
}

}  // namespace

cv::Mat draw_line_chart(const LineChart& chart) {
  std::vector<double> xs, ys;
  std::vector<std::string> names;
  std::vector<cv::Scalar> colors;
  for (size_t i = 0; i < chart.series.size(); ++i) {
    for (const auto& [x, y] : chart.series[i].points) xs.push_back(x), ys.push_back(y);
    names.push_back(chart.series[i].name);
    colors.push_back(palette_color(i));
  }
  if (xs.empty()) throw std::invalid_argument("line chart '" + chart.title + "': no points to draw");
  const bool legend = chart.series.size() > 1;
  Axes axes(chart.size, {chart.title, chart.x_label, chart.y_label, padded_range(xs), padded_range(ys)},
            legend ? legend_width(names) : 0);
  for (size_t i = 0; i < chart.series.size(); ++i) {
    std::vector<cv::Point> line;
    for (const auto& [x, y] : chart.series[i].points) line.push_back(axes.to_pixel(x, y));
    cv::polylines(axes.canvas(), line, false, colors[i], 2, cv::LINE_AA);
    if (line.size() < 30)  // few points (validation epochs): mark each one
      for (const auto& p : line) cv::circle(axes.canvas(), p, 3, colors[i], cv::FILLED, cv::LINE_AA);
  }
  if (legend) axes.draw_legend(names, colors);
  return axes.canvas();
}

cv::Mat draw_scatter_plot(const ScatterPlot& plot) {
  if (plot.points.empty() || plot.points.size() != plot.labels.size())
    throw std::invalid_argument("scatter plot '" + plot.title + "': " + std::to_string(plot.points.size()) +
                                " points and " + std::to_string(plot.labels.size()) + " labels (need equal, > 0)");
  std::vector<double> xs, ys;
  for (const auto& p : plot.points) xs.push_back(p.x), ys.push_back(p.y);
  std::vector<int64_t> classes(plot.labels);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  std::vector<std::string> names;
  std::vector<cv::Scalar> colors;
  for (const auto c : classes) names.push_back(class_name(plot, c)), colors.push_back(palette_color(static_cast<size_t>(c)));
  AxesSpec spec{plot.title, "t-SNE 1", "t-SNE 2", padded_range(xs), padded_range(ys), false};
  Axes axes(plot.size, spec, legend_width(names));
  for (size_t i = 0; i < plot.points.size(); ++i) {
    const auto p = axes.to_pixel(plot.points[i].x, plot.points[i].y);
    cv::circle(axes.canvas(), p, 4, palette_color(static_cast<size_t>(plot.labels[i])), cv::FILLED, cv::LINE_AA);
    cv::circle(axes.canvas(), p, 4, cv::Scalar(60, 60, 60), 1, cv::LINE_AA);
  }
  axes.draw_legend(names, colors);
  return axes.canvas();
}

}  // namespace vifi::viz

// viz/: charts and heatmaps come out as valid PNGs of the requested size; ticks are "nice".
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>

#include "support/test_paths.h"
#include "vifi/viz/axes.h"
#include "vifi/viz/charts.h"
#include "vifi/viz/heatmap.h"
#include "vifi/viz/image_io.h"

namespace vifi {
namespace {

// True if the file starts with the 8-byte PNG signature and decodes to `size`.
void expect_png(const std::string& path, cv::Size size) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  const auto image = cv::imread(path);
  ASSERT_FALSE(image.empty()) << path;
  EXPECT_EQ(image.size(), size) << path;
}

TEST(Axes, TicksAreOneTwoFiveStepsInsideTheRange) {
  EXPECT_EQ(viz::nice_ticks({0.0, 1.0}, 5), (std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(viz::nice_ticks({-3.0, 97.0}, 5), (std::vector<double>{0, 20, 40, 60, 80}));
  EXPECT_EQ(viz::format_tick(1e-5), "1e-05");
  EXPECT_EQ(viz::format_tick(0.5), "0.5");
}

TEST(Charts, LineChartIsAPngOfTheRequestedSize) {
  const auto dir = test::scratch_dir();
  viz::LineChart chart{"loss", "step", "loss", {{"train", {{0, 2.0}, {1, 1.5}, {2, 1.2}}}, {"val", {{0, 2.2}, {2, 1.4}}}},
                       {500, 300}};
  viz::write_png((dir / "line.png").string(), viz::draw_line_chart(chart));
  expect_png((dir / "line.png").string(), {500, 300});
  EXPECT_THROW(viz::draw_line_chart({"empty", "x", "y", {}, {500, 300}}), std::invalid_argument);
}

TEST(Charts, ScatterPlotColoursClassesAndHasALegend) {
  const auto dir = test::scratch_dir();
  viz::ScatterPlot plot;
  plot.title = "t-SNE";
  plot.points = {{0, 0}, {1, 1}, {5, 5}, {6, 5}};
  plot.labels = {0, 0, 1, 1};
  plot.class_names = {"red square", "blue circle"};
  const auto image = viz::draw_scatter_plot(plot);
  viz::write_png((dir / "scatter.png").string(), image);
  expect_png((dir / "scatter.png").string(), plot.size);
  // Both class colours appear somewhere in the image.
  for (const size_t c : {0U, 1U}) {
    cv::Mat mask;
    const auto color = viz::palette_color(c);
    cv::inRange(image, color, color, mask);
    EXPECT_GT(cv::countNonZero(mask), 20) << "class " << c;
  }
  plot.labels.pop_back();
  EXPECT_THROW(viz::draw_scatter_plot(plot), std::invalid_argument);
}

TEST(Heatmap, OverlayAndGridHaveTheExpectedSizes) {
  const cv::Mat frame(24, 24, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::Mat map = cv::Mat::zeros(2, 2, CV_32F);
  map.at<float>(0, 1) = 1.0F;
  const auto overlay = viz::overlay_heatmap(frame, map, 64);
  EXPECT_EQ(overlay.size(), cv::Size(64, 64));
  // The hot patch (top right) is redder than the cold one (bottom left) after the jet colormap.
  EXPECT_GT(overlay.at<cv::Vec3b>(8, 56)[2], overlay.at<cv::Vec3b>(56, 8)[2]);
  const auto captioned = viz::with_caption(overlay, "frame 1");
  EXPECT_EQ(captioned.cols, 64);
  const auto grid = viz::tile_grid({captioned, captioned, captioned}, 2);
  EXPECT_EQ(grid.size(), cv::Size(2 * 64 + 4, 2 * captioned.rows + 4));
}

TEST(ImageIo, Mp4IsWrittenAndOddSizesArePadded) {
  const auto dir = test::scratch_dir();
  const std::vector<cv::Mat> frames(4, cv::Mat(33, 47, CV_8UC3, cv::Scalar(0, 0, 255)));
  viz::write_mp4((dir / "a.mp4").string(), frames, 2.0);
  EXPECT_GT(std::filesystem::file_size(dir / "a.mp4"), 100U);
  EXPECT_THROW(viz::write_png((dir / "no" / "such" / "dir.png").string(), cv::Mat()), std::runtime_error);
}

}  // namespace
}  // namespace vifi

// `vifi plot` end to end on a metrics.jsonl: loss, lr and accuracy PNGs of the requested size.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>

#include "support/test_paths.h"

namespace vifi {
namespace {

TEST(PlotCommand, WritesOnePngPerCurveOfTheRequestedSize) {
  const auto dir = test::scratch_dir();
  {
    std::ofstream m(dir / "metrics.jsonl");
    for (int step = 1; step <= 20; ++step)
      m << "{\"type\":\"train\",\"epoch\":" << step / 10 << ",\"step\":" << step % 10 << ",\"optimizer_step\":" << step
        << ",\"lr\":" << 1e-4 * step / 20 << ",\"loss\":" << 2.0 / step << ",\"frames_per_s\":50}\n";
    m << "{\"type\":\"val\",\"epoch\":0,\"acc1\":40,\"acc5\":90,\"videos\":10,\"failed\":0}\n";
    m << "{\"type\":\"val\",\"epoch\":1,\"acc1\":70,\"acc5\":100,\"videos\":10,\"failed\":0}\n";
  }
  std::string out;
  ASSERT_EQ(test::run_vifi("plot " + dir.string() + " --width 480 --height 320", &out), 0) << out;
  for (const char* name : {"loss.png", "lr.png", "accuracy.png"}) {
    const auto image = cv::imread((dir / "plots" / name).string());
    ASSERT_FALSE(image.empty()) << name;
    EXPECT_EQ(image.size(), cv::Size(480, 320)) << name;
  }
  const auto curves = cv::imread((dir / "plots" / "curves.png").string());
  EXPECT_EQ(curves.size(), cv::Size(3 * 480 + 2 * 4, 320));
}

TEST(PlotCommand, MissingMetricsAreNamed) {
  std::string out;
  EXPECT_EQ(test::run_vifi("plot /nonexistent/run", &out), 1);
  EXPECT_NE(out.find("/nonexistent/run/metrics.jsonl: cannot open"), std::string::npos) << out;
}

}  // namespace
}  // namespace vifi

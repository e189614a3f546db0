// `vifi plot` end to end on a metrics.jsonl: loss, lr and accuracy PNGs of the requested size.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>

#include "support/test_paths.h"
#include "vifi/data/synthetic.h"

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

// On what a real training run writes (its run record, train and val lines): two epochs of
// vifi-tiny on a small synthetic set.
TEST(PlotCommand, PlotsARealRunsMetrics) {
  const auto dir = test::scratch_dir();
  data::SyntheticDatasetSpec spec;
  spec.num_classes = 3;
  spec.train_per_class = 4;
  spec.val_per_class = 2;
  spec.num_frames = 8;
  data::write_synthetic_dataset((dir / "data").string(), spec);
  const auto data = (dir / "data").string();
  std::ofstream(dir / "run.yaml") << "DATA:\n  ROOT: " << data << "\n  TRAIN_FILE: " << data << "/train.txt\n  VAL_FILE: " << data
                                  << "/val.txt\n  LABEL_LIST: " << data << "/labels.csv\n  NUM_CLASSES: 3\n"
                                  << "  NUM_FRAMES: 2\n  INPUT_SIZE: 32\n  NUM_WORKERS: 2\n"
                                  << "MODEL:\n  ARCH: vifi-tiny\nTRAIN:\n  EPOCHS: 2\n  WARMUP_EPOCHS: 0\n"
                                  << "  BATCH_SIZE: 4\n  LR: 1.0e-4\nSAVE_FREQ: 1\nPRINT_FREQ: 1\n";
  const auto run = (dir / "run").string();
  std::string out;
  ASSERT_EQ(test::run_vifi("train --config " + (dir / "run.yaml").string() + " --output " + run + " --threads 1", &out), 0) << out;
  ASSERT_EQ(test::run_vifi("plot " + run + " --width 320 --height 240", &out), 0) << out;
  for (const char* name : {"loss.png", "lr.png", "accuracy.png"})
    EXPECT_EQ(cv::imread(run + "/plots/" + name).size(), cv::Size(320, 240)) << name;
}

TEST(PlotCommand, MissingMetricsAreNamed) {
  std::string out;
  EXPECT_EQ(test::run_vifi("plot /nonexistent/run", &out), 1);
  EXPECT_NE(out.find("/nonexistent/run/metrics.jsonl: cannot open"), std::string::npos) << out;
}

}  // namespace
}  // namespace vifi

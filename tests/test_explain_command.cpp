// `vifi explain` end to end: with two weights files it writes per-frame PNGs, the grid, the MP4
// and rollout maps that are non-negative and sum to 1 per frame on the patch grid.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>

#include "support/test_paths.h"
#include "vifi/data/synthetic.h"
#include "vifi/util/npy.h"

namespace vifi {
namespace {

using test::fixture;

TEST(ExplainCommand, WritesHeatmapsGridVideoAndMaps) {
  const auto dir = test::scratch_dir();
  data::SyntheticVideoSpec spec;
  spec.num_frames = 12;
  const auto video = (dir / "clip.avi").string();
  data::write_synthetic_video(video, spec);
  const auto weights = fixture("clip_tiny/clip_tiny.pt");
  std::string out;
  ASSERT_EQ(test::run_vifi("explain " + video + " --weights " + weights + " --weights " + weights +
                               " --label \"red square\" --frames 4 --size 64 --out " + (dir / "x").string(),
                           &out),
            0)
      << out;
  for (const char* name : {"frame_00.png", "frame_03.png", "grid.png", "explain.mp4", "attention_1.npy", "attention_2.npy"})
    EXPECT_TRUE(std::filesystem::exists(dir / "x" / name)) << name << "\n" << out;
  const auto frame = cv::imread((dir / "x" / "frame_00.png").string());
  EXPECT_EQ(frame.cols, 3 * 64 + 2 * 4);  // frame | model 1 | model 2
  const auto grid = cv::imread((dir / "x" / "grid.png").string());
  EXPECT_EQ(grid.cols, 4 * 64 + 3 * 4);   // one column per frame
  const auto maps = util::load_npy((dir / "x" / "attention_1.npy").string());
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{4, 2, 2}));  // 32 px, 16 px patches
  EXPECT_GE(maps.min().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(maps.sum({1, 2}), torch::ones({4}), 1e-5, 1e-5));
}

TEST(ExplainCommand, EmptyLabelIsRefused) {
  std::string out;
  EXPECT_EQ(test::run_vifi("explain x.avi --weights " + fixture("clip_tiny/clip_tiny.pt") + " --label \" \" --out /tmp/x",
                           &out),
            1);
  EXPECT_NE(out.find("--label is empty"), std::string::npos) << out;
}

}  // namespace
}  // namespace vifi

// data/clip_frames, viz/contact_sheet and `vifi data frames`: the PNGs hold exactly the frames a
// full decode yields, train sampling follows the seed as the loader's does, transformed frames
// are the loader's clip tensors de-normalised, and wrong requests fail naming what is wrong.
#include "vifi/data/clip_frames.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/test_paths.h"
#include "vifi/data/sampling.h"
#include "vifi/data/synthetic.h"
#include "vifi/data/transforms.h"
#include "vifi/viz/contact_sheet.h"

namespace fs = std::filesystem;

namespace vifi::data {
namespace {

// H.264 with B-frames where this FFmpeg has libx264 (decode order differs from display order).
fs::path make_video(const fs::path& dir, int64_t frames) {
  SyntheticVideoSpec spec;
  spec.num_frames = frames;
  spec.codec = synthetic_codec_available("h264") ? "h264" : "mpeg4";
  spec.gop_size = 8;
  const fs::path path = dir / ("clip" + synthetic_extension(spec.codec));
  write_synthetic_video(path.string(), spec);
  return path;
}

cv::Mat read_png_rgb(const fs::path& path) {
  const cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) return bgr;
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

ClipFrame slot(int64_t k, int64_t index, int64_t crop = -1) { return {cv::Mat(), k, index, crop}; }

// The PNG of slot k showing frame `index`.
fs::path png(const fs::path& dir, int64_t k, int64_t index, int64_t crop = -1) {
  return dir / viz::clip_frame_filename(slot(k, index, crop));
}

TEST(ClipFrames, NamesAndCaptions) {
  EXPECT_EQ(viz::clip_frame_filename(slot(3, 17)), "frame_03_00017.png");
  EXPECT_EQ(viz::clip_frame_filename(slot(12, 123456, 2)), "frame_12_123456_crop2.png");
  EXPECT_EQ(viz::clip_frame_caption(slot(3, 17)), "#3 frame 17");
  EXPECT_EQ(viz::clip_frame_caption(slot(3, 17, 1)), "#3 frame 17 crop 1");
}

TEST(ClipFrames, DenormalizeInvertsFramesToTensor) {
  std::vector<cv::Mat> frames(2, cv::Mat(5, 7, CV_8UC3));
  for (auto& f : frames) {
    f = f.clone();
    cv::randu(f, 0, 256);
  }
  const auto back = denormalize_frames(frames_to_tensor(frames));
  ASSERT_EQ(back.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(same_pixels(back[i], frames[i]));
}

TEST(ClipFrames, PickedIndicesAreTheSamplersAndGivenOnesAreChecked) {
  ClipFramesRequest request;
  request.clip.num_frames = 8;
  request.pick = FramePick::train;
  request.seed = 42;
  Rng rng = Rng::keyed(42, 0, 0, RngStream::sampling);
  EXPECT_EQ(pick_frame_indices(100, request), sample_train_indices(100, 8, rng));
  request.pick = FramePick::test;
  request.clip.num_clips = 2;
  EXPECT_EQ(pick_frame_indices(100, request), sample_multiview_indices(100, 8, 2));
  request.pick = FramePick::indices;
  request.indices = {0, 99, 5};
  EXPECT_EQ(pick_frame_indices(100, request), (std::vector<int64_t>{0, 99, 5}));
  request.indices = {0, 100};
  try {
    pick_frame_indices(100, request);
    ADD_FAILURE() << "index 100 of 100 frames accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("frame index 100 is outside the video's 100 frames (0..99)"),
              std::string::npos)
        << e.what();
  }
}

// The pixel-exact check: `vifi data frames --indices` writes the very frames a full decode yields.
TEST(DataFramesCommand, PngsEqualTheFullDecode) {
  const auto dir = test::scratch_dir();
  const auto video = make_video(dir, 30);
  const std::vector<int64_t> indices{0, 5, 9, 17, 29};
  std::string log;
  ASSERT_EQ(test::run_vifi("data frames " + video.string() + " --indices 0,5,9,17,29 --out " + (dir / "out").string(),
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("indices: 0 5 9 17 29"), std::string::npos) << log;
  VideoReader reader(video.string());
  const auto truth = reader.read_frames_full_decode(indices);
  for (size_t k = 0; k < indices.size(); ++k) {
    const cv::Mat image = read_png_rgb(png(dir / "out", static_cast<int64_t>(k), indices[k]));
    ASSERT_FALSE(image.empty()) << png(dir / "out", static_cast<int64_t>(k), indices[k]);
    EXPECT_TRUE(same_pixels(image, truth[k])) << "frame " << indices[k];
    EXPECT_EQ(read_frame_stamp(image), indices[k]);
  }
  const cv::Mat sheet = cv::imread((dir / "out/contact_sheet.png").string());
  ASSERT_FALSE(sheet.empty());
  EXPECT_EQ(sheet.cols, 5 * 160 + 4 * 4);  // one row of five 160-px thumbnails, 4 px gaps
}

// --sample train --seed S takes the indices sample_train_indices draws from the loader's Rng for
// seed S; the same seed gives the same frames, another seed other frames.
TEST(DataFramesCommand, TrainSamplingFollowsTheSeed) {
  const auto dir = test::scratch_dir();
  const auto video = make_video(dir, 40);
  for (const uint64_t seed : {uint64_t{5}, uint64_t{6}}) {
    const auto out = dir / ("seed" + std::to_string(seed));
    std::string log;
    ASSERT_EQ(test::run_vifi("data frames " + video.string() + " --sample train --frames 4 --seed " +
                                 std::to_string(seed) + " --out " + out.string(),
                             &log),
              0)
        << log;
    Rng rng = Rng::keyed(seed, 0, 0, RngStream::sampling);
    const auto expected = sample_train_indices(40, 4, rng);
    for (size_t k = 0; k < expected.size(); ++k) {
      const cv::Mat image = read_png_rgb(png(out, static_cast<int64_t>(k), expected[k]));
      ASSERT_FALSE(image.empty()) << "seed " << seed << " slot " << k << "\n" << log;
      EXPECT_EQ(read_frame_stamp(image), expected[k]);
    }
  }
  Rng five = Rng::keyed(5, 0, 0, RngStream::sampling), six = Rng::keyed(6, 0, 0, RngStream::sampling);
  EXPECT_NE(sample_train_indices(40, 4, five), sample_train_indices(40, 4, six));  // the seeds do differ
}

// --transformed: test sampling with three crops writes every crop of every view, each the
// loader's evaluation clip de-normalised; train sampling writes the loader's training clip.
TEST(DataFramesCommand, TransformedFramesAreWhatTheLoaderYields) {
  const auto dir = test::scratch_dir();
  const auto video = make_video(dir, 24);
  std::ofstream(dir / "run.yaml") << "DATA:\n  NUM_FRAMES: 3\n  INPUT_SIZE: 32\nTEST:\n  NUM_CLIP: 2\n  NUM_CROP: 3\n"
                                  << "SEED: 77\n";
  std::string log;
  ASSERT_EQ(test::run_vifi("data frames " + video.string() + " --sample test --transformed --config " +
                               (dir / "run.yaml").string() + " --out " + (dir / "test").string(),
                           &log),
            0)
      << log;
  ClipConfig clip;
  clip.num_frames = 3;
  clip.num_clips = 2;
  clip.augment.input_size = clip.eval.input_size = 32;
  clip.eval.num_crops = 3;
  const VideoRecord record{video.string(), video.string(), 0, 0};
  const torch::Tensor eval = load_eval_clip(record, clip);  // [C*V, T, 3, 32, 32], crop-major
  const auto indices = sample_multiview_indices(24, 3, 2);  // V*T, view-major
  int pngs = 0;
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t k = 0; k < 6; ++k) {
      const auto expected = denormalize_frames(eval[c * 2 + k / 3])[static_cast<size_t>(k % 3)];
      const cv::Mat image = read_png_rgb(png(dir / "test", k, indices[static_cast<size_t>(k)], c));
      ASSERT_FALSE(image.empty()) << "crop " << c << " slot " << k << "\n" << log;
      EXPECT_TRUE(same_pixels(image, expected)) << "crop " << c << " slot " << k;
      ++pngs;
    }
  }
  EXPECT_EQ(pngs, 18);
  EXPECT_TRUE(fs::exists(dir / "test/contact_sheet.png"));

  // Train: SEED 77 from the config, the loader's draws for its first sample.
  ASSERT_EQ(test::run_vifi("data frames " + video.string() + " --sample train --transformed --config " +
                               (dir / "run.yaml").string() + " --out " + (dir / "train").string(),
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("seed 77"), std::string::npos) << log;
  Rng sampling = Rng::keyed(77, 0, 0, RngStream::sampling), augment = Rng::keyed(77, 0, 0, RngStream::augment);
  const auto train = denormalize_frames(load_train_clip(record, clip, sampling, augment));
  Rng again = Rng::keyed(77, 0, 0, RngStream::sampling);
  const auto train_indices = sample_train_indices(24, 3, again);
  for (size_t k = 0; k < 3; ++k) {
    const cv::Mat image = read_png_rgb(png(dir / "train", static_cast<int64_t>(k), train_indices[k]));
    ASSERT_FALSE(image.empty()) << "slot " << k << "\n" << log;
    EXPECT_TRUE(same_pixels(image, train[k])) << "slot " << k;
  }
}

TEST(DataFramesCommand, WrongRequestsFailNamingTheProblem) {
  const auto dir = test::scratch_dir();
  const auto video = make_video(dir, 10);
  std::string log;
  EXPECT_NE(test::run_vifi("data frames " + video.string() + " --indices 3,10 --out " + (dir / "a").string(), &log), 0);
  EXPECT_NE(log.find("frame index 10 is outside the video's 10 frames"), std::string::npos) << log;
  EXPECT_NE(log.find(video.string()), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(dir / "a"));
  EXPECT_NE(test::run_vifi("data frames " + video.string() + " --out " + (dir / "b").string(), &log), 0);
  EXPECT_NE(log.find("--indices"), std::string::npos) << log;
  EXPECT_NE(test::run_vifi("data frames " + video.string() + " --indices 1 --sample test --out " + (dir / "c").string(),
                           &log),
            0);
  EXPECT_NE(log.find("excludes"), std::string::npos) << log;
}

}  // namespace
}  // namespace vifi::data

// data/synthetic: the frame-index stamp survives resizing, classes differ in appearance and
// motion, datasets are laid out like the real ones, and `vifi data synth` writes one.
#include "vifi/data/synthetic.h"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "../src/cli/commands.h"
#include "support/packed_avi.h"
#include "support/test_paths.h"
#include "vifi/data/video_reader.h"

namespace vifi::data {
namespace {

namespace fs = std::filesystem;

using vifi::test::read_text;

TEST(SyntheticClasses, NamesAreReadableAndUnique) {
  EXPECT_EQ(synthetic_class_name(0), "moving up red square");
  EXPECT_EQ(synthetic_class_name(1), "moving down green circle");
  EXPECT_EQ(synthetic_class_name(168), "moving up small red square");
  std::set<std::string> names;
  for (int c = 0; c < kMaxSyntheticClasses; ++c) names.insert(synthetic_class_name(c));
  EXPECT_EQ(names.size(), static_cast<size_t>(kMaxSyntheticClasses));
  EXPECT_THROW(synthetic_class_name(kMaxSyntheticClasses), std::invalid_argument);
}

TEST(SyntheticStamp, RoundTripsThroughResizing) {
  SyntheticVideoSpec spec;
  for (int64_t index : {int64_t{0}, int64_t{1}, int64_t{299}, int64_t{1023}, (int64_t{1} << 19) - 1}) {
    cv::Mat frame = render_synthetic_frame(spec, index, 0.0);
    EXPECT_EQ(read_frame_stamp(frame), index);
    cv::Mat up, down, stretched;
    cv::resize(frame, up, {224, 150}, 0, 0, cv::INTER_LINEAR);
    cv::resize(frame, down, {48, 32}, 0, 0, cv::INTER_AREA);
    cv::resize(frame, stretched, {300, 100}, 0, 0, cv::INTER_CUBIC);
    EXPECT_EQ(read_frame_stamp(up), index);
    EXPECT_EQ(read_frame_stamp(down), index);
    EXPECT_EQ(read_frame_stamp(stretched), index);
  }
}

TEST(SyntheticStamp, AbsentStampReadsAsMinusOne) {
  cv::Mat grey(64, 96, CV_8UC3, cv::Scalar::all(128));
  EXPECT_EQ(read_frame_stamp(grey), -1);
  cv::Mat noise(64, 96, CV_8UC3);
  cv::randu(noise, 0, 256);
  EXPECT_EQ(read_frame_stamp(noise), -1);
  EXPECT_EQ(read_frame_stamp(cv::Mat()), -1);
  // A flipped bit breaks the parity.
  cv::Mat frame = render_synthetic_frame(SyntheticVideoSpec{}, 5, 0.0);
  frame(cv::Rect(16, 48, 8, 8)).setTo(cv::Scalar::all(255 - frame.at<cv::Vec3b>(52, 20)[0]));
  EXPECT_EQ(read_frame_stamp(frame), -1);
}

TEST(SyntheticRendering, DeterministicPerSeedAndDifferentAcrossSeeds) {
  SyntheticVideoSpec a, b;
  b.seed = 1;
  EXPECT_EQ(cv::norm(render_synthetic_frame(a, 3, 0.12), render_synthetic_frame(a, 3, 0.12), cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(render_synthetic_frame(a, 3, 0.12), render_synthetic_frame(b, 3, 0.12), cv::NORM_L1), 0.0);
}

// Pixels close to the class's shape colour, within the content area above the stamp.
cv::Mat shape_mask(const cv::Mat& rgb, const cv::Vec3b& colour) {
  cv::Mat content = rgb.rowRange(0, rgb.rows * 6 / 8), mask(content.size(), CV_32F);
  for (int y = 0; y < content.rows; ++y) {
    for (int x = 0; x < content.cols; ++x) {
      cv::Vec3b p = content.at<cv::Vec3b>(y, x);
      double d = std::abs(p[0] - colour[0]) + std::abs(p[1] - colour[1]) + std::abs(p[2] - colour[2]);
      mask.at<float>(y, x) = d < 90 ? 1.0f : 0.0f;
    }
  }
  return mask;
}

// The shape of label L moves in the direction its name says. The content area is a torus, so
// phase correlation (a circular shift estimate) measures the motion even across the edges.
TEST(SyntheticRendering, ShapeMovesInTheNamedDirection) {
  const std::vector<std::pair<std::string, cv::Point2d>> directions = {
      {"up ", {0, -1}},       {"down ", {0, 1}},       {"left ", {-1, 0}},     {"right ", {1, 0}},
      {"up-left ", {-1, -1}}, {"down-right ", {1, 1}}, {"up-right ", {1, -1}}, {"down-left ", {-1, 1}}};
  for (int label = 0; label < 8; ++label) {
    SyntheticVideoSpec spec;
    spec.label = label;
    spec.num_classes = 8;
    spec.width = 192;
    spec.height = 128;
    const std::string name = synthetic_class_name(label);
    const auto& [word, expected] = directions[static_cast<size_t>(label)];
    ASSERT_EQ(name.rfind("moving " + word, 0), 0u) << name;
    cv::Mat first = render_synthetic_frame(spec, 0, 0.0), later = render_synthetic_frame(spec, 8, 8 / spec.fps);
    // The shape's colour: the most saturated pixel of the first frame's content.
    cv::Vec3b colour;
    int best = -1;
    for (int y = 0; y < first.rows * 6 / 8; ++y) {
      for (int x = 0; x < first.cols; ++x) {
        cv::Vec3b p = first.at<cv::Vec3b>(y, x);
        int saturation = std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]});
        if (saturation > best) best = saturation, colour = p;
      }
    }
    cv::Point2d shift = cv::phaseCorrelate(shape_mask(first, colour), shape_mask(later, colour));
    SCOPED_TRACE(name + ": shift " + std::to_string(shift.x) + "," + std::to_string(shift.y));
    EXPECT_GT(std::hypot(shift.x, shift.y), 3.0);
    // Along each axis: moved the named way, or stayed put when the name has no such part.
    EXPECT_GT(expected.x != 0 ? shift.x * expected.x : 1.0 - std::abs(shift.x), 0.5);
    EXPECT_GT(expected.y != 0 ? shift.y * expected.y : 1.0 - std::abs(shift.y), 0.5);
  }
}

TEST(SyntheticVideo, RejectsBadSpecsByName) {
  const std::string path = (vifi::test::scratch_dir() / "v.avi").string();
  SyntheticVideoSpec spec;
  spec.width = 95;
  EXPECT_THROW(write_synthetic_video(path, spec), std::invalid_argument);
  spec = {};
  spec.variable_frame_rate = true;
  try {
    write_synthetic_video(path, spec);
    ADD_FAILURE() << "VFR in AVI accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("variable frame rate"), std::string::npos);
  }
  spec = {};
  spec.codec = "theora";
  try {
    write_synthetic_video(path, spec);
    ADD_FAILURE() << "unknown codec accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mpeg4, h264, vp9"), std::string::npos);
  }
  spec = {};
  spec.codec = "h264";
  spec.x264_preset = "quick";
  try {
    write_synthetic_video(path, spec);
    ADD_FAILURE() << "unknown x264 preset accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'quick'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("veryfast, faster, fast, medium"), std::string::npos) << e.what();
  }
  spec.x264_preset = "medium";
  spec.x264_crf = 52;
  EXPECT_THROW(write_synthetic_video(path, spec), std::invalid_argument);
  spec = {};
  spec.label = 4;
  EXPECT_THROW(write_synthetic_video(path, spec), std::invalid_argument);
  EXPECT_FALSE(synthetic_codec_available("theora"));
  EXPECT_TRUE(synthetic_codec_available("mpeg4"));
}

// A small set: `classes` classes of `train` + `val` videos of `frames` frames.
SyntheticDatasetSpec small_set(int classes, int train, int val, int64_t frames) {
  SyntheticDatasetSpec spec;
  spec.num_classes = classes;
  spec.train_per_class = train;
  spec.val_per_class = val;
  spec.num_frames = frames;
  return spec;
}

TEST(SyntheticDataset, LaidOutLikeTheRealDatasets) {
  const auto dir = vifi::test::scratch_dir();
  const SyntheticDatasetSpec spec = small_set(3, 2, 1, 8);
  const auto names = write_synthetic_dataset(dir.string(), spec);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(read_text(dir / "labels.csv"),
            "id,name\n0,moving up red square\n1,moving down green circle\n2,moving left blue triangle\n");
  std::istringstream train(read_text(dir / "train.txt")), val(read_text(dir / "val.txt"));
  int count = 0;
  for (auto* list : {&train, &val}) {
    std::string path;
    int label = -1;
    while (*list >> path >> label) {
      ++count;
      EXPECT_EQ(path.rfind("videos/" + std::string(label == 0 ? "moving_up_red_square" : label == 1 ? "moving_down_green_circle" : "moving_left_blue_triangle") + "/", 0), 0u) << path;
      VideoReader reader((dir / path).string());
      EXPECT_EQ(reader.info().num_frames, 8);
      EXPECT_EQ(read_frame_stamp(reader.read_frames({6})[0]), 6);
    }
  }
  EXPECT_EQ(count, 9);
  EXPECT_EQ(read_text(dir / "train.txt").substr(0, 37), "videos/moving_up_red_square/0000.avi ");
  EXPECT_NE(read_text(dir / "val.txt").find("videos/moving_up_red_square/0002.avi 0\n"), std::string::npos);
}

// The x264 options string x264 stores in its first SEI ("... options: cabac=1 ref=3 ..."):
// what the encoder was really given.
std::string x264_option(const fs::path& video, const std::string& key) {
  const std::string bytes = read_text(video);
  const size_t options = bytes.find("options: ");
  if (options == std::string::npos) return "";
  const size_t at = bytes.find(" " + key + "=", options);
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() + 2;
  return bytes.substr(start, bytes.find(' ', start) - start);
}

// The preset and CRF reach x264 (the preset sets the reference frames P-frames may use, which
// decides what a decoder may skip), and the set says what it was written from, so a kept set
// from other settings is not reused as this one.
TEST(SyntheticDataset, H264SettingsReachTheEncoderAndAreRecorded) {
  const auto dir = vifi::test::scratch_dir();
  SyntheticDatasetSpec spec = small_set(1, 1, 0, 12);
  spec.codec = "h264";
  EXPECT_FALSE(synthetic_dataset_matches((dir / "fast").string(), spec));
  write_synthetic_dataset((dir / "fast").string(), spec);
  spec.x264_preset = "medium";
  spec.x264_crf = 23;
  write_synthetic_dataset((dir / "medium").string(), spec);
  const std::string video = "videos/moving_up_red_square/0000.mp4";
  EXPECT_EQ(x264_option(dir / "fast" / video, "ref"), "1");
  EXPECT_EQ(x264_option(dir / "fast" / video, "crf"), "18.0");
  EXPECT_EQ(x264_option(dir / "medium" / video, "ref"), "3");
  EXPECT_EQ(x264_option(dir / "medium" / video, "crf"), "23.0");
  EXPECT_TRUE(synthetic_dataset_matches((dir / "medium").string(), spec));
  EXPECT_FALSE(synthetic_dataset_matches((dir / "fast").string(), spec));
  spec.noise += 1;
  EXPECT_FALSE(synthetic_dataset_matches((dir / "medium").string(), spec));

  // What `vifi bench loader --synthetic kinetics` writes: x264's defaults, as mmaction2's
  // resize_videos.py leaves the 454x340 Kinetics copies.
  const SyntheticDatasetSpec kinetics = kinetics_like_spec(8);
  EXPECT_EQ(kinetics.x264_preset, "medium");
  EXPECT_EQ(kinetics.x264_crf, 23);
  EXPECT_EQ(kinetics.gop_size, 250);
}

// `vifi data synth ARGS`, parsed in-process under a `data` group as data_command.cpp attaches it.
void run_data_synth(const std::vector<std::string>& synth_args) {
  CLI::App app;
  auto* data_app = app.add_subcommand("data");
  vifi::cli::add_data_synth_command(*data_app);
  std::vector<std::string> args = {"vifi", "data", "synth"};
  args.insert(args.end(), synth_args.begin(), synth_args.end());
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

TEST(DataSynthCommand, WritesADataset) {
  const auto dir = vifi::test::scratch_dir() / "set";
  run_data_synth({"--out", dir.string(), "--classes", "2", "--train-per-class", "1", "--val-per-class", "1", "--frames",
                  "6", "--codec", "mpeg4", "--seed", "3"});
  EXPECT_TRUE(fs::exists(dir / "videos/moving_down_green_circle/0001.avi"));
  EXPECT_EQ(read_text(dir / "labels.csv"), "id,name\n0,moving up red square\n1,moving down green circle\n");
  EXPECT_EQ(read_text(dir / "val.txt"), "videos/moving_up_red_square/0001.avi 0\nvideos/moving_down_green_circle/0001.avi 1\n");

  const auto h264 = vifi::test::scratch_dir() / "h264";
  run_data_synth({"--out", h264.string(), "--classes", "1", "--train-per-class", "1", "--val-per-class", "0",
                  "--frames", "6", "--codec", "h264", "--x264-preset", "medium", "--crf", "30"});
  EXPECT_EQ(x264_option(h264 / "videos/moving_up_red_square/0000.mp4", "ref"), "3");
  EXPECT_EQ(x264_option(h264 / "videos/moving_up_red_square/0000.mp4", "crf"), "30.0");
  EXPECT_THROW(run_data_synth({"--out", h264.string(), "--codec", "h264", "--x264-preset", "quick"}), CLI::ValidationError);
}

// `--codec xvid`: AVIs with packed B-frames, whose frames only a full decode can number.
TEST(DataSynthCommand, WritesPackedBFrameAvisWithXvid) {
  if (!synthetic_codec_available("xvid")) GTEST_SKIP() << "no libxvid";
  const auto dir = vifi::test::scratch_dir() / "set";
  run_data_synth({"--out", dir.string(), "--classes", "1", "--train-per-class", "1", "--val-per-class", "0", "--frames",
                  "24", "--codec", "xvid"});
  const fs::path video = dir / "videos/moving_up_red_square/0000.avi";
  ASSERT_TRUE(fs::exists(video));
  VideoReader reader(video.string());
  EXPECT_EQ(read_frame_stamp(reader.read_frames({10})[0]), 10);
  EXPECT_GE(vifi::test::placeholder_packets(video), 4) << "libxvid is meant to pack its B-frames here";
}

}  // namespace
}  // namespace vifi::data

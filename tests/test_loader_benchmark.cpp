// data/loader_benchmark: which files a benchmark measures (directory trees, annotation lists), the
// decode counts it reports, and `vifi bench loader` on bad files. Timings are never asserted.
#include "vifi/data/loader_benchmark.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_paths.h"
#include "vifi/data/synthetic.h"
#include "vifi/data/video_reader.h"

namespace vifi::data {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& path, const std::string& text = "") {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Videos a/Clip.MP4, a/b/deep.WebM and z.avi among other files and a directory named like a video.
fs::path write_mixed_tree() {
  const auto dir = test::scratch_dir();
  for (const char* video : {"z.avi", "a/Clip.MP4", "a/b/deep.WebM"}) touch(dir / video);
  for (const char* other : {"a/readme.txt", "a/b/deep.WebM.part", "a/b/noext", "train.txt"}) touch(dir / other);
  fs::create_directories(dir / "folder.mp4");
  return dir;
}

TEST(LoaderBenchmark, FindsVideosInDirectoryTreeSorted) {
  const auto dir = write_mixed_tree();
  VideoSearch search;
  search.videos = dir.string();
  const std::vector<std::string> expected = {(dir / "a/Clip.MP4").string(), (dir / "a/b/deep.WebM").string(),
                                             (dir / "z.avi").string()};
  EXPECT_EQ(find_videos(search), expected);
}

TEST(LoaderBenchmark, FindsVideosOfAnnotationList) {
  const auto dir = test::scratch_dir();
  touch(dir / "lists/train.txt", "x/one.avi 0\n\"y/two words.mp4\" 3\n/abs/three.mkv 1\n");
  VideoSearch search;
  search.videos = (dir / "lists/train.txt").string();
  EXPECT_EQ(find_videos(search), (std::vector<std::string>{(dir / "lists/x/one.avi").string(),
                                                          (dir / "lists/y/two words.mp4").string(), "/abs/three.mkv"}));
  search.root = "/data/hmdb";
  EXPECT_EQ(find_videos(search).front(), "/data/hmdb/x/one.avi");
}

TEST(LoaderBenchmark, NoVideosIsAnError) {
  const auto dir = test::scratch_dir();
  touch(dir / "notes.txt", "not a video");
  VideoSearch search;
  search.videos = dir.string();
  EXPECT_THROW(find_videos(search), std::runtime_error);  // "<dir>: no videos found"
}

TEST(LoaderBenchmark, CountsClipsFramesAndFailures) {
  const auto dir = test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.num_frames = 32;
  const std::string video = (dir / "v.avi").string();
  write_synthetic_video(video, spec);
  const std::vector<std::string> videos = {video, (dir / "missing.avi").string()};
  DecodeBenchOptions options;
  options.num_segments = 4;
  options.threads = 2;
  options.repeat = 3;
  options.mode = DecodeMode::sparse;
  const auto sparse = measure_decoding(videos, options);
  options.mode = DecodeMode::full;
  const auto full = measure_decoding(videos, options);
  options.mode = DecodeMode::open;
  const auto open = measure_decoding(videos, options);
  for (const auto& m : {sparse, full, open}) {
    EXPECT_EQ(m.clips, 3);
    EXPECT_EQ(m.failures, 3);  // the missing file, once per pass
    ASSERT_EQ(m.bad_videos.size(), 1u);  // ... listed once
    EXPECT_EQ(m.bad_videos[0].index, 1);
    EXPECT_EQ(m.bad_videos[0].path, videos[1]);
    EXPECT_EQ(m.bad_videos[0].reason.rfind(videos[1] + ": ", 0), 0u) << m.bad_videos[0].reason;
  }
  EXPECT_GE(sparse.frames_decoded_per_clip(), 4.0);
  EXPECT_LT(sparse.frames_decoded_per_clip(), full.frames_decoded_per_clip());
  EXPECT_EQ(open.frames_decoded, 0);
}

// `vifi bench loader` on a folder where bad files sort first (so the header line meets one too):
// the table is printed in full, the command succeeds, and each bad file is named with its reason.
TEST(LoaderBenchmark, CommandFinishesTheTableAndNamesBadFiles) {
  const auto dir = test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.num_frames = 16;
  write_synthetic_video((dir / "c_good.avi").string(), spec);
  spec.seed = 1;
  write_synthetic_video((dir / "d_good.avi").string(), spec);
  touch(dir / "a_empty.mp4");
  touch(dir / "b_text.avi", "this is not a video\n");
  std::string log;
  ASSERT_EQ(test::run_vifi("bench loader --videos " + dir.string() + " --frames 4 --repeat 1 --threads 2", &log), 0)
      << log;
  for (const char* row : {"4       sparse", "4       full", "opening and indexing alone"})
    EXPECT_NE(log.find(row), std::string::npos) << row << "\n" << log;
  EXPECT_NE(log.find("first readable: 16 frames"), std::string::npos) << log;
  EXPECT_NE(log.find("sparse as training reads do, DATA.PASSED_FRAMES skip_deblocking"), std::string::npos) << log;
  EXPECT_NE(log.find("2 of 4 videos could not be decoded"), std::string::npos) << log;
  for (const char* bad : {"a_empty.mp4", "b_text.avi"})
    EXPECT_NE(log.find("BAD " + (dir / bad).string() + ": "), std::string::npos) << bad << "\n" << log;
  for (const char* good : {"c_good.avi", "d_good.avi"})
    EXPECT_EQ(log.find("BAD " + (dir / good).string()), std::string::npos) << good << "\n" << log;
  // The loader row: an epoch of the threaded loader over the folder with the reference's default
  // transforms, the bad files' samples replaced.
  const size_t row = log.find("4       loader");
  ASSERT_NE(row, std::string::npos) << log;
  const std::string line = log.substr(row, log.find('\n', row) - row);
  EXPECT_GT(std::stod(line.substr(16, 10)), 0.0) << line;
  EXPECT_NE(line.find("transforms to 224x224, batch 8"), std::string::npos) << line;
  EXPECT_NE(line.find("2 bad videos"), std::string::npos) << line;
}

// The sizing benchmark end to end on a small Kinetics-like set: both sets made (the prepared one
// at short side 320 with its list), every table and row printed with positive rates (the
// decoding-alone ceilings too), a second run reusing the sets instead of writing them again, and
// a set from other encoder settings written anew.
TEST(LoaderBenchmark, SyntheticKineticsSizesANode) {
  if (!synthetic_codec_available("h264")) GTEST_SKIP() << "this FFmpeg build lacks libx264";
  const auto dir = test::scratch_dir();
  const std::string args = "bench loader --synthetic kinetics --work " + dir.string() +
                           " --synthetic-videos 2 --synthetic-frames 40 --clips 2 --threads 2 --frames 4 "
                           "--gpu-clips-per-s 60 --gpu-clip-frames 2";
  std::string log;
  ASSERT_EQ(test::run_vifi(args, &log), 0) << log;
  for (const char* line : {"every passed frame decoded, resized after (before)", "+ unreferenced passed frames skipped (exact)",
                           "+ no deblocking of passed frames (the default)", "prepared  default",
                           "exact decoding alone, no transforms", "default decoding alone, no transforms",
                           "(best of 3 rounds over the thread counts)", "source    2", "prepared  2",
                           "to feed one GPU at 60 clips/s of 2 frames"}) {
    EXPECT_NE(log.find(line), std::string::npos) << line << "\n" << log;
  }
  // The GPU's rate at 4 frames is 60 clips of 2 frames = 30 clips/s, and the cores needed are it
  // over the per-core rate at the most threads (the line "source    2 ... R  P/core").
  for (const char* set : {"source", "prepared"}) {
    std::smatch per_core, sizing;
    ASSERT_TRUE(std::regex_search(log, per_core, std::regex(std::string("\\n") + set + " +2 +[0-9.]+ +([0-9.]+)/core")))
        << set << "\n" << log;
    ASSERT_TRUE(std::regex_search(log, sizing,
                                  std::regex(std::string("\\n  ") + set + " +4 frames: +([0-9.]+) cores \\(GPU at ([0-9.]+) clips/s\\)")))
        << set << "\n" << log;
    const double per = std::stod(per_core[1]);
    EXPECT_DOUBLE_EQ(std::stod(sizing[2]), 30.0) << log;
    ASSERT_GT(per, 0.0);
    // Both printed to 0.1: the per-core rounding moves 30/per by up to 30 * 0.05 / per^2.
    EXPECT_NEAR(std::stod(sizing[1]), 30.0 / per, 0.051 + 30.0 * 0.05 / (per * (per - 0.05))) << set << "\n" << log;
  }
  EXPECT_EQ(log.find(" 0.0 "), std::string::npos) << "a measurement found no clips\n" << log;
  const fs::path prepared = dir / "source-2x40-prepared";
  const auto records = load_annotation_list((prepared / "train.txt").string(), prepared.string());
  ASSERT_EQ(records.size(), 2U);
  VideoReader reader(records[0].path);
  EXPECT_EQ(reader.info().height, 320);
  EXPECT_EQ(reader.info().width, 428);  // 454x340 at short side 320, even
  EXPECT_EQ(reader.info().num_frames, 40);
  ASSERT_EQ(test::run_vifi(args, &log), 0) << log;
  EXPECT_EQ(log.find("writing 2 Kinetics-like videos"), std::string::npos) << log;

  // A set kept from other encoder settings (an older vifi wrote veryfast files) is written anew,
  // and its prepared copy too, rather than measured as if it were today's set.
  const fs::path source = dir / "source-2x40";
  std::string stamp = test::read_text(source / "synthetic.txt");
  ASSERT_NE(stamp.find("x264_preset=medium\n"), std::string::npos) << stamp;
  stamp.replace(stamp.find("medium"), 6, "veryfast");
  test::write_text(source / "synthetic.txt", stamp);
  test::write_text(prepared / "stale.txt", "from the old set\n");
  ASSERT_EQ(test::run_vifi(args, &log), 0) << log;
  EXPECT_NE(log.find("writing 2 Kinetics-like videos"), std::string::npos) << log;
  EXPECT_NE(log.find("H.264 by x264 medium CRF 23"), std::string::npos) << log;
  EXPECT_NE(test::read_text(source / "synthetic.txt").find("x264_preset=medium\n"), std::string::npos);
  EXPECT_FALSE(fs::exists(prepared / "stale.txt"));
  EXPECT_EQ(VideoReader(records[0].path).info().num_frames, 40);
}

// Three sparse clips of 4 frames of the file `spec` describes, written at `path`.
DecodeMeasurement three_clips(const SyntheticVideoSpec& spec, const std::string& path) {
  write_synthetic_video(path, spec);
  DecodeBenchOptions options;
  options.num_segments = 4;
  options.repeat = 3;
  return measure_decoding({path}, options);
}

// A file that needs the timestamp fallback (H.264 B-frames in AVI): its first clip decodes all of
// it, its later clips seek with the learned numbering; the report shows both.
TEST(LoaderBenchmark, ReportsFallbackFilesFirstAndLaterClips) {
  if (!synthetic_codec_available("h264")) GTEST_SKIP() << "no libx264";
  const auto dir = test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.codec = "h264";
  spec.num_frames = 192;
  spec.gop_size = 16;
  spec.max_b_frames = 3;
  const DecodeMeasurement m = three_clips(spec, (dir / "bframes.avi").string());
  ASSERT_EQ(m.clips, 3);
  EXPECT_EQ(m.counted_clips, 1);
  EXPECT_GE(m.counted_frames_decoded, 192);
  EXPECT_EQ(m.learned_clips, 2);
  EXPECT_LT(m.learned_frames_decoded / m.learned_clips, 192 / 2) << "later clips decoded like a full decode";

  std::string log;
  ASSERT_EQ(test::run_vifi("bench loader --videos " + dir.string() + " --frames 4 --repeat 2", &log), 0) << log;
  EXPECT_NE(log.find("numbered by a full decode on 1 file(s): first clip"), std::string::npos) << log;
  EXPECT_NE(log.find("later clips"), std::string::npos) << log;
}

// Packed B-frames (XviD AVIs, one keyframe as in HMDB-51's short clips): numbered by a full
// decode from the first clip on, without a fallback; the later clips seek.
TEST(LoaderBenchmark, PackedBFrameFilesAreNumberedByTheirFirstClip) {
  if (!synthetic_codec_available("xvid")) GTEST_SKIP() << "no libxvid";
  SyntheticVideoSpec spec;
  spec.codec = "xvid";
  spec.num_frames = 96;
  spec.gop_size = 250;
  const DecodeMeasurement m = three_clips(spec, (test::scratch_dir() / "packed.avi").string());
  ASSERT_EQ(m.clips, 3);
  EXPECT_EQ(m.counted_clips, 1);
  EXPECT_EQ(m.learned_clips, 2);
  EXPECT_LT(m.learned_frames_decoded / m.learned_clips, m.counted_frames_decoded) << "later clips decoded the whole file";
}

TEST(LoaderBenchmark, RejectsBadDecodeOptions) {
  DecodeBenchOptions options;
  EXPECT_THROW(measure_decoding({}, options), std::invalid_argument);
  options.threads = 0;
  EXPECT_THROW(measure_decoding({"v.avi"}, options), std::invalid_argument);
}

}  // namespace
}  // namespace vifi::data

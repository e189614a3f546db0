// data/prepare and `vifi data prepare`: a messy dataset tree (three codecs and
// containers, a rotated phone video, a broken file, lists relative to different
// folders) re-encoded with every frame kept in order (checked through the index
// stamp each synthetic frame carries), the short side and keyframe interval
// asked for, lists rewritten, the broken file listed and carried unchanged, and
// a second run that re-encodes nothing.
#include "vifi/data/prepare.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/data/dataset.h"
#include "vifi/data/synthetic.h"
#include "vifi/data/video_reader.h"

namespace fs = std::filesystem;
using vifi::data::PrepareOptions;
using vifi::data::SyntheticVideoSpec;
using vifi::data::VideoReader;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

SyntheticVideoSpec video(const std::string& codec, int64_t frames, int rotation = 0) {
  SyntheticVideoSpec spec;
  spec.codec = codec;
  spec.num_frames = frames;
  spec.width = 96;
  spec.height = 64;
  spec.display_rotation = rotation;
  spec.label = 1;
  spec.seed = 3;
  return spec;
}

// SRC/videos/a/x.avi (MPEG-4), SRC/videos/b/y.webm (VP9), SRC/videos/b/z.mp4
// (H.264 shown turned 90 degrees), SRC/videos/b/broken.mp4 (not a video);
// train.txt relative to SRC, lists/val.txt relative to SRC/videos, labels.csv.
fs::path make_tree(const fs::path& dir) {
  const fs::path src = dir / "src";
  fs::create_directories(src / "videos/a");
  fs::create_directories(src / "videos/b");
  fs::create_directories(src / "lists");
  vifi::data::write_synthetic_video((src / "videos/a/x.avi").string(), video("mpeg4", 40));
  vifi::data::write_synthetic_video((src / "videos/b/y.webm").string(), video("vp9", 30));
  vifi::data::write_synthetic_video((src / "videos/b/z.mp4").string(), video("h264", 50, 90));
  std::ofstream(src / "videos/b/broken.mp4") << "not a video at all";
  std::ofstream(src / "train.txt") << "videos/a/x.avi 0\nvideos/b/y.webm 1\nvideos/b/z.mp4 "
                                      "2\nvideos/b/broken.mp4 2\n";
  std::ofstream(src / "lists/val.txt") << "a/x.avi 0\n\nb/y.webm 1\n";
  std::ofstream(src / "labels.csv") << "id,name\n0,x.avi lookalike\n1,b\n2,c\n";
  return src;
}

// The stamps of every frame; `turned` frames (shown rotated 90 degrees clockwise) are turned
// back first, since the stamp is drawn along the bottom of the stored picture.
std::vector<int64_t> all_stamps(const fs::path& path, bool turned = false) {
  VideoReader reader(path.string());
  std::vector<int64_t> out;
  reader.decode_all([&](int64_t, const cv::Mat& rgb) {
    cv::Mat stored = rgb;
    if (turned) cv::rotate(rgb, stored, cv::ROTATE_90_COUNTERCLOCKWISE);
    out.push_back(vifi::data::read_frame_stamp(stored));
  });
  return out;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST(Prepare, KeepsEveryFrameResizesRewritesListsAndCarriesBrokenFiles) {
  if (!vifi::data::synthetic_codec_available("h264") || !vifi::data::synthetic_codec_available("vp9")) {
    GTEST_SKIP() << "this FFmpeg build lacks libx264 or libvpx";
  }
  const fs::path dir = vifi::test::scratch_dir();
  const fs::path src = make_tree(dir), dst = dir / "dst";
  PrepareOptions options;
  options.short_side = 32;
  options.keyint = 4;
  options.jobs = 2;
  const auto report = vifi::data::prepare_dataset(src.string(), dst.string(), options);
  EXPECT_EQ(report.videos, 4);
  EXPECT_EQ(report.converted, 3);
  EXPECT_EQ(report.reused, 0);
  ASSERT_EQ(report.failed.size(), 1U);
  EXPECT_NE(report.failed[0].reason.find("broken.mp4"), std::string::npos) << report.failed[0].reason;
  EXPECT_EQ(report.prepared, (std::vector<std::string>{"videos/a/x.mp4", "videos/b/y.mp4", "videos/b/z.mp4"}));
  EXPECT_GT(report.source_bytes, 0);
  EXPECT_GT(report.prepared_bytes, 0);

  // Every frame of a full decode, in order, at the short side asked for,
  // rotation applied.
  EXPECT_EQ(all_stamps(dst / "videos/a/x.mp4"), iota(40));
  EXPECT_EQ(all_stamps(dst / "videos/b/y.mp4"), iota(30));
  EXPECT_EQ(all_stamps(dst / "videos/b/z.mp4", true), iota(50));
  VideoReader x((dst / "videos/a/x.mp4").string()), z((dst / "videos/b/z.mp4").string());
  EXPECT_EQ(x.info().width, 48);
  EXPECT_EQ(x.info().height, 32);
  EXPECT_EQ(x.info().codec, "h264");
  EXPECT_EQ(z.info().rotation, 0);  // turned upright in the pixels
  EXPECT_EQ(z.info().width, 32);
  EXPECT_EQ(z.info().height, 48);
  EXPECT_NEAR(x.info().fps, 25.0, 1e-6);
  // Keyframe every 4 frames: the last frame costs a handful of decodes, not the
  // whole file.
  cv::Mat last;
  cv::rotate(z.read_frames({49}).front(), last, cv::ROTATE_90_COUNTERCLOCKWISE);
  EXPECT_EQ(vifi::data::read_frame_stamp(last), 49);
  EXPECT_LE(z.stats().frames_decoded, 8);

  // Lists: renamed videos get their new names, whatever folder the paths are
  // relative to.
  EXPECT_EQ(slurp(dst / "train.txt"),
            "videos/a/x.mp4 0\nvideos/b/y.mp4 1\nvideos/b/z.mp4 "
            "2\nvideos/b/broken.mp4 2\n");
  EXPECT_EQ(slurp(dst / "lists/val.txt"), "a/x.mp4 0\n\nb/y.mp4 1\n");
  EXPECT_EQ(slurp(dst / "labels.csv"), slurp(src / "labels.csv"));
  EXPECT_EQ(report.lists_rewritten, 2);
  EXPECT_EQ(report.files_copied, 1);
  // The broken file is carried as it is, so training still meets and names it.
  EXPECT_EQ(slurp(dst / "videos/b/broken.mp4"), slurp(src / "videos/b/broken.mp4"));
  const auto records = vifi::data::load_annotation_list((dst / "train.txt").string(), dst.string());
  ASSERT_EQ(records.size(), 4U);
  EXPECT_NO_THROW(VideoReader(records[1].path));

  // A second run re-encodes nothing, leaves the finished files alone and removes what a killed
  // run left behind (the temporary file of a process that no longer exists).
  std::ofstream(dst / "videos/a/x.partial-999999999.mp4") << "half a video";
  const auto written = fs::last_write_time(dst / "videos/a/x.mp4");
  const auto again = vifi::data::prepare_dataset(src.string(), dst.string(), options);
  EXPECT_EQ(again.converted, 0);
  EXPECT_EQ(again.reused, 3);
  EXPECT_EQ(again.failed.size(), 1U);
  EXPECT_EQ(fs::last_write_time(dst / "videos/a/x.mp4"), written);
  for (const auto& entry : fs::recursive_directory_iterator(dst)) {
    EXPECT_EQ(entry.path().string().find(".partial-"), std::string::npos) << entry.path();
  }
}

TEST(Prepare, MotionJpegMakesEveryFrameAKeyframe) {
  const fs::path dir = vifi::test::scratch_dir();
  fs::create_directories(dir / "src");
  vifi::data::write_synthetic_video((dir / "src/v.avi").string(), video("mpeg4", 24));
  PrepareOptions options;
  options.codec = "mjpeg";
  options.short_side = 0;
  const auto report = vifi::data::prepare_dataset((dir / "src").string(), (dir / "dst").string(), options);
  ASSERT_EQ(report.prepared, std::vector<std::string>{"v.avi"});
  VideoReader reader((dir / "dst/v.avi").string());
  EXPECT_EQ(reader.info().codec, "mjpeg");
  EXPECT_EQ(reader.info().width, 96);  // 0 keeps the size
  const auto frames = reader.read_frames({3, 11, 20});
  EXPECT_EQ(vifi::data::read_frame_stamp(frames[0]), 3);
  EXPECT_EQ(vifi::data::read_frame_stamp(frames[1]), 11);
  EXPECT_EQ(vifi::data::read_frame_stamp(frames[2]), 20);
  EXPECT_EQ(reader.stats().frames_decoded, 3);  // the wanted frames only
}

TEST(Prepare, RefusesBadOptionsAndADestinationInsideTheSource) {
  const fs::path dir = vifi::test::scratch_dir();
  fs::create_directories(dir / "src");
  PrepareOptions options;
  vifi::test::expect_error<std::invalid_argument>(
      [&] { vifi::data::prepare_dataset((dir / "src").string(), (dir / "src/out").string(), options); }, {"inside"});
  vifi::test::expect_error<std::invalid_argument>(
      [&] { vifi::data::prepare_dataset((dir / "missing").string(), (dir / "out").string(), options); },
      {"missing: not a directory"});
  options.keyint = 0;
  vifi::test::expect_error<std::invalid_argument>(
      [&] { vifi::data::prepare_dataset((dir / "src").string(), (dir / "out").string(), options); },
      {"keyint (--keyint)"});
  options.keyint = 16;
  options.codec = "vp9";
  vifi::test::expect_error<std::invalid_argument>(
      [&] { vifi::data::prepare_dataset((dir / "src").string(), (dir / "out").string(), options); }, {"h264 or mjpeg"});
}

TEST(Prepare, CommandReportsBytesSpeedAndTheBrokenFileWithExitCode1) {
  if (!vifi::data::synthetic_codec_available("h264") || !vifi::data::synthetic_codec_available("vp9")) {
    GTEST_SKIP() << "this FFmpeg build lacks libx264 or libvpx";
  }
  const fs::path dir = vifi::test::scratch_dir();
  const fs::path src = make_tree(dir);
  std::string out;
  const int rc = vifi::test::run_vifi(
      "data prepare " + src.string() + " " + (dir / "dst").string() + " --short-side 32 --keyint 4 --jobs 2", &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("prepared 3 of 4 videos"), std::string::npos) << out;
  EXPECT_NE(out.find("bytes: "), std::string::npos) << out;
  EXPECT_NE(out.find("clips/s before"), std::string::npos) << out;
  EXPECT_NE(out.find("BAD " + (src / "videos/b/broken.mp4").string()), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir / "dst/videos/b/y.mp4"));
}

// A dataset assembled with links: a class folder linked in from another disk is prepared like any
// other (under the link's name), and what cannot be carried over is listed while the run goes on:
// a link to a missing video, a link that loops onto itself (it ended the old walk with a
// filesystem error), a link back up the tree (not entered), a FIFO. The command exits 1 and
// names each of them.
TEST(Prepare, LinkedFoldersArePreparedAndBrokenEntriesListedWithoutStoppingTheRun) {
  if (!vifi::data::synthetic_codec_available("h264")) GTEST_SKIP() << "this FFmpeg build lacks libx264";
  const fs::path dir = vifi::test::scratch_dir();
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src / "own");
  fs::create_directories(dir / "disk2/far");
  vifi::data::write_synthetic_video((src / "own/v.avi").string(), video("mpeg4", 12));
  vifi::data::write_synthetic_video((dir / "disk2/far/w.avi").string(), video("mpeg4", 14));
  fs::create_directory_symlink(dir / "disk2/far", src / "linked");
  fs::create_directory_symlink("..", src / "own/up");
  fs::create_symlink("missing.avi", src / "own/gone.avi");
  fs::create_symlink("self.avi", src / "own/self.avi");
  ASSERT_EQ(::mkfifo((src / "pipe.txt").c_str(), 0600), 0);
  std::ofstream(src / "train.txt") << "own/v.avi 0\nlinked/w.avi 1\nown/gone.avi 1\n";
  PrepareOptions options;
  options.short_side = 32;
  options.keyint = 4;
  const auto report = vifi::data::prepare_dataset(src.string(), dst.string(), options);
  EXPECT_EQ(report.prepared, (std::vector<std::string>{"linked/w.mp4", "own/v.mp4"}));
  EXPECT_TRUE(report.failed.empty());
  EXPECT_EQ(all_stamps(dst / "linked/w.mp4"), iota(14));
  EXPECT_FALSE(fs::is_symlink(dst / "linked"));
  std::vector<std::string> listed;
  for (const auto& n : report.not_carried) listed.push_back(n.relative + ": " + n.reason);
  EXPECT_EQ(listed, (std::vector<std::string>{
                        "own/gone.avi: a broken symbolic link to 'missing.avi', which does not exist",
                        "own/self.avi: a symbolic link in a loop (Too many levels of symbolic links)",
                        "own/up/: a link back to '" + src.string() + "', which holds it (a loop); not entered",
                        "pipe.txt: a FIFO (named pipe), not a file",
                    }));
  EXPECT_EQ(slurp(dst / "train.txt"), "own/v.mp4 0\nlinked/w.mp4 1\nown/gone.avi 1\n");

  std::string out;
  const int rc = vifi::test::run_vifi("data prepare " + src.string() + " " + dst.string() +
                                          " --short-side 32 --keyint 4 --sample 0", &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("prepared 2 of 2 videos"), std::string::npos) << out;
  EXPECT_NE(out.find("4 entries under " + src.string() + " are not in " + dst.string()), std::string::npos) << out;
  EXPECT_NE(out.find("SKIPPED own/gone.avi: a broken symbolic link"), std::string::npos) << out;
  EXPECT_NE(out.find("SKIPPED own/up/: a link back to"), std::string::npos) << out;
}

// Files and folders the user may not read are listed and skipped; only failures to write DST
// end a run (an unreadable video used to end it when its unchanged copy failed). Root reads
// everything, so ctest runs this case again as nobody (test_prepare_unprivileged).
TEST(Prepare, UnreadableFilesAndFoldersAreListedAndTheRunGoesOn) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  if (!vifi::data::synthetic_codec_available("h264")) GTEST_SKIP() << "this FFmpeg build lacks libx264";
  const fs::path dir = vifi::test::scratch_dir();
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src / "closed");
  vifi::data::write_synthetic_video((src / "ok.avi").string(), video("mpeg4", 8));
  vifi::data::write_synthetic_video((src / "secret.avi").string(), video("mpeg4", 8));
  vifi::data::write_synthetic_video((src / "closed/x.avi").string(), video("mpeg4", 8));
  std::ofstream(src / "secret.txt") << "labels";
  for (const char* p : {"closed", "secret.avi", "secret.txt"}) fs::permissions(src / p, fs::perms::none);
  PrepareOptions options;
  options.keyint = 4;
  const auto report = vifi::data::prepare_dataset(src.string(), dst.string(), options);
  for (const char* p : {"closed", "secret.avi", "secret.txt"}) fs::permissions(src / p, fs::perms::owner_all);
  EXPECT_EQ(report.prepared, std::vector<std::string>{"ok.mp4"});
  ASSERT_EQ(report.failed.size(), 1U);
  EXPECT_NE(report.failed[0].reason.find((src / "secret.avi").string() + ": "), std::string::npos) << report.failed[0].reason;
  EXPECT_NE(report.failed[0].reason.find("; not copied: cannot be read (Permission denied)"), std::string::npos)
      << report.failed[0].reason;
  EXPECT_FALSE(fs::exists(dst / "secret.avi"));
  std::vector<std::string> listed;
  for (const auto& n : report.not_carried) listed.push_back(n.relative + ": " + n.reason);
  EXPECT_EQ(listed, (std::vector<std::string>{"closed/: cannot be read (Permission denied)",
                                              "secret.txt: cannot be read (Permission denied)"}));
}

// Two sources of one prepared name (x.avi and x.mkv both become x.mp4): one is prepared, the
// other carried unchanged and listed, and every list line still names its own video's frames.
// The old code let the second one "reuse" the first one's copy.
TEST(Prepare, SourcesSharingAPreparedNameEachKeepTheirOwnFrames) {
  if (!vifi::data::synthetic_codec_available("h264")) GTEST_SKIP() << "this FFmpeg build lacks libx264";
  const fs::path dir = vifi::test::scratch_dir();
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src / "c");
  vifi::data::write_synthetic_video((src / "c/dup.avi").string(), video("mpeg4", 20));
  vifi::data::write_synthetic_video((src / "c/dup.mkv").string(), video("mpeg4", 30));
  // other.avi sorts first, but other.mp4 already has the prepared name and keeps it.
  vifi::data::write_synthetic_video((src / "c/other.avi").string(), video("mpeg4", 12));
  vifi::data::write_synthetic_video((src / "c/other.mp4").string(), video("h264", 24));
  std::ofstream(src / "train.txt") << "c/dup.avi 0\nc/dup.mkv 1\nc/other.avi 0\nc/other.mp4 1\n";
  PrepareOptions options;
  options.keyint = 4;
  for (const int run : {1, 2}) {  // the second run reuses what the first prepared
    SCOPED_TRACE(run);
    const auto report = vifi::data::prepare_dataset(src.string(), dst.string(), options);
    EXPECT_EQ(report.converted + report.reused, 2);
    EXPECT_EQ(report.reused, run == 1 ? 0 : 2);
    ASSERT_EQ(report.failed.size(), 2U);
    EXPECT_NE(report.failed[0].reason.find("dup.mkv: its prepared name c/dup.mp4 is c/dup.avi's; copied unchanged"),
              std::string::npos) << report.failed[0].reason;
    EXPECT_NE(report.failed[1].reason.find("other.avi: its prepared name c/other.mp4 is c/other.mp4's"),
              std::string::npos) << report.failed[1].reason;
    EXPECT_EQ(slurp(dst / "train.txt"), "c/dup.mp4 0\nc/dup.mkv 1\nc/other.avi 0\nc/other.mp4 1\n");
    const std::map<std::string, int64_t> frames_of{{"c/dup.mp4", 20}, {"c/dup.mkv", 30}, {"c/other.avi", 12}, {"c/other.mp4", 24}};
    for (const auto& record : vifi::data::load_annotation_list((dst / "train.txt").string(), dst.string())) {
      EXPECT_EQ(all_stamps(record.path), iota(frames_of.at(record.relative))) << record.relative;
    }
    EXPECT_EQ(slurp(dst / "c/dup.mkv"), slurp(src / "c/dup.mkv"));
    EXPECT_EQ(VideoReader((dst / "c/dup.mp4").string()).info().codec, "h264");
  }
}

// A rerun skips finished files, so other settings would leave a folder of two kinds of files
// (the old code reported "240 from an earlier run" at the old short side): refused by name.
TEST(Prepare, ARerunWithOtherSettingsIsRefusedNotMixed) {
  if (!vifi::data::synthetic_codec_available("h264")) GTEST_SKIP() << "this FFmpeg build lacks libx264";
  const fs::path dir = vifi::test::scratch_dir();
  const fs::path src = dir / "src", dst = dir / "dst";
  fs::create_directories(src);
  vifi::data::write_synthetic_video((src / "v.avi").string(), video("mpeg4", 10));
  PrepareOptions options;
  options.short_side = 32;
  options.keyint = 4;
  EXPECT_EQ(vifi::data::prepare_dataset(src.string(), dst.string(), options).converted, 1);
  auto other = options;
  other.short_side = 48;
  vifi::test::expect_error([&] { vifi::data::prepare_dataset(src.string(), dst.string(), other); },
                           {dst.string() + " was prepared with codec=h264 short_side=32 keyint=4 crf=23",
                            "asks for codec=h264 short_side=48 keyint=4 crf=23", "new folder"});
  other = options;
  other.crf = 30;
  EXPECT_THROW(vifi::data::prepare_dataset(src.string(), dst.string(), other), std::invalid_argument);
  EXPECT_EQ(VideoReader((dst / "v.mp4").string()).info().height, 32);  // untouched by the refusals
  // The same settings finish or re-check the folder (--jobs is not a setting of the files).
  options.jobs = 2;
  const auto again = vifi::data::prepare_dataset(src.string(), dst.string(), options);
  EXPECT_EQ(again.reused, 1);
  EXPECT_EQ(again.converted, 0);
}

// Real datasets' odd files (issue 14): each kind of fault on a file the test makes with vifi's
// writer or the FFmpeg libraries, with the expected values taken from the FFmpeg CLI (ffprobe's
// frame count and per-frame sizes, ffmpeg's autorotated pixels) or from a full decode.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../src/data/frame_numbering.h"
#include "../src/data/video_writer.h"
#include "support/packed_avi.h"
#include "support/test_paths.h"
#include "vifi/data/check.h"
#include "vifi/data/synthetic.h"
#include "vifi/data/transforms.h"
#include "vifi/data/video_reader.h"

namespace fs = std::filesystem;
using vifi::data::SyntheticVideoSpec;
using vifi::data::VideoError;
using vifi::data::VideoFault;
using vifi::data::VideoReader;

namespace {

std::string shell(const std::string& cmd) {
  std::string text;
  FILE* pipe = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!pipe) return text;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  pclose(pipe);
  return text;
}

// ffprobe's view of a file: one "width,height" line per decoded frame.
std::vector<std::string> ffprobe_frame_sizes(const fs::path& path) {
  std::istringstream in(shell("ffprobe -v error -select_streams v:0 -show_entries frame=width,height -of csv=p=0 '" +
                              path.string() + "'"));
  std::vector<std::string> sizes;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.back() == ',') line.pop_back();  // side-data columns
    if (!line.empty()) sizes.push_back(line);
  }
  return sizes;
}

void require_ffmpeg_cli() {
  ASSERT_FALSE(shell("ffprobe -version").empty()) << "the FFmpeg CLI (Debian package ffmpeg) is the oracle here: "
                                                     "tools/install-deps.sh installs it";
}

std::vector<int64_t> all_frames(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// A flat-coloured clip of `n` frames of one size, as an H.264 MPEG-TS segment starting at
// frame `first` (so segments concatenate into one stream).
void write_ts_segment(const fs::path& path, int width, int height, int n, int64_t first) {
  vifi::data::EncoderSettings settings;
  settings.codec = "h264";
  settings.width = width;
  settings.height = height;
  settings.max_b_frames = 0;
  vifi::data::VideoWriter writer(path.string(), settings);
  for (int i = 0; i < n; ++i) {
    cv::Mat rgb(height, width, CV_8UC3, cv::Scalar(20 + 8 * i, 200 - 5 * i, 90));
    writer.write(rgb, first + i);
  }
  writer.finish();
}

void concatenate(const std::vector<fs::path>& parts, const fs::path& out) {
  std::ofstream o(out, std::ios::binary);
  for (const auto& p : parts) {
    std::ifstream in(p, std::ios::binary);
    o << in.rdbuf();
  }
}

// Overwrites `bytes` bytes at the middle of the file with seeded noise (a damaged download).
void damage_middle(const fs::path& path, size_t bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  const auto size = static_cast<size_t>(fs::file_size(path));
  std::mt19937 rng(5);
  f.seekp(static_cast<std::streamoff>(size / 2));
  for (size_t i = 0; i < bytes && size / 2 + i < size; ++i) f.put(static_cast<char>(rng() & 0xFF));
}

VideoFault fault_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const VideoError& e) {
    return e.fault();
  }
  ADD_FAILURE() << "no VideoError";
  return VideoFault::unreadable;
}

}  // namespace

// 1. Picture size changes mid-stream, to sizes down to a few pixels (the tiny ones made
// swscale's vector stores run past an unpadded image into the heap).
TEST(MessyVideos, PictureSizeChangesMidStream) {
  require_ffmpeg_cli();
  const auto dir = vifi::test::scratch_dir();
  const std::vector<std::pair<cv::Size, cv::Size>> changes{
      {{64, 48}, {48, 64}}, {{50, 38}, {10, 8}}, {{66, 50}, {10, 8}}, {{18, 14}, {130, 98}}, {{128, 96}, {34, 26}}};
  for (size_t c = 0; c < changes.size(); ++c) {
    const auto [a, b] = changes[c];
    SCOPED_TRACE(std::to_string(a.width) + "x" + std::to_string(a.height) + " -> " + std::to_string(b.width) + "x" +
                 std::to_string(b.height));
    const fs::path first = dir / ("a" + std::to_string(c) + ".ts"), second = dir / ("b" + std::to_string(c) + ".ts");
    const fs::path joined = dir / ("reschange" + std::to_string(c) + ".ts");
    write_ts_segment(first, a.width, a.height, 12, 0);
    write_ts_segment(second, b.width, b.height, 13, 12);
    concatenate({first, second}, joined);

    const auto expected = ffprobe_frame_sizes(joined);
    VideoReader reader(joined.string());
    ASSERT_EQ(reader.info().num_frames, static_cast<int64_t>(expected.size()));
    const auto frames = reader.read_frames_full_decode(all_frames(reader.info().num_frames));
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(std::to_string(frames[i].cols) + "," + std::to_string(frames[i].rows), expected[i]) << "frame " << i;
    }
    // The sparse path and the full decode agree pixel for pixel across the change.
    VideoReader sparse(joined.string());
    const std::vector<int64_t> picks{3, 11, 12, 20, 24};
    const auto got = sparse.read_frames(picks);
    for (size_t k = 0; k < picks.size(); ++k) {
      EXPECT_EQ(cv::norm(got[k], frames[static_cast<size_t>(picks[k])], cv::NORM_INF), 0.0) << "frame " << picks[k];
    }
    // Frames of both sizes go through both pipelines into one clip tensor.
    vifi::data::Rng rng(1);
    vifi::data::AugmentConfig augment;
    augment.input_size = 32;
    EXPECT_EQ(vifi::data::train_transform(got, rng, augment).sizes(), (torch::IntArrayRef{5, 3, 32, 32}));
    vifi::data::EvalTransformConfig eval;
    eval.input_size = 32;
    eval.num_crops = 3;
    EXPECT_EQ(vifi::data::eval_transform(got, eval).sizes(), (torch::IntArrayRef{3, 5, 3, 32, 32}));
  }
}

// 2. Damaged data in the middle: data check, the loader's sparse reads and a full decode reach
// the same verdict with the same fault name. H.264's decoder rejects the damaged packets (the
// file is corrupt); MPEG-4 Part 2's conceals them and yields every frame, as ffprobe counts, so
// that file is usable everywhere, and never called truncated.
TEST(MessyVideos, DamagedMiddleGetsOneVerdictEverywhere) {
  require_ffmpeg_cli();
  const auto dir = vifi::test::scratch_dir();
  struct Kind {
    std::string codec, ext;
    bool corrupt;
  };
  for (const Kind& kind : {Kind{"h264", ".mp4", true}, Kind{"mpeg4", ".avi", false}}) {
    SCOPED_TRACE(kind.codec + kind.ext);
    SyntheticVideoSpec spec;
    spec.codec = kind.codec;
    spec.width = 128;
    spec.height = 96;
    spec.num_frames = 250;
    spec.gop_size = 50;
    const fs::path path = dir / ("damaged_" + kind.codec + kind.ext);
    vifi::data::write_synthetic_video(path.string(), spec);
    damage_middle(path, 4096);

    vifi::data::CheckOptions options;
    options.full_decode = true;
    options.num_threads = 1;
    const auto report =
        vifi::data::check_videos({vifi::data::VideoRecord{path.string(), path.filename().string(), 0, 1}}, options);
    std::string sparse_fault = "none", full_fault = "none";
    try {
      VideoReader r(path.string());
      r.read_frames(all_frames(r.info().num_frames));
    } catch (const VideoError& e) {
      sparse_fault = vifi::data::fault_name(e.fault());
    }
    try {
      VideoReader r(path.string());
      r.read_frames_full_decode({0});
    } catch (const VideoError& e) {
      full_fault = vifi::data::fault_name(e.fault());
    }
    const std::string check_fault = report.problems.empty() ? "none" : report.problems[0].fault;
    EXPECT_EQ(check_fault, sparse_fault) << "data check and the loader disagree";
    EXPECT_EQ(check_fault, full_fault);
    if (kind.corrupt) {
      EXPECT_EQ(check_fault, "corrupt");
      ASSERT_FALSE(report.problems.empty());
      EXPECT_NE(report.problems[0].reason.find(path.string()), std::string::npos);
    } else {
      EXPECT_EQ(check_fault, "none");
      EXPECT_EQ(VideoReader(path.string()).info().num_frames, static_cast<int64_t>(ffprobe_frame_sizes(path).size()));
    }
  }
}

// 3. A header that declares more frames than the stream holds (a patched AVI header): the file
// is the frames a full decode yields, as ffprobe counts them.
TEST(MessyVideos, HeaderDeclaringMoreFramesThanTheStreamHolds) {
  require_ffmpeg_cli();
  const auto dir = vifi::test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.num_frames = 40;
  const fs::path path = dir / "patched.avi";
  vifi::data::write_synthetic_video(path.string(), spec);
  // strh of the video stream: 'strh', size, then 8 fields of 4 bytes before dwLength.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t strh = bytes.find("strh");
  ASSERT_NE(strh, std::string::npos);
  const uint32_t declared = 55;
  bytes.replace(strh + 8 + 32, 4, reinterpret_cast<const char*>(&declared), 4);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;

  const auto expected = ffprobe_frame_sizes(path);
  VideoReader reader(path.string());
  EXPECT_EQ(reader.info().num_frames, static_cast<int64_t>(expected.size()));
  EXPECT_EQ(reader.info().num_frames, 40);
  EXPECT_EQ(reader.info().declared_frames, 55);
  const auto frames = reader.read_frames({0, 39});
  EXPECT_EQ(vifi::data::read_frame_stamp(frames[1]), 39);
  EXPECT_NO_THROW(reader.verify());
}

// 4. Display rotation: frames come out turned as the FFmpeg CLI shows them; the same stream
// stored without rotation, turned by OpenCV, is the exact expectation.
TEST(MessyVideos, DisplayRotationIsApplied) {
  require_ffmpeg_cli();
  const auto dir = vifi::test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.codec = "h264";
  spec.num_frames = 6;
  spec.width = 96;
  spec.height = 64;
  const fs::path plain = dir / "plain.mp4";
  vifi::data::write_synthetic_video(plain.string(), spec);
  const auto stored = VideoReader(plain.string()).read_frames_full_decode(all_frames(6));
  const std::vector<std::pair<int, int>> cases{{90, cv::ROTATE_90_CLOCKWISE}, {180, cv::ROTATE_180},
                                               {270, cv::ROTATE_90_COUNTERCLOCKWISE}};
  for (const auto& [degrees, turn] : cases) {
    SCOPED_TRACE(degrees);
    spec.display_rotation = degrees;
    const fs::path path = dir / ("rotated" + std::to_string(degrees) + ".mp4");
    vifi::data::write_synthetic_video(path.string(), spec);
    VideoReader reader(path.string());
    EXPECT_EQ(reader.info().rotation, degrees);
    const auto frames = reader.read_frames({0, 5});
    cv::Mat expected;
    cv::rotate(stored[5], expected, turn);
    ASSERT_EQ(frames[1].size(), expected.size());
    EXPECT_EQ(cv::norm(frames[1], expected, cv::NORM_INF), 0.0);
    EXPECT_EQ(reader.info().width, frames[1].cols);
    // The FFmpeg CLI's autorotated picture: same orientation and size, pixels within its
    // different chroma interpolation.
    const fs::path raw = dir / ("cli" + std::to_string(degrees) + ".rgb");
    shell("ffmpeg -v error -y -i '" + path.string() + "' -frames:v 1 -f rawvideo -pix_fmt rgb24 '" + raw.string() + "'");
    ASSERT_EQ(fs::file_size(raw), static_cast<uintmax_t>(frames[0].total() * 3)) << "CLI picture size differs";
    std::ifstream in(raw, std::ios::binary);
    cv::Mat cli(frames[0].rows, frames[0].cols, CV_8UC3);
    for (int y = 0; y < cli.rows; ++y) in.read(reinterpret_cast<char*>(cli.ptr(y)), cli.cols * 3);
    cv::Mat diff;
    cv::absdiff(cli, frames[0], diff);
    EXPECT_LT(cv::mean(diff)[0], 4.0) << "vifi's frame is not the CLI's orientation";
  }
}

// 4b. Pixel formats downloads come in beyond 8-bit 4:2:0: 10-bit (HDR phone clips, some
// YouTube), 4:2:2, 4:4:4, grey, full range, odd sizes. The oracle is the FFmpeg CLI with the
// bilinear filter that decord's scale filter, the reference's loader, converts with (the CLI's
// own default is bicubic; docs/design.md).
TEST(MessyVideos, PixelFormatsConvertAsTheReferencesLoaderDoes) {
  require_ffmpeg_cli();
  const auto dir = vifi::test::scratch_dir();
  struct Case {
    const char* name;
    const char* size;
    const char* encode;
  };
  const std::vector<Case> cases{{"h264_yuv420p10le.mp4", "96x64", "-c:v libx264 -pix_fmt yuv420p10le"},
                                {"h264_yuv422p.mp4", "96x64", "-c:v libx264 -pix_fmt yuv422p"},
                                {"h264_yuv444p_odd.mkv", "95x63", "-c:v libx264 -pix_fmt yuv444p"},
                                {"h264_gray.mp4", "96x64", "-c:v libx264 -pix_fmt gray"},
                                {"h264_yuvj420p.mp4", "96x64", "-c:v libx264 -pix_fmt yuvj420p"},
                                {"vp9_yuv420p10le.webm", "96x64", "-c:v libvpx-vp9 -pix_fmt yuv420p10le -deadline realtime"},
                                {"ffv1_yuv444p12le_odd.mkv", "95x63", "-c:v ffv1 -pix_fmt yuv444p12le"},
                                {"mjpeg_yuvj422p_odd.avi", "95x63", "-c:v mjpeg -pix_fmt yuvj422p"}};
  int compared = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path path = dir / c.name;
    shell(std::string("ffmpeg -v error -y -f lavfi -i testsrc2=size=") + c.size + ":rate=25:duration=1 " + c.encode +
          " -g 10 '" + path.string() + "'");
    if (!fs::exists(path) || fs::file_size(path) == 0) {
      ADD_FAILURE() << "the FFmpeg CLI could not write it (Debian's ffmpeg has libx264, libvpx and ffv1)";
      continue;
    }
    VideoReader reader(path.string());
    const std::vector<int64_t> wanted{3, 14, 24};  // sparse: across two keyframes, from mid-GOP
    const auto frames = reader.read_frames(wanted);
    ASSERT_EQ(frames.size(), wanted.size());
    for (size_t i = 0; i < wanted.size(); ++i) {
      const fs::path raw = dir / "cli.rgb";
      fs::remove(raw);
      shell("ffmpeg -v error -y -i '" + path.string() + "' -vf 'select=eq(n\\," + std::to_string(wanted[i]) +
            ")' -frames:v 1 -sws_flags bilinear -f rawvideo -pix_fmt rgb24 '" + raw.string() + "'");
      ASSERT_TRUE(fs::exists(raw)) << "frame " << wanted[i];
      ASSERT_EQ(fs::file_size(raw), static_cast<uintmax_t>(frames[i].total() * 3)) << "frame " << wanted[i] << " size";
      std::ifstream in(raw, std::ios::binary);
      cv::Mat cli(frames[i].rows, frames[i].cols, CV_8UC3);
      for (int y = 0; y < cli.rows; ++y) in.read(reinterpret_cast<char*>(cli.ptr(y)), cli.cols * 3);
      EXPECT_EQ(cv::norm(cli, frames[i], cv::NORM_INF), 0.0) << "frame " << wanted[i];
      ++compared;
    }
  }
  EXPECT_EQ(compared, 3 * static_cast<int>(cases.size()));
}

// 5. Empty and non-video files get their own reasons.
TEST(MessyVideos, EmptyAndDirectoryFilesAreNamed) {
  const auto dir = vifi::test::scratch_dir();
  const fs::path empty = dir / "empty.mp4";
  std::ofstream(empty).close();
  try {
    VideoReader r(empty.string());
    FAIL() << "a 0-byte file opened";
  } catch (const VideoError& e) {
    EXPECT_EQ(e.fault(), VideoFault::empty);
    EXPECT_EQ(std::string(e.what()), empty.string() + ": empty: the file is empty (0 bytes)");
  }
  fs::create_directories(dir / "folder.avi");
  EXPECT_EQ(fault_of([&] { VideoReader r((dir / "folder.avi").string()); }), VideoFault::unreadable);
  std::ofstream(dir / "notes.avi") << "not a video at all, just text\n";
  EXPECT_EQ(fault_of([&] { VideoReader r((dir / "notes.avi").string()); }), VideoFault::not_a_video);
}

// 6. Repeated frames (a clip longer than its video) share one image.
TEST(MessyVideos, RepeatedFramesShareTheirImage) {
  const auto dir = vifi::test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.num_frames = 3;
  const fs::path path = dir / "short.avi";
  vifi::data::write_synthetic_video(path.string(), spec);
  VideoReader reader(path.string());
  const auto frames = reader.read_frames({0, 0, 1, 1, 1, 2, 2, 2});
  EXPECT_EQ(frames[0].data, frames[1].data);
  EXPECT_EQ(frames[2].data, frames[4].data);
  EXPECT_NE(frames[4].data, frames[5].data);
  EXPECT_EQ(vifi::data::read_frame_stamp(frames[7]), 2);
}

// 7. A file whose decoded timestamps contradict its packets (H.264 with B-frames in AVI, which
// stores no presentation times) needs one full decode; from its second clip on, reads seek.
TEST(MessyVideos, TimestampFallbackFileDecodesSparselyFromItsSecondClip) {
  if (!vifi::data::synthetic_codec_available("h264")) GTEST_SKIP() << "no libx264";
  const auto dir = vifi::test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.codec = "h264";
  spec.num_frames = 240;
  spec.gop_size = 24;
  spec.max_b_frames = 3;
  const fs::path path = dir / "bframes.avi";
  vifi::data::write_synthetic_video(path.string(), spec);
  const auto truth = VideoReader(path.string()).read_frames_full_decode(all_frames(240));

  VideoReader first(path.string());
  const std::vector<int64_t> clip1{30, 90, 150, 210};
  const auto a = first.read_frames(clip1);
  EXPECT_EQ(first.stats().timestamp_fallbacks, 1) << "this file is meant to need the fallback";
  EXPECT_GE(first.stats().frames_decoded, 240) << "the first clip decodes the file whole, once";

  std::mt19937 rng(3);
  for (int clip = 0; clip < 6; ++clip) {
    VideoReader later(path.string());  // the loader opens the file anew for every clip
    std::vector<int64_t> picks;
    for (int k = 0; k < 4; ++k) picks.push_back(static_cast<int64_t>(rng() % 240));
    const auto frames = later.read_frames(picks);
    for (size_t k = 0; k < picks.size(); ++k) {
      EXPECT_EQ(cv::norm(frames[k], truth[static_cast<size_t>(picks[k])], cv::NORM_INF), 0.0) << "frame " << picks[k];
    }
    EXPECT_EQ(later.stats().timestamp_fallbacks, 0) << "clip " << clip;
    EXPECT_EQ(later.stats().learned_numbering_reads, 1);
    EXPECT_LT(later.stats().frames_decoded, 200) << "clip " << clip << " decoded like a full decode";
  }
  for (size_t k = 0; k < clip1.size(); ++k) EXPECT_EQ(cv::norm(a[k], truth[static_cast<size_t>(clip1[k])], cv::NORM_INF), 0.0);
}

// 7b. The same with open GOPs: the B-frames coded after a keyframe but shown before it lean on
// the GOP before, so their reads start one keyframe earlier. Every frame, read alone after the
// numbering is learned, equals the full decode.
TEST(MessyVideos, OpenGopFallbackFileReadsEveryFrameExactly) {
  if (!vifi::data::synthetic_codec_available("h264")) GTEST_SKIP() << "no libx264";
  SyntheticVideoSpec spec;
  spec.codec = "h264";
  spec.num_frames = 96;
  spec.gop_size = 24;
  spec.max_b_frames = 3;
  spec.open_gop = true;
  const fs::path path = vifi::test::scratch_dir() / "opengop.avi";
  vifi::data::write_synthetic_video(path.string(), spec);
  const auto truth = VideoReader(path.string()).read_frames_full_decode(all_frames(96));
  VideoReader first(path.string());
  first.read_frames(all_frames(96));
  ASSERT_EQ(first.stats().timestamp_fallbacks, 1) << "this file is meant to need the fallback";
  for (int64_t k = 0; k < 96; ++k) {
    VideoReader later(path.string());
    EXPECT_EQ(cv::norm(later.read_frames({k})[0], truth[static_cast<size_t>(k)], cv::NORM_INF), 0.0) << "frame " << k;
    EXPECT_EQ(later.stats().timestamp_fallbacks, 0) << "frame " << k;
    EXPECT_EQ(later.stats().learned_numbering_reads, 1) << "frame " << k;
  }
}

// 8. Packed B-frames (DivX 5 / XviD AVIs, as HMDB-51 and UCF-101 ship: a P-frame's packet also
// carries the B-frame shown next, an empty placeholder packet ends each run). From the second
// clip on, passed B-frames are dropped like in any other file, and every wanted frame is still
// the full decode's: every single frame and every pair one or two apart, where dropping one
// B-frame of a run changes what the decoder makes of the next.
TEST(MessyVideos, PackedBFramesAreDroppedOnlyWhereTheWantedFramesStayExact) {
  require_ffmpeg_cli();
  if (!vifi::data::synthetic_codec_available("xvid")) GTEST_SKIP() << "no libxvid";
  const auto dir = vifi::test::scratch_dir();
  // Runs of 2 and 3 B-frames; two keyframes, or one (HMDB-51's short clips), where the full
  // decode's recording must still start at the first packet.
  for (const auto& [b_frames, keyint] : {std::pair{2, 30}, std::pair{3, 30}, std::pair{2, 250}}) {
    const std::string name = "packed_b" + std::to_string(b_frames) + "_keyint" + std::to_string(keyint);
    SCOPED_TRACE(name);
    SyntheticVideoSpec spec;
    spec.codec = "xvid";
    spec.num_frames = 60;
    spec.gop_size = keyint;
    spec.max_b_frames = b_frames;
    const fs::path path = dir / (name + ".avi");
    vifi::data::write_synthetic_video(path.string(), spec);
    ASSERT_GE(vifi::test::placeholder_packets(path), 10) << "libxvid is meant to pack its B-frames here";
    // libxvid cannot flush the B-frames of a last packed run: the file holds fewer frames than
    // its header declares, as the FFmpeg CLI also counts.
    const int64_t n = VideoReader(path.string()).info().num_frames;
    ASSERT_EQ(static_cast<size_t>(n), ffprobe_frame_sizes(path).size());
    ASSERT_GE(n, 56);
    const auto truth = VideoReader(path.string()).read_frames_full_decode(all_frames(n));
    // The first clip of the file in a process decodes it whole (the index's times cannot be
    // trusted; they put some frames one off) and is exact wherever it lands.
    for (int64_t k = 0; k < n; ++k) {
      vifi::data::FrameNumberingCache::process().clear();
      VideoReader first(path.string());
      EXPECT_EQ(cv::norm(first.read_frames({k})[0], truth[static_cast<size_t>(k)], cv::NORM_INF), 0.0) << "first clip, frame " << k;
      EXPECT_GE(first.stats().frames_decoded, n) << "first clip, frame " << k;
    }

    int64_t dropped = 0;
    for (int64_t gap : {0, 1, 2}) {
      for (int64_t k = 0; k + gap < n; ++k) {
        const std::vector<int64_t> picks = gap == 0 ? std::vector<int64_t>{k} : std::vector<int64_t>{k, k + gap};
        vifi::data::VideoReaderOptions whole;
        whole.passed_frames = vifi::PassedFrames::decode;
        VideoReader reader(path.string()), undropped(path.string(), whole);
        const auto frames = reader.read_frames(picks);
        undropped.read_frames(picks);
        for (size_t i = 0; i < picks.size(); ++i) {
          const auto expected = static_cast<size_t>(picks[i]);
          EXPECT_EQ(vifi::data::read_frame_stamp(frames[i]), picks[i]) << "frame " << picks[i] << " of pick " << k;
          EXPECT_EQ(cv::norm(frames[i], truth[expected], cv::NORM_INF), 0.0) << "frame " << picks[i] << " of pick " << k;
        }
        EXPECT_EQ(reader.stats().timestamp_fallbacks, 0) << "pick " << k;
        EXPECT_EQ(reader.stats().learned_numbering_reads, 1) << "pick " << k;
        dropped += undropped.stats().frames_output - reader.stats().frames_output;
      }
    }
    // Most picks pass some B-frames: on average, more than one dropped frame a read.
    EXPECT_GT(dropped, 3 * n) << "passed B-frames were not dropped";
  }
}

// 9. A packed file's numbering, learned by one process's full decode, serves the next process
// from the store (DATA.NUMBERING_CACHE): its first clip seeks at once and is exact. A file
// rewritten since (new mtime) is learned again. "A new process" is the memory cache cleared;
// the next test crosses real process boundaries.
TEST(MessyVideos, NumberingLearnedByOneProcessServesTheNext) {
  require_ffmpeg_cli();
  if (!vifi::data::synthetic_codec_available("xvid")) GTEST_SKIP() << "no libxvid";
  const auto dir = vifi::test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.codec = "xvid";
  spec.num_frames = 60;
  spec.gop_size = 250;  // one keyframe, as HMDB-51's short clips
  spec.max_b_frames = 2;
  const fs::path path = dir / "packed.avi";
  vifi::data::write_synthetic_video(path.string(), spec);
  ASSERT_GE(vifi::test::placeholder_packets(path), 10);
  const int64_t n = VideoReader(path.string()).info().num_frames;
  const auto truth = VideoReader(path.string()).read_frames_full_decode(all_frames(n));
  vifi::data::VideoReaderOptions with_store;
  with_store.numbering_store = (dir / "store").string();
  auto& memory = vifi::data::FrameNumberingCache::process();

  memory.clear();
  {
    VideoReader learner(path.string(), with_store);
    learner.read_frames({20});
    EXPECT_EQ(learner.stats().counting_reads, 1);
    EXPECT_EQ(learner.stats().stored_numberings, 0);
  }
  ASSERT_TRUE(fs::exists(with_store.numbering_store));
  EXPECT_EQ(std::distance(fs::directory_iterator(with_store.numbering_store), fs::directory_iterator{}), 1);
  memory.clear();
  {
    VideoReader without(path.string());
    without.read_frames({30});
    EXPECT_EQ(without.stats().counting_reads, 1) << "without the store a new process decodes the file whole";
  }
  for (const std::vector<int64_t>& picks : {std::vector<int64_t>{5}, {17, 40}, {n - 1}, {0, n / 2}}) {
    memory.clear();
    VideoReader reader(path.string(), with_store);
    const auto frames = reader.read_frames(picks);
    for (size_t i = 0; i < picks.size(); ++i) {
      EXPECT_EQ(cv::norm(frames[i], truth[static_cast<size_t>(picks[i])], cv::NORM_INF), 0.0) << "frame " << picks[i];
    }
    EXPECT_EQ(reader.stats().stored_numberings, 1);
    EXPECT_EQ(reader.stats().counting_reads, 0);
    EXPECT_EQ(reader.stats().learned_numbering_reads, 1);
    EXPECT_EQ(reader.stats().timestamp_fallbacks, 0);
  }
  fs::last_write_time(path, fs::last_write_time(path) + std::chrono::hours(1));  // "rewritten"
  memory.clear();
  VideoReader rewritten(path.string(), with_store);
  EXPECT_EQ(cv::norm(rewritten.read_frames({33})[0], truth[33], cv::NORM_INF), 0.0);
  EXPECT_EQ(rewritten.stats().stored_numberings, 0);
  EXPECT_EQ(rewritten.stats().counting_reads, 1);
  EXPECT_EQ(std::distance(fs::directory_iterator(with_store.numbering_store), fs::directory_iterator{}), 1)
      << "the entry is replaced, not joined by another";
}

// 10. Across real processes: `vifi data check --decode` learns each packed file once and keeps
// the numbering; a later process (here `vifi bench loader`) numbers none of them by a full
// decode, while one given an empty store does all of them.
TEST(MessyVideos, DataCheckFillsTheStoreForTheRunsAfterIt) {
  require_ffmpeg_cli();
  if (!vifi::data::synthetic_codec_available("xvid")) GTEST_SKIP() << "no libxvid";
  const auto dir = vifi::test::scratch_dir();
  std::string list;
  fs::create_directories(dir / "videos");
  for (int i = 0; i < 3; ++i) {
    SyntheticVideoSpec spec;
    spec.codec = "xvid";
    spec.num_frames = 40 + 10 * i;
    spec.gop_size = 250;
    spec.max_b_frames = 2;
    spec.seed = static_cast<uint64_t>(i + 1);
    const std::string name = "videos/v" + std::to_string(i) + ".avi";
    vifi::data::write_synthetic_video((dir / name).string(), spec);
    list += name + " 0\n";
  }
  vifi::test::write_text(dir / "list.txt", list);
  const std::string store = (dir / "store").string(), empty = (dir / "empty").string();
  std::string out;
  ASSERT_EQ(vifi::test::run_vifi("data check --list " + (dir / "list.txt").string() + " --root " + dir.string() +
                                 " --decode --numbering-cache " + store, &out), 0) << out;
  EXPECT_EQ(std::distance(fs::directory_iterator(store), fs::directory_iterator{}), 3) << out;
  const std::string bench = "bench loader --videos " + (dir / "videos").string() + " --frames 8 --repeat 1 --numbering-cache ";
  ASSERT_EQ(vifi::test::run_vifi(bench + store, &out), 0) << out;
  EXPECT_NE(out.find("numberings read from --numbering-cache by 3 clip(s)"), std::string::npos) << out;
  EXPECT_EQ(out.find("numbered by a full decode"), std::string::npos) << out;
  ASSERT_EQ(vifi::test::run_vifi(bench + empty, &out), 0) << out;
  EXPECT_NE(out.find("numbered by a full decode on 3 file(s)"), std::string::npos) << out;
  EXPECT_EQ(out.find("numberings read from"), std::string::npos) << out;
}

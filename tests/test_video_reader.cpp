// data/video_reader: sparse decoding returns exactly the frames a full decode numbers i, on
// every codec/container the datasets use, and bad files fail with their path and reason.
// Frame identity is checked through the index stamp synthetic videos carry (data/synthetic),
// and against the full decode pixel for pixel.
#include "vifi/data/video_reader.h"

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/data/synthetic.h"
#include "vifi/data/transforms.h"

namespace fs = std::filesystem;
using vifi::data::read_frame_stamp;
using vifi::data::SyntheticVideoSpec;
using vifi::data::VideoError;
using vifi::data::VideoReader;

namespace {

// One codec/container case: the encoded file and how it was made.
struct Case {
  std::string name;
  SyntheticVideoSpec spec;
  std::string extension;
  std::string expected_codec;  // FFmpeg decoder name
};

std::vector<Case> all_cases() {
  auto make = [](std::string name, std::string codec, std::string ext, std::string decoder,
                 bool vfr, int b_frames, bool open_gop = false) {
    SyntheticVideoSpec spec;
    spec.codec = codec;
    spec.num_frames = 60;
    spec.label = 1;
    spec.seed = 7;
    spec.variable_frame_rate = vfr;
    spec.max_b_frames = b_frames;
    spec.open_gop = open_gop;
    return Case{std::move(name), spec, std::move(ext), std::move(decoder)};
  };
  return {make("mpeg4_avi", "mpeg4", ".avi", "mpeg4", false, -1),
          make("mpeg4_bframes_avi", "mpeg4", ".avi", "mpeg4", false, 2),
          make("h264_bframes_mp4", "h264", ".mp4", "h264", false, -1),
          make("h264_vfr_mp4", "h264", ".mp4", "h264", true, -1),
          make("h264_opengop_mp4", "h264", ".mp4", "h264", false, -1, true),
          make("h264_opengop_mkv", "h264", ".mkv", "h264", false, -1, true),
          make("vp9_webm", "vp9", ".webm", "vp9", false, -1),
          make("vp9_vfr_webm", "vp9", ".webm", "vp9", true, -1)};
}

// gtest's name for a case in test listings (instead of its bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// One directory per process: ctest runs every test as its own process, possibly in parallel.
// Removed again when the process exits.
fs::path suite_dir() {
  struct Scratch {
    fs::path dir = fs::temp_directory_path() / "vifi-tests" / ("video_reader." + std::to_string(::getpid()));
    Scratch() {
      fs::remove_all(dir);
      fs::create_directories(dir);
    }
    ~Scratch() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  };
  static const Scratch scratch;
  return scratch.dir;
}

// Writes each case's file once per test binary run.
std::string video_for(const Case& c) {
  fs::path path = suite_dir() / (c.name + c.extension);
  if (!fs::exists(path)) vifi::data::write_synthetic_video(path.string(), c.spec);
  return path.string();
}

std::vector<int64_t> stamps(const std::vector<cv::Mat>& frames) {
  std::vector<int64_t> out;
  for (const cv::Mat& f : frames) out.push_back(read_frame_stamp(f));
  return out;
}

std::vector<int64_t> all_indices(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

using vifi::test::expect_error;

class CodecTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!vifi::data::synthetic_codec_available(GetParam().spec.codec)) {
      GTEST_SKIP() << "encoder for " << GetParam().spec.codec << " not in this FFmpeg build";
    }
    path_ = video_for(GetParam());
  }
  std::string path_;
};

// Ground truth: a full decode yields num_frames frames, frame i stamped i.
TEST_P(CodecTest, InfoAndFullDecodeAgree) {
  VideoReader reader(path_);
  EXPECT_EQ(reader.info().num_frames, GetParam().spec.num_frames);
  EXPECT_EQ(reader.info().width, GetParam().spec.width);
  EXPECT_EQ(reader.info().height, GetParam().spec.height);
  EXPECT_EQ(reader.info().codec, GetParam().expected_codec);
  EXPECT_GT(reader.info().fps, 0.0);
  EXPECT_EQ(reader.path(), path_);
  int64_t n = reader.info().num_frames;
  auto frames = reader.read_frames_full_decode(all_indices(n));
  EXPECT_EQ(reader.stats().frames_output, n);
  EXPECT_EQ(reader.stats().frames_decoded, n);
  EXPECT_EQ(stamps(frames), all_indices(n));
  EXPECT_EQ(frames[0].type(), CV_8UC3);
}

TEST_P(CodecTest, SparseReadsMatchFullDecodeInCallerOrder) {
  VideoReader reader(path_);
  int64_t n = reader.info().num_frames;
  std::vector<cv::Mat> truth = VideoReader(path_).read_frames_full_decode(all_indices(n));
  std::mt19937 rng(42);
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  std::vector<std::vector<int64_t>> requests = {{0}, {n - 1}, {n - 1, 0}, {5, 5, 3, 5}, all_indices(n)};
  for (int r = 0; r < 12; ++r) {
    std::vector<int64_t> req(static_cast<size_t>(1 + r % 8));
    for (auto& i : req) i = pick(rng);
    requests.push_back(req);
  }
  for (const auto& req : requests) {
    auto frames = reader.read_frames(req);
    ASSERT_EQ(frames.size(), req.size());
    EXPECT_EQ(stamps(frames), req);
    for (size_t k = 0; k < req.size(); ++k) {
      EXPECT_EQ(cv::norm(frames[k], truth[static_cast<size_t>(req[k])], cv::NORM_INF), 0.0)
          << "frame " << req[k] << " differs from the full decode";
    }
  }
  EXPECT_EQ(reader.stats().timestamp_fallbacks, 0) << "sparse decoding fell back to counting";
  // Repeated indices share one image (a short video sampled many times holds each frame once).
  auto twice = reader.read_frames({3, 3});
  EXPECT_EQ(twice[0].data, twice[1].data);
  EXPECT_EQ(read_frame_stamp(twice[1]), 3);
}

TEST_P(CodecTest, DecoderThreadsOptionGivesTheSameFrames) {
  vifi::data::VideoReaderOptions options;
  options.decoder_threads = 3;
  VideoReader reader(path_, options);
  std::vector<int64_t> req = {40, 2, 17, 59};
  EXPECT_EQ(stamps(reader.read_frames(req)), req);
}

// The last frame of each GOP: reaching it passes every other frame of the GOP.
std::vector<int64_t> gop_ends(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 11; i < n; i += 12) v.push_back(i);
  return v;
}

double mean_abs_difference(const cv::Mat& a, const cv::Mat& b) {
  return cv::norm(a, b, cv::NORM_L1) / static_cast<double>(a.total() * a.channels());
}

// Skipping unreferenced passed frames is exact and, with B-frames, outputs fewer frames.
TEST_P(CodecTest, SkippingUnreferencedPassedFramesIsExact) {
  vifi::data::VideoReaderOptions whole;
  whole.passed_frames = vifi::PassedFrames::decode;
  VideoReader full(path_, whole), skipping(path_);
  const auto req = gop_ends(GetParam().spec.num_frames);
  const auto a = full.read_frames(req), b = skipping.read_frames(req);
  EXPECT_EQ(stamps(b), req);
  for (size_t k = 0; k < req.size(); ++k) EXPECT_EQ(cv::norm(a[k], b[k], cv::NORM_INF), 0.0) << "frame " << req[k];
  EXPECT_LE(skipping.stats().frames_output, full.stats().frames_output);
  const bool has_unreferenced = GetParam().spec.codec == "h264" || GetParam().spec.max_b_frames > 0;
  if (has_unreferenced) {
    EXPECT_LT(skipping.stats().frames_output, full.stats().frames_output);
  }
}

// Without the loop filter on passed frames the right frames still come out, a few grey levels
// off where the codec has one.
TEST_P(CodecTest, SkippingDeblockingStaysCloseToExact) {
  vifi::data::VideoReaderOptions fast;
  fast.passed_frames = vifi::PassedFrames::skip_deblocking;
  VideoReader exact(path_), approximate(path_, fast);
  const auto req = gop_ends(GetParam().spec.num_frames);
  const auto a = exact.read_frames(req), b = approximate.read_frames(req);
  EXPECT_EQ(stamps(b), req);
  for (size_t k = 0; k < req.size(); ++k) EXPECT_LT(mean_abs_difference(a[k], b[k]), 2.0) << "frame " << req[k];
}

// short_side scales in the conversion to the size the transforms' resize gives, close to
// OpenCV's bilinear resize of the full-size frame.
TEST_P(CodecTest, ShortSideGivesTheTransformsSize) {
  vifi::data::VideoReaderOptions scaled;
  scaled.short_side = 40;
  VideoReader full(path_), small(path_, scaled);
  const std::vector<int64_t> req = {0, 30};
  const auto a = full.read_frames(req), b = small.read_frames(req);
  const cv::Size expected = vifi::data::resize_short_side(a[0].size(), 40);
  EXPECT_EQ(stamps(b), req);
  for (size_t k = 0; k < req.size(); ++k) {
    ASSERT_EQ(b[k].size(), expected);
    cv::Mat resized;
    cv::resize(a[k], resized, expected, 0, 0, cv::INTER_LINEAR);
    EXPECT_LT(mean_abs_difference(resized, b[k]), 6.0) << "frame " << req[k];
  }
}

TEST_P(CodecTest, DecodeAllGivesEveryFrameInOrder) {
  VideoReader reader(path_);
  std::vector<int64_t> indices, seen;
  reader.decode_all([&](int64_t i, const cv::Mat& rgb) {
    indices.push_back(i);
    seen.push_back(read_frame_stamp(rgb));
  });
  EXPECT_EQ(indices, all_indices(GetParam().spec.num_frames));
  EXPECT_EQ(seen, indices);
}

INSTANTIATE_TEST_SUITE_P(Codecs, CodecTest, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return info.param.name; });

// A 300-frame H.264 file (GOP 12, B-frames): TSN's 8 segment middles need a few GOPs, not the
// whole file.
TEST(VideoReader, SparseReadDecodesFarFewerFramesThanTheFile) {
  SyntheticVideoSpec spec;
  spec.codec = vifi::data::synthetic_codec_available("h264") ? "h264" : "mpeg4";
  spec.num_frames = 300;
  fs::path path = suite_dir() / ("long" + vifi::data::synthetic_extension(spec.codec));
  vifi::data::write_synthetic_video(path.string(), spec);
  VideoReader reader(path.string());
  ASSERT_EQ(reader.info().num_frames, 300);
  std::vector<int64_t> req;
  for (int64_t i = 0; i < 8; ++i) req.push_back(static_cast<int64_t>(300.0 / 8 * i + 300.0 / 16));
  EXPECT_EQ(stamps(reader.read_frames(req)), req);
  EXPECT_LT(reader.stats().frames_decoded, 300 / 2);
  EXPECT_LE(reader.stats().seeks, 8);
  // Neighbouring frames come from decoding on, not from another seek.
  int64_t seeks = reader.stats().seeks;
  EXPECT_EQ(stamps(reader.read_frames({150, 151, 152})), (std::vector<int64_t>{150, 151, 152}));
  EXPECT_EQ(reader.stats().seeks, seeks + 1);
  EXPECT_EQ(stamps(reader.read_frames({153})), std::vector<int64_t>{153});
  EXPECT_EQ(reader.stats().seeks, seeks + 1);
}

TEST(VideoReader, MoveKeepsTheOpenFile) {
  Case c = all_cases().front();
  VideoReader a(video_for(c));
  VideoReader b(std::move(a));
  EXPECT_EQ(stamps(b.read_frames({7})), std::vector<int64_t>{7});
}

// ---- bad files --------------------------------------------------------------------------
TEST(VideoReaderErrors, MissingFile) {
  std::string path = (suite_dir() / "does_not_exist.mp4").string();
  expect_error<VideoError>([&] { VideoReader r(path); }, {path, "cannot open", "No such file"});
}

TEST(VideoReaderErrors, TextFileNamedMp4) {
  fs::path path = suite_dir() / "notes.mp4";
  std::ofstream(path) << "these are not the frames you are looking for\n";
  expect_error<VideoError>([&] { VideoReader r(path.string()); },
                           {path.string(), "cannot open", "Invalid data"});
}

// A WAV file: readable by FFmpeg, but holds no video.
TEST(VideoReaderErrors, AudioOnlyFile) {
  fs::path path = suite_dir() / "tone.wav";
  std::ofstream out(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t samples = 8000;
  out << "RIFF";
  u32(36 + samples * 2);
  out << "WAVEfmt ";
  u32(16), u16(1), u16(1), u32(8000), u32(16000), u16(2), u16(16);
  out << "data";
  u32(samples * 2);
  for (uint32_t i = 0; i < samples; ++i) u16(static_cast<uint16_t>((i * 97) % 2000));
  out.close();
  expect_error<VideoError>([&] { VideoReader r(path.string()); }, {path.string(), "no video stream"});
}

TEST(VideoReaderErrors, ZeroFrameVideo) {
  SyntheticVideoSpec spec;
  spec.codec = "mpeg4";
  spec.num_frames = 0;
  for (std::string ext : {".avi", ".mkv"}) {
    fs::path path = suite_dir() / ("empty" + ext);
    vifi::data::write_synthetic_video(path.string(), spec);
    expect_error<VideoError>([&] { VideoReader r(path.string()); }, {path.string(), "empty"});
  }
}

// A good file cut in half, for each container: the error names the file; whichever step
// notices (open, index, decode), it happens before a wrong frame can be returned.
TEST(VideoReaderErrors, TruncatedFiles) {
  for (const Case& c : all_cases()) {
    if (!vifi::data::synthetic_codec_available(c.spec.codec)) continue;
    fs::path whole = video_for(c);
    fs::path cut = suite_dir() / ("cut_" + c.name + c.extension);
    fs::copy_file(whole, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, fs::file_size(whole) / 2);
    SCOPED_TRACE(c.name);
    expect_error<VideoError>(
        [&] {
          VideoReader r(cut.string());
          r.read_frames({r.info().num_frames - 1});
        },
        {cut.string(), "truncated"});
  }
}

TEST(VideoReaderErrors, IndexOutOfRange) {
  Case c = all_cases().front();
  VideoReader reader(video_for(c));
  expect_error<std::out_of_range>([&] { reader.read_frames({0, 60}); },
                                  {reader.path(), "frame index 60 out of range [0, 60)"});
  expect_error<std::out_of_range>([&] { reader.read_frames({-1}); }, {"frame index -1"});
  expect_error<std::out_of_range>([&] { reader.read_frames_full_decode({60}); }, {"60"});
}

// `vifi bench loader` as a user runs it: both modes on the same files, sparse decoding fewer.
TEST(BenchLoaderDecode, ComparesSparseWithFullDecode) {
  const auto dir = vifi::test::scratch_dir();
  SyntheticVideoSpec spec;
  spec.num_frames = 48;
  for (int i = 0; i < 2; ++i) {
    spec.seed = static_cast<uint64_t>(i);
    vifi::data::write_synthetic_video((dir / ("v" + std::to_string(i) + ".avi")).string(), spec);
  }
  std::string out;
  ASSERT_EQ(vifi::test::run_vifi("bench loader --videos " + dir.string() + " --frames 4 --repeat 1", &out), 0) << out;
  EXPECT_NE(out.find("2 videos"), std::string::npos) << out;
  EXPECT_NE(out.find("sparse"), std::string::npos) << out;
  EXPECT_NE(out.find("48.0"), std::string::npos) << "full decode decodes all 48 frames\n" << out;
}

}  // namespace

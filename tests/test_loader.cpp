// data/loader (with data/sharding, data/video_clip, data/check) on small synthetic videos:
// determinism across thread counts, shard coverage, bad data in training and evaluation, clean
// shutdown mid-epoch, and `vifi data check`.
#include "vifi/data/loader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "../src/data/batch_memory.h"
#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/data/check.h"
#include "vifi/data/sampling.h"
#include "vifi/data/sharding.h"
#include "vifi/data/synthetic.h"
#include "vifi/data/video_reader.h"
#include "vifi/util/memory.h"

namespace vifi::data {
namespace {

namespace fs = std::filesystem;

constexpr int kNumVideos = 7;  // odd on purpose: shards of 2 and 3 ranks do not divide it

// Seven 48-frame 96x64 MPEG-4 videos (3 classes), a missing file, a corrupt file, a file
// without frames and a truncated file, written once for the whole suite.
class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / "vifi-tests" / ("LoaderTest." + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    for (int i = 0; i < kNumVideos; ++i) {
      SyntheticVideoSpec spec;
      spec.label = i % 3;
      spec.num_classes = 3;
      spec.num_frames = 48;
      spec.seed = static_cast<uint64_t>(i);
      write_synthetic_video((*dir_ / ("v" + std::to_string(i) + ".avi")).string(), spec);
    }
    std::ofstream corrupt(*dir_ / "corrupt.avi", std::ios::binary);
    for (int i = 0; i < 4096; ++i) corrupt.put(static_cast<char>((i * 7919 + 13) % 251));
    SyntheticVideoSpec empty;
    empty.num_frames = 0;
    write_synthetic_video((*dir_ / "empty.avi").string(), empty);
    fs::copy_file(*dir_ / "v0.avi", *dir_ / "truncated.avi");
    fs::resize_file(*dir_ / "truncated.avi", fs::file_size(*dir_ / "v0.avi") * 6 / 10);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  static std::vector<VideoRecord> good_records() {
    std::string list;
    for (int i = 0; i < kNumVideos; ++i) list += "v" + std::to_string(i) + ".avi " + std::to_string(i % 3) + "\n";
    return parse_annotation_list(list, "good.txt", dir_->string());
  }

  // The good videos with bad ones at indices 2 (missing), 5 (corrupt), 9 (no frames) and 10
  // (truncated): 11 videos, 4 bad.
  static std::vector<VideoRecord> mixed_records() {
    auto records = good_records();
    records.insert(records.begin() + 2, {(*dir_ / "missing.avi").string(), "missing.avi", 1});
    records.insert(records.begin() + 5, {(*dir_ / "corrupt.avi").string(), "corrupt.avi", 2});
    records.push_back({(*dir_ / "empty.avi").string(), "empty.avi", 0});
    records.push_back({(*dir_ / "truncated.avi").string(), "truncated.avi", 0});
    return records;
  }

  static ClipConfig clip_config() {
    ClipConfig c;
    c.num_frames = 4;
    c.augment.input_size = 32;
    c.eval.input_size = 32;
    return c;
  }

  static LoaderConfig loader_config(int workers) {
    LoaderConfig c;
    c.batch_size = 3;
    c.num_workers = workers;
    c.prefetch_batches = 2;
    c.seed = 11;
    return c;
  }

  static std::vector<ClipBatch> run_epoch(VideoLoader& loader, int64_t epoch) {
    loader.start_epoch(epoch);
    std::vector<ClipBatch> out;
    while (auto b = loader.next()) out.push_back(std::move(*b));
    return out;
  }

  static fs::path* dir_;
};

fs::path* LoaderTest::dir_ = nullptr;

void expect_same_batches(const std::vector<ClipBatch>& a, const std::vector<ClipBatch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].index, b[i].index) << "batch " << i;
    EXPECT_TRUE(torch::equal(a[i].label, b[i].label)) << "batch " << i;
    EXPECT_TRUE(torch::equal(a[i].video, b[i].video)) << "batch " << i;
  }
}

TEST_F(LoaderTest, TrainBatchesHaveTheContractShapes) {
  VideoLoader loader(good_records(), clip_config(), loader_config(2), LoaderMode::train);
  EXPECT_EQ(loader.shard_size(), 7);
  EXPECT_EQ(loader.num_batches(), 3);
  const auto batches = run_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].video.sizes(), (std::vector<int64_t>{3, 4, 3, 32, 32}));
  EXPECT_EQ(batches[0].video.dtype(), torch::kFloat32);
  EXPECT_EQ(batches[0].label.dtype(), torch::kInt64);
  EXPECT_EQ(batches[2].video.size(0), 1);  // 7 = 3 + 3 + 1
  std::vector<int64_t> seen;
  for (const auto& b : batches) {
    for (size_t r = 0; r < b.index.size(); ++r) {
      seen.push_back(b.index[r]);
      EXPECT_EQ(b.label[static_cast<int64_t>(r)].item<int64_t>(), b.index[r] % 3);
    }
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST_F(LoaderTest, SameSeedSameBatchesWithOneOrThreeWorkers) {
  VideoLoader one(good_records(), clip_config(), loader_config(1), LoaderMode::train);
  VideoLoader three(good_records(), clip_config(), loader_config(3), LoaderMode::train);
  const auto a0 = run_epoch(one, 0);
  const auto b0 = run_epoch(three, 0);
  expect_same_batches(a0, b0);
  const auto a1 = run_epoch(one, 1);
  expect_same_batches(a1, run_epoch(three, 1));
  // A new epoch reshuffles and redraws.
  bool differs = false;
  for (size_t i = 0; i < a0.size(); ++i) differs |= a0[i].index != a1[i].index;
  EXPECT_TRUE(differs);
  // samples_per_epoch (drop_last) cuts the epoch to its first clips: 6 of 7 -> two full batches.
  LoaderConfig cfg = loader_config(2);
  cfg.samples_per_epoch = 6;
  VideoLoader dropping(good_records(), clip_config(), cfg, LoaderMode::train);
  EXPECT_EQ(dropping.num_batches(), 2);
  const auto dropped = run_epoch(dropping, 0);
  ASSERT_EQ(dropped.size(), 2u);
  for (size_t b = 0; b < dropped.size(); ++b) {  // the same clips as the uncut epoch's first ones
    EXPECT_EQ(dropped[b].index, a0[b].index);
    EXPECT_EQ(dropping.batch_clips(static_cast<int64_t>(b)), 3);
  }
  cfg.samples_per_epoch = 5;  // 3 + 2: the short batch is the last
  VideoLoader five(good_records(), clip_config(), cfg, LoaderMode::train);
  EXPECT_EQ(five.num_batches(), 2);
  EXPECT_EQ(five.batch_clips(1), 2);
  EXPECT_EQ(run_epoch(five, 0).back().index.size(), 2u);
  cfg.samples_per_epoch = 0;  // the whole shard: 3 + 3 + 1
  VideoLoader whole(good_records(), clip_config(), cfg, LoaderMode::train);
  EXPECT_EQ(whole.batch_clips(2), 1);
}

TEST_F(LoaderTest, EvalClipIsTheTestPipelineOnTheSampledFrames) {
  const VideoRecord record = good_records()[3];
  ClipConfig cfg = clip_config();
  // By default frames are decoded at their stored size and resized by the transforms, the
  // reference's order (DATA.SCALE_FRAMES: after_decode) ...
  const auto full_size = VideoReader(record.path).read_frames(sample_test_indices(48, 4));
  EXPECT_TRUE(torch::equal(load_eval_clip(record, cfg)[0], eval_transform(full_size, cfg.eval)[0]));
  // ... or come out of the decoder at the short side the transforms resize to (in_conversion),
  // which are other pixels.
  cfg.decode.scaling = FrameScaling::in_conversion;
  VideoReader reader(record.path, eval_reader_options(cfg));
  const auto frames = reader.read_frames(sample_test_indices(48, 4));
  EXPECT_TRUE(torch::equal(load_eval_clip(record, cfg)[0], eval_transform(frames, cfg.eval)[0]));
  EXPECT_FALSE(torch::equal(load_eval_clip(record, cfg)[0], eval_transform(full_size, cfg.eval)[0]));
  // Views: 2 clips x 3 crops, crop-major.
  cfg.num_clips = 2;
  cfg.eval.num_crops = 3;
  const torch::Tensor views = load_eval_clip(record, cfg);
  ASSERT_EQ(views.sizes(), (std::vector<int64_t>{6, 4, 3, 32, 32}));
  const auto clip1 = VideoReader(record.path, eval_reader_options(cfg)).read_frames(sample_view_indices(48, 4, 1, 2));
  const torch::Tensor crops1 = eval_transform(clip1, cfg.eval);  // [3,T,3,S,S]
  EXPECT_TRUE(torch::equal(views[1], crops1[0]));                // crop 0, clip 1
  EXPECT_TRUE(torch::equal(views[5], crops1[2]));                // crop 2, clip 1
}

// By default training reads skip the loop filter on passed frames (DATA.PASSED_FRAMES:
// skip_deblocking), evaluation reads stay a full decode's (TEST.PASSED_FRAMES: skip_unreferenced):
// on an H.264 file with one keyframe, as Kinetics' are, the training clip is the training
// pipeline on frames a few grey levels from the exact ones, and the evaluation clip is exact.
TEST_F(LoaderTest, TrainingReadsSkipPassedDeblockingAndEvaluationReadsAreExact) {
  if (!synthetic_codec_available("h264")) GTEST_SKIP() << "no H.264 encoder in this FFmpeg";
  SyntheticVideoSpec spec;
  spec.codec = "h264";
  spec.num_frames = 120;
  spec.gop_size = 250;  // x264's default keyframe interval: one keyframe
  spec.x264_preset = "medium";
  spec.x264_crf = 23;
  spec.noise = 30;
  const VideoRecord record{(*dir_ / "long_gop.mp4").string(), "long_gop.mp4", 0};
  write_synthetic_video(record.path, spec);
  ClipConfig cfg = clip_config();
  cfg.augment.color_jitter = 0.0;  // the crops and flips still draw from the augment stream
  VideoReaderOptions whole;
  whole.passed_frames = PassedFrames::decode;

  // Training: the sampler's frames, decoded without the passed frames' loop filter.
  const auto indices = [] {
    Rng sampling = Rng::keyed(3, 0, 0, RngStream::sampling);
    return sample_train_indices(120, 4, sampling);
  }();
  const auto exact = VideoReader(record.path, whole).read_frames(indices);
  VideoReaderOptions approximate_options;
  approximate_options.passed_frames = PassedFrames::skip_deblocking;
  const auto approximate = VideoReader(record.path, approximate_options).read_frames(indices);
  const auto train_clip = [&](const ClipConfig& c) {
    Rng sampling = Rng::keyed(3, 0, 0, RngStream::sampling), augment = Rng::keyed(3, 0, 0, RngStream::augment);
    return load_train_clip(record, c, sampling, augment);
  };
  const auto pipeline_on = [&](const std::vector<cv::Mat>& frames) {
    Rng augment = Rng::keyed(3, 0, 0, RngStream::augment);
    return train_transform(frames, augment, cfg.augment);
  };
  const torch::Tensor by_default = train_clip(cfg);
  EXPECT_TRUE(torch::equal(by_default, pipeline_on(approximate)));
  EXPECT_FALSE(torch::equal(by_default, pipeline_on(exact)));  // the loop filter was skipped ...
  for (size_t k = 0; k < indices.size(); ++k) {
    const double mean_abs = cv::norm(exact[k], approximate[k], cv::NORM_L1) / static_cast<double>(exact[k].total() * 3);
    EXPECT_EQ(read_frame_stamp(approximate[k]), indices[k]);  // ... the right frames ...
    EXPECT_LT(mean_abs, 4.0) << "frame " << indices[k];      // ... a few grey levels off
  }
  ClipConfig exact_training = cfg;
  exact_training.decode.train_passed_frames = PassedFrames::skip_unreferenced;
  EXPECT_TRUE(torch::equal(train_clip(exact_training), pipeline_on(exact)));

  // Evaluation: the full decode's frames, whatever training reads do.
  const auto test_indices = sample_test_indices(120, 4);
  const auto exact_test = VideoReader(record.path, whole).read_frames(test_indices);
  EXPECT_TRUE(torch::equal(load_eval_clip(record, cfg)[0], eval_transform(exact_test, cfg.eval)[0]));
  ClipConfig approximate_eval = cfg;
  approximate_eval.decode.eval_passed_frames = PassedFrames::skip_deblocking;
  EXPECT_FALSE(torch::equal(load_eval_clip(record, approximate_eval)[0], eval_transform(exact_test, cfg.eval)[0]));
}

TEST_F(LoaderTest, EvalWithViewsStacksAViewAxis) {
  ClipConfig cfg = clip_config();
  cfg.num_clips = 2;
  cfg.eval.num_crops = 3;
  VideoLoader loader(good_records(), cfg, loader_config(2), LoaderMode::eval);
  const auto batches = run_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].video.sizes(), (std::vector<int64_t>{3, 6, 4, 3, 32, 32}));
  EXPECT_EQ(batches[2].video.sizes(), (std::vector<int64_t>{1, 6, 4, 3, 32, 32}));
  EXPECT_EQ(batches[0].index, (std::vector<int64_t>{0, 1, 2}));  // eval keeps list order
}

// A batch set that cannot fit in memory ends with a line naming it, before anything is
// allocated (DATA.NUM_FRAMES 100000 on the demo config was killed by the kernel's OOM killer).
TEST(BatchesFit, TheLoadersBatchesAreCheckedAgainstAvailableMemory) {
  // 6 batches of [8,8,3,224,224] float32: 231,211,008 bytes = 220.5 MiB = 0.215 GiB.
  const std::vector<int64_t> sample{8, 3, 224, 224};
  EXPECT_NO_THROW(check_batches_fit(sample, 8, 6, 220.5));  // just enough
  EXPECT_NO_THROW(check_batches_fit(sample, 8, 6, 0.0));    // nothing known: no check
  test::expect_error<std::runtime_error>([&] { check_batches_fit(sample, 8, 6, 220.0); },
                                         {"its 6 batches of [8,8,3,224,224] float32 need 0.215 GiB",
                                          "has 0.215 GiB available", "DATA.NUM_FRAMES"});
}

TEST_F(LoaderTest, ALoaderWhoseBatchesCannotFitRefusesToStart) {
  const double available = util::available_memory_mib();
  if (available <= 0) GTEST_SKIP() << "no MemAvailable to compare with";
  auto clip = clip_config();
  clip.num_frames = 1000000;  // 8 clips x 1e6 frames x 3x32x32 float32 x 6 batches: 590 GB
  for (const auto mode : {LoaderMode::train, LoaderMode::eval})
    test::expect_error<std::runtime_error>([&] { VideoLoader(good_records(), clip, loader_config(2), mode); },
                                           {",1000000,3,32,32] float32 need ", "GiB available"});
  clip.num_frames = 8;
  EXPECT_NO_THROW(VideoLoader(good_records(), clip, loader_config(2), LoaderMode::train));
}

TEST(Sharding, TrainShardsAreEqualAndCoverEverySample) {
  for (int64_t n : {1, 7, 10, 11}) {
    for (int world : {1, 2, 3}) {
      std::vector<int64_t> all;
      for (int rank = 0; rank < world; ++rank) {
        const auto shard = train_shard(n, rank, world, true, 3, 2);
        EXPECT_EQ(static_cast<int64_t>(shard.size()), (n + world - 1) / world) << n << " " << world;
        all.insert(all.end(), shard.begin(), shard.end());
      }
      const std::set<int64_t> distinct(all.begin(), all.end());
      EXPECT_EQ(static_cast<int64_t>(distinct.size()), n) << n << " " << world;
      EXPECT_EQ(static_cast<int64_t>(all.size()) - n, (world - n % world) % world);  // padding
    }
  }
  EXPECT_EQ(train_shard(5, 0, 1, false, 0, 0), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  // Unshuffled, 3 ranks, n = 7: padded order 0..6,0,1 -> rank 1 gets positions 1, 4, 7.
  EXPECT_EQ(train_shard(7, 1, 3, false, 0, 0), (std::vector<int64_t>{1, 4, 0}));
  EXPECT_NE(epoch_permutation(50, 1, 0), epoch_permutation(50, 1, 1));
  EXPECT_EQ(epoch_permutation(50, 1, 4), epoch_permutation(50, 1, 4));
}

TEST(Sharding, EvalShardsVisitEverySampleOnce) {
  for (int64_t n : {0, 1, 7, 10}) {
    for (int world : {1, 2, 3}) {
      std::vector<int64_t> all;
      for (int rank = 0; rank < world; ++rank) {
        const auto shard = eval_shard(n, rank, world);
        all.insert(all.end(), shard.begin(), shard.end());
      }
      std::sort(all.begin(), all.end());
      std::vector<int64_t> expected(static_cast<size_t>(n));
      std::iota(expected.begin(), expected.end(), 0);
      EXPECT_EQ(all, expected) << n << " " << world;
    }
  }
  EXPECT_THROW(eval_shard(5, 3, 3), std::invalid_argument);
}

TEST_F(LoaderTest, ShardedLoadersCoverTheDataset) {
  for (int world : {1, 2, 3}) {
    std::vector<int64_t> eval_seen;
    std::set<int64_t> train_lengths;
    for (int rank = 0; rank < world; ++rank) {
      LoaderConfig cfg = loader_config(2);
      cfg.rank = rank;
      cfg.world_size = world;
      VideoLoader eval(good_records(), clip_config(), cfg, LoaderMode::eval);
      for (const auto& b : run_epoch(eval, 0)) eval_seen.insert(eval_seen.end(), b.index.begin(), b.index.end());
      VideoLoader train(good_records(), clip_config(), cfg, LoaderMode::train);
      int64_t rows = 0;
      for (const auto& b : run_epoch(train, 0)) rows += b.video.size(0);
      train_lengths.insert(rows);
    }
    std::sort(eval_seen.begin(), eval_seen.end());
    EXPECT_EQ(eval_seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6})) << "world " << world;
    EXPECT_EQ(train_lengths.size(), 1u) << "world " << world;
    EXPECT_EQ(*train_lengths.begin(), (kNumVideos + world - 1) / world);
  }
}

TEST_F(LoaderTest, TrainingReplacesBadVideosDeterministicallyAndCountsThem) {
  LoaderConfig cfg = loader_config(1);
  cfg.max_bad_fraction = 0.5;
  VideoLoader one(mixed_records(), clip_config(), cfg, LoaderMode::train);
  cfg.num_workers = 3;
  VideoLoader three(mixed_records(), clip_config(), cfg, LoaderMode::train);
  const auto a = run_epoch(one, 0);
  const auto b = run_epoch(three, 0);
  expect_same_batches(a, b);
  int64_t rows = 0;
  for (const auto& batch : a) {
    rows += batch.video.size(0);
    EXPECT_TRUE(batch.failed.empty());
    for (int64_t i : batch.index) {
      EXPECT_NE(i, 2);
      EXPECT_NE(i, 5);
      EXPECT_NE(i, 9);
      EXPECT_NE(i, 10);
    }
  }
  EXPECT_EQ(rows, 11);  // every slot filled
  EXPECT_EQ(one.bad_data().bad_videos, 4);
  EXPECT_EQ(one.bad_data().replaced_samples, 4);
  run_epoch(one, 1);  // known bad files are replaced again without being reopened
  EXPECT_EQ(one.bad_data().bad_videos, 4);
  EXPECT_EQ(one.bad_data().replaced_samples, 8);
}

// The limit is max(floor(max_bad_fraction x videos), min_bad_limit): the floor keeps a small list
// from dying on its first bad file, the fraction scales it to big ones.
TEST_F(LoaderTest, TrainingToleratesTheFloorOfBadVideosAndStopsPastTheLimit) {
  // 17 good samples (the 7 videos repeated) and 1 missing: 1 % of 18 allows none, the default
  // floor of 10 lets the run through.
  std::vector<VideoRecord> eighteen;
  for (int i = 0; i < 17; ++i) eighteen.push_back(good_records()[static_cast<size_t>(i % kNumVideos)]);
  eighteen.push_back({(*dir_ / "missing.avi").string(), "missing.avi", 1});
  const LoaderConfig defaults = loader_config(2);
  ASSERT_DOUBLE_EQ(defaults.max_bad_fraction, 0.01);
  ASSERT_EQ(defaults.min_bad_limit, 10);
  VideoLoader small(eighteen, clip_config(), defaults, LoaderMode::train);
  int64_t rows = 0;
  for (const auto& batch : run_epoch(small, 0)) rows += batch.video.size(0);
  EXPECT_EQ(rows, 18);
  EXPECT_EQ(small.bad_data().bad_videos, 1);

  // 4 bad of 11 with fraction 0.2 (floor(2.2) = 2): a floor of 4 tolerates them, 3 does not.
  LoaderConfig cfg = loader_config(2);
  cfg.max_bad_fraction = 0.2;
  cfg.min_bad_limit = 4;
  VideoLoader tolerant(mixed_records(), clip_config(), cfg, LoaderMode::train);
  EXPECT_NO_THROW(run_epoch(tolerant, 0));
  cfg.min_bad_limit = 3;
  VideoLoader strict(mixed_records(), clip_config(), cfg, LoaderMode::train);
  try {
    run_epoch(strict, 0);
    FAIL() << "expected the loader to stop";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    for (const char* part : {"too many bad training videos: 4 of 11", "limit 3", "DATA.MAX_BAD_FRACTION 0.2",
                             "DATA.MIN_BAD_LIMIT 3"})
      EXPECT_NE(what.find(part), std::string::npos) << part << "\n" << what;
  }
}

TEST_F(LoaderTest, EvaluationReportsBadVideosInTheBatch) {
  const auto records = mixed_records();
  VideoLoader loader(records, clip_config(), loader_config(3), LoaderMode::eval);
  std::vector<int64_t> decoded;
  std::vector<FailedVideo> failed;
  std::vector<size_t> batch_sizes;
  for (const auto& b : run_epoch(loader, 0)) {
    EXPECT_EQ(b.video.size(0), static_cast<int64_t>(b.index.size()));
    EXPECT_EQ(b.label.size(0), static_cast<int64_t>(b.index.size()));
    // Workers write clips straight into their batch's rows; the failed rows are left out and
    // every kept row is its own video's clip.
    for (size_t row = 0; row < b.index.size(); ++row) {
      EXPECT_TRUE(torch::equal(b.video[static_cast<int64_t>(row)],
                               load_eval_clip(records[static_cast<size_t>(b.index[row])], clip_config())))
          << "video " << b.index[row];
    }
    batch_sizes.push_back(b.index.size() + b.failed.size());
    decoded.insert(decoded.end(), b.index.begin(), b.index.end());
    failed.insert(failed.end(), b.failed.begin(), b.failed.end());
  }
  EXPECT_EQ(batch_sizes, (std::vector<size_t>{3, 3, 3, 2}));  // no drop_last, the last batch is short
  EXPECT_EQ(decoded, (std::vector<int64_t>{0, 1, 3, 4, 6, 7, 8}));
  ASSERT_EQ(failed.size(), 4u);
  EXPECT_EQ(failed[0].index, 2);
  EXPECT_EQ(failed[1].index, 5);
  EXPECT_EQ(failed[2].index, 9);
  EXPECT_EQ(failed[3].index, 10);
  EXPECT_NE(failed[3].reason.find("truncated"), std::string::npos) << failed[3].reason;
  for (const auto& f : failed) {
    EXPECT_EQ(f.path, records[static_cast<size_t>(f.index)].path);
    EXPECT_NE(f.reason.find(f.path), std::string::npos) << f.reason;
  }
  EXPECT_EQ(loader.bad_data().failed_samples, 4);
}

TEST_F(LoaderTest, DestroyingMidEpochDoesNotHang) {
  const auto start = std::chrono::steady_clock::now();
  {
    LoaderConfig cfg = loader_config(3);
    cfg.batch_size = 1;
    VideoLoader loader(good_records(), clip_config(), cfg, LoaderMode::train);
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
  }  // workers are mid-prefetch here
  { VideoLoader never_started(good_records(), clip_config(), loader_config(2), LoaderMode::eval); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // Abandoning an epoch and restarting gives the same batches as a fresh loader.
  VideoLoader restarted(good_records(), clip_config(), loader_config(3), LoaderMode::train);
  restarted.start_epoch(0);
  restarted.next();
  restarted.start_epoch(4);
  std::vector<ClipBatch> after;
  while (auto b = restarted.next()) after.push_back(std::move(*b));
  VideoLoader fresh(good_records(), clip_config(), loader_config(1), LoaderMode::train);
  expect_same_batches(after, run_epoch(fresh, 4));
}

TEST_F(LoaderTest, ResumingMidEpochGivesTheRemainingBatches) {
  VideoLoader full(good_records(), clip_config(), loader_config(2), LoaderMode::train);
  const auto all = run_epoch(full, 2);
  VideoLoader resumed(good_records(), clip_config(), loader_config(3), LoaderMode::train);
  resumed.start_epoch(2, 1);
  std::vector<ClipBatch> rest;
  while (auto b = resumed.next()) rest.push_back(std::move(*b));
  expect_same_batches(rest, std::vector<ClipBatch>(all.begin() + 1, all.end()));
  resumed.start_epoch(2, resumed.num_batches());
  EXPECT_FALSE(resumed.next().has_value());
  EXPECT_THROW(resumed.start_epoch(2, resumed.num_batches() + 1), std::invalid_argument);
}

TEST_F(LoaderTest, RejectsBadConfigsByName) {
  LoaderConfig cfg = loader_config(2);
  cfg.rank = 3;
  cfg.world_size = 3;
  try {
    VideoLoader loader(good_records(), clip_config(), cfg, LoaderMode::train);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rank 3 / world_size 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(VideoLoader({}, clip_config(), loader_config(1), LoaderMode::train), std::invalid_argument);
  VideoLoader unstarted(good_records(), clip_config(), loader_config(1), LoaderMode::eval);
  EXPECT_THROW(unstarted.next(), std::logic_error);
}

TEST_F(LoaderTest, CheckListsEveryBadVideoWithItsReason) {
  const auto records = mixed_records();
  CheckOptions options;
  options.num_threads = 3;
  options.full_decode = true;
  const CheckReport report = check_videos(records, options);
  EXPECT_EQ(report.num_videos, 11);
  EXPECT_EQ(report.num_ok, 7);
  EXPECT_EQ(report.total_frames, 7 * 48);
  ASSERT_EQ(report.problems.size(), 4u);
  EXPECT_EQ(report.problems[0].index, 2);
  EXPECT_EQ(report.problems[1].index, 5);
  EXPECT_EQ(report.problems[2].index, 9);
  EXPECT_EQ(report.problems[3].index, 10);
  for (const auto& p : report.problems) EXPECT_FALSE(p.reason.empty());
  // With 2 classes label 2 is out of range: the good videos are labelled i % 3, so v2 and v5.
  options.num_classes = 2;
  const CheckReport labels = check_videos(good_records(), options);
  EXPECT_EQ(labels.num_ok, kNumVideos - 2);
  ASSERT_EQ(labels.problems.size(), 2u);
  EXPECT_EQ(labels.problems[0].index, 2);
  EXPECT_EQ(labels.problems[1].index, 5);
  for (const auto& p : labels.problems) EXPECT_NE(p.reason.find("label 2"), std::string::npos) << p.reason;
}

TEST_F(LoaderTest, CheckCommandExitCodeAndReport) {
  const auto dir = test::scratch_dir();
  write_annotation_list((dir / "good.txt").string(), good_records());
  write_annotation_list((dir / "mixed.txt").string(), mixed_records());
  std::string log;
  EXPECT_EQ(test::run_vifi("data check --list " + (dir / "good.txt").string() + " --root " + dir_->string(), &log), 0)
      << log;
  EXPECT_NE(log.find("checked 7 videos: 7 ok, 0 bad"), std::string::npos) << log;
  EXPECT_EQ(
      test::run_vifi("data check --list " + (dir / "mixed.txt").string() + " --root " + dir_->string() + " --threads 2",
                     &log),
      1)
      << log;
  EXPECT_NE(log.find("BAD " + (*dir_ / "missing.avi").string()), std::string::npos) << log;
  EXPECT_NE(log.find("BAD " + (*dir_ / "corrupt.avi").string()), std::string::npos) << log;
  EXPECT_NE(log.find("BAD " + (*dir_ / "empty.avi").string()), std::string::npos) << log;
  EXPECT_NE(log.find("BAD " + (*dir_ / "truncated.avi").string()), std::string::npos) << log;
  EXPECT_NE(log.find("11 videos: 7 ok, 4 bad"), std::string::npos) << log;
}

}  // namespace
}  // namespace vifi::data

// Batch memory comes back when the batch dies and the next batch of that size reuses it (its
// pages still mapped); a pool never keeps more blocks than it was sized for, and a tensor may
// outlive the loader that made it.
TEST(BatchMemory, ReusesTheBlockOfADeadBatch) {
  auto memory = vifi::data::detail::BatchMemory::create(1);
  void* first = nullptr;
  {
    torch::Tensor a = memory->empty_float({2, 3, 5});
    first = a.data_ptr();
    a.fill_(1.5F);
    EXPECT_EQ(a.sum().item<float>(), 45.0F);
  }
  torch::Tensor b = memory->empty_float({3, 2, 5});  // same bytes: the same block
  EXPECT_EQ(b.data_ptr(), first);
  torch::Tensor c = memory->empty_float({3, 2, 5});  // the block is taken: a new one
  EXPECT_NE(c.data_ptr(), first);
  EXPECT_NE(memory->empty_float({7}).data_ptr(), first);  // another size
  memory.reset();
  c.fill_(2.0F);  // the pool lives on in the tensors' deleters
  EXPECT_EQ(c.sum().item<float>(), 60.0F);
}

// A block of a huge page or more starts on a huge page (so the kernel can back it with 2 MiB
// pages) and is sized in whole huge pages: shapes that round to the same size share blocks.
TEST(BatchMemory, LargeBlocksAreWholeHugePages) {
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  auto memory = vifi::data::detail::BatchMemory::create(2);
  void* first = nullptr;
  {
    torch::Tensor a = memory->empty_float({600000});  // 2.4 MB -> one 4 MiB block
    first = a.data_ptr();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % kHugePage, 0U);
    a.fill_(1.0F);
    EXPECT_EQ(a.sum().item<double>(), 600000.0);
  }
  torch::Tensor b = memory->empty_float({3, 200001});  // 2.4 MB too: the same block
  EXPECT_EQ(b.data_ptr(), first);
  // Far below a huge page: cache-line aligned, not huge-page aligned (two such blocks both on a
  // 2 MiB boundary by chance would be one chance in a million).
  torch::Tensor small1 = memory->empty_float({4, 4}), small2 = memory->empty_float({4, 4});
  for (const torch::Tensor& t : {small1, small2}) EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64, 0U);
  EXPECT_FALSE(reinterpret_cast<uintptr_t>(small1.data_ptr()) % kHugePage == 0 &&
               reinterpret_cast<uintptr_t>(small2.data_ptr()) % kHugePage == 0);
}

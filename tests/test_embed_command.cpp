// `vifi embed` end to end: the binary reproduces the reference's features and logits from the
// fixture archive, and reports bad input by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "support/test_paths.h"
#include "vifi/data/dataset.h"
#include "vifi/data/synthetic.h"
#include "vifi/util/npy.h"

namespace vifi {
namespace {

using test::fixture;

void expect_matches_reference(const std::filesystem::path& out, const std::string& name) {
  auto got = util::load_npy((out / (name + ".npy")).string());
  auto want = util::load_npy(fixture("clip_tiny/" + name + ".npy"));
  ASSERT_EQ(got.sizes(), want.sizes()) << name;
  // The README's promise: 1e-4 relative (atol 1e-5 for entries near zero).
  EXPECT_TRUE(torch::allclose(got, want, /*rtol=*/1e-4, /*atol=*/1e-5)) << name << ": max abs diff " << (got - want).abs().max().item<double>();
}

TEST(EmbedCommand, ReproducesTheReferenceArrays) {
  const auto out = test::scratch_dir();
  std::string log;
  const std::string args = "embed --weights " + fixture("clip_tiny/clip_tiny.pt") + " --images " +
                           fixture("clip_tiny/images.npy") + " --videos " + fixture("clip_tiny/video.npy") + " --texts " +
                           fixture("clip_tiny/texts.txt") + " --batch-size 2 --out " + out.string();
  ASSERT_EQ(test::run_vifi(args, &log), 0) << log;
  for (const char* name : {"image_features", "video_features", "text_features", "logits_per_image", "logits_per_video"})
    expect_matches_reference(out, name);
}

TEST(EmbedCommand, TextsAloneWriteOnlyTextFeatures) {
  const auto out = test::scratch_dir();
  std::string log;
  ASSERT_EQ(test::run_vifi("embed --weights " + fixture("clip_tiny/clip_tiny.pt") + " --texts " +
                               fixture("clip_tiny/texts.txt") + " --out " + out.string(),
                           &log),
            0)
      << log;
  expect_matches_reference(out, "text_features");
  EXPECT_FALSE(std::filesystem::exists(out / "logits_per_image.npy"));
}

TEST(EmbedCommand, WrongImageShapeIsReportedWithThePath) {
  const auto out = test::scratch_dir();
  std::string log;
  // video.npy is 5-D: given as --images it must be refused, naming the file and the shape wanted.
  const int rc = test::run_vifi("embed --weights " + fixture("clip_tiny/clip_tiny.pt") + " --images " +
                                    fixture("clip_tiny/video.npy") + " --out " + out.string(),
                                &log);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(log.find("video.npy: expected a float32 array of shape [N,3,32,32]"), std::string::npos) << log;
  // One line, not LibTorch's C++ backtrace after it (the check is a TORCH_CHECK)...
  EXPECT_EQ(log.find("Exception raised from"), std::string::npos) << log;
  EXPECT_EQ(log.find("frame #0"), std::string::npos) << log;
  // ...unless asked for, with PyTorch's own switch.
  std::string traced;
  EXPECT_EQ(test::run_command("TORCH_SHOW_CPP_STACKTRACES=1 " VIFI_BINARY " embed --weights " +
                                  fixture("clip_tiny/clip_tiny.pt") + " --images " + fixture("clip_tiny/video.npy") +
                                  " --out " + out.string(),
                              &traced),
            1);
  EXPECT_NE(traced.find("Exception raised from"), std::string::npos) << traced;
}

// A synthetic dataset of 3 classes in dir/data, `per_class` validation videos of each.
void write_small_dataset(const std::filesystem::path& dir, int per_class) {
  data::SyntheticDatasetSpec spec;
  spec.num_classes = 3;
  spec.train_per_class = 1;
  spec.val_per_class = per_class;
  spec.num_frames = 8;
  data::write_synthetic_dataset((dir / "data").string(), spec);
}

TEST(EmbedCommand, VideoListGivesEmbeddingsLabelsAndATsnePlot) {
  const auto dir = test::scratch_dir();
  write_small_dataset(dir, 3);
  std::string log;
  ASSERT_EQ(test::run_vifi("embed --weights " + fixture("clip_tiny/clip_tiny.pt") + " --videos-from " +
                               (dir / "data" / "val.txt").string() + " --label-file " +
                               (dir / "data" / "labels.csv").string() + " --frames 4 --plot --out " + (dir / "e").string(),
                           &log),
            0)
      << log;
  EXPECT_EQ(util::load_npy((dir / "e" / "video_features.npy").string()).sizes(), (std::vector<int64_t>{9, 32}));
  EXPECT_TRUE(torch::equal(util::load_npy((dir / "e" / "labels.npy").string()),
                           torch::tensor({0, 0, 0, 1, 1, 1, 2, 2, 2}, torch::kLong)));
  EXPECT_EQ(util::load_npy((dir / "e" / "tsne.npy").string()).sizes(), (std::vector<int64_t>{9, 2}));
  EXPECT_EQ(cv::imread((dir / "e" / "tsne.png").string()).size(), cv::Size(720, 560));
}

// A video that cannot be read does not end the command: the others are embedded, every output
// written, the failure listed, and the exit code 1. Each row is its video's embedding.
TEST(EmbedCommand, AnUnreadableVideoIsListedAndTheOthersEmbedded) {
  const auto dir = test::scratch_dir();
  write_small_dataset(dir, 2);
  const auto whole = (dir / "data" / "val.txt").string();
  const auto embed = [&](const std::string& list, const std::string& out, std::string* log) {
    return test::run_vifi("embed --weights " + fixture("clip_tiny/clip_tiny.pt") + " --videos-from " + list +
                              " --frames 4 --workers 2 --out " + (dir / out).string(),
                          log);
  };
  std::string log;
  ASSERT_EQ(embed(whole, "all", &log), 0) << log;
  std::ofstream(dir / "data" / "broken.mp4") << "not a video";
  const auto records = data::load_annotation_list(whole);
  std::ofstream list(dir / "data" / "with_broken.txt");
  for (size_t i = 0; i < records.size(); ++i) {
    list << records[i].relative << " " << records[i].label << "\n";
    if (i == 2) list << "broken.mp4 1\nmissing.mp4 2\n";
  }
  list.close();
  EXPECT_EQ(embed((dir / "data" / "with_broken.txt").string(), "some", &log), 1) << log;
  EXPECT_NE(log.find("2 videos of " + (dir / "data" / "with_broken.txt").string() + " could not be read"), std::string::npos) << log;
  const auto all = util::load_npy((dir / "all" / "video_features.npy").string());
  const auto some = util::load_npy((dir / "some" / "video_features.npy").string());
  ASSERT_EQ(some.sizes(), all.sizes());
  EXPECT_TRUE(torch::allclose(some, all, 0.0, 1e-5));
  EXPECT_TRUE(torch::equal(util::load_npy((dir / "some" / "labels.npy").string()), util::load_npy((dir / "all" / "labels.npy").string())));
  std::ifstream videos(dir / "some" / "videos.txt"), failed(dir / "some" / "failed.txt");
  std::string line;
  for (const auto& r : records) {
    ASSERT_TRUE(std::getline(videos, line));
    EXPECT_EQ(line, (dir / "data" / r.relative).string());
  }
  EXPECT_FALSE(std::getline(videos, line));
  ASSERT_TRUE(std::getline(failed, line));
  EXPECT_EQ(line.rfind((dir / "data" / "broken.mp4").string() + "\t", 0), 0u) << line;
  ASSERT_TRUE(std::getline(failed, line));
  EXPECT_EQ(line.rfind((dir / "data" / "missing.mp4").string() + "\t", 0), 0u) << line;
}

TEST(EmbedCommand, PlotNeedsAVideoList) {
  std::string log;
  EXPECT_EQ(test::run_vifi("embed --weights " + fixture("clip_tiny/clip_tiny.pt") + " --texts " +
                               fixture("clip_tiny/texts.txt") + " --plot --out /tmp/x",
                           &log),
            1);
  EXPECT_NE(log.find("--plot needs --videos-from"), std::string::npos) << log;
}

TEST(EmbedCommand, MissingWeightsFileIsNamed) {
  std::string log;
  EXPECT_EQ(test::run_vifi("embed --weights /nonexistent/ViT-B-16.pt --texts x --out /tmp/x", &log), 1);
  EXPECT_NE(log.find("/nonexistent/ViT-B-16.pt: file not found"), std::string::npos) << log;
}

}  // namespace
}  // namespace vifi

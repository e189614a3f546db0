// eval/video_index: the index folder's commit record. A run killed between the three atomic file
// writes leaves files of two saves; load_video_index must return the committed prefix or refuse.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/eval/video_index.h"
#include "vifi/util/json.h"

namespace vifi {
namespace {

namespace fs = std::filesystem;

eval::VideoIndex make_index(int64_t rows, int64_t seed, const std::string& checksum = "0badc0de") {
  eval::VideoIndex index;
  index.identity = {"ViT-tiny", checksum, 8};
  index.weights = "/weights/model.pth";
  torch::manual_seed(seed);
  index.features = torch::randn({rows, 16});
  for (int64_t i = 0; i < rows; ++i) index.videos.push_back("/videos/class " + std::to_string(i % 3) + "/v" + std::to_string(i) + ".mp4");
  return index;
}

std::string contents(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void put(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

TEST(VideoIndex, SavedIndexesLoadBackWhole) {
  const auto dir = test::scratch_dir() / "idx";
  const auto saved = make_index(5, 1);
  eval::save_video_index(dir.string(), saved);
  const auto loaded = eval::load_video_index(dir.string());
  EXPECT_EQ(loaded.videos, saved.videos);
  EXPECT_TRUE(torch::equal(loaded.features, saved.features));
  EXPECT_EQ(loaded.identity, saved.identity);
  // An empty index too.
  eval::save_video_index(dir.string(), make_index(0, 1));
  EXPECT_EQ(eval::load_video_index(dir.string()).features.size(0), 0);
}

TEST(VideoIndex, ASaveCutShortLoadsAsTheLastCommittedOne) {
  // Rows and paths only grow between saves of one model: the newer files hold the older save.
  const auto dir = test::scratch_dir() / "idx";
  const auto three = make_index(3, 2);
  auto five = three;
  const auto more = make_index(5, 3);
  five.features = torch::cat({three.features, more.features.slice(0, 3)});
  for (int64_t i = 3; i < 5; ++i) five.videos.push_back(more.videos[static_cast<size_t>(i)] + ".new");
  eval::save_video_index(dir.string(), three);
  const auto json3 = contents(dir / "index.json"), list3 = contents(dir / "videos.txt");
  eval::save_video_index(dir.string(), five);
  // Killed after video_features.npy and videos.txt, or after video_features.npy alone.
  for (const bool list_written : {true, false}) {
    put(dir / "index.json", json3);
    if (!list_written) put(dir / "videos.txt", list3);
    const auto loaded = eval::load_video_index(dir.string());
    EXPECT_EQ(loaded.videos, three.videos) << list_written;
    EXPECT_TRUE(torch::equal(loaded.features, three.features)) << list_written;
  }
}

TEST(VideoIndex, FilesOfAnotherSaveAreRefusedAsStale) {
  const auto dir = test::scratch_dir() / "idx";
  const auto a = make_index(3, 4, "aaaaaaaa");
  eval::save_video_index(dir.string(), a);
  const auto json_a = contents(dir / "index.json"), list_a = contents(dir / "videos.txt");
  // Another model's rows for the same videos, cut short before its index.json.
  auto b = make_index(3, 5, "bbbbbbbb");
  eval::save_video_index(dir.string(), b);
  put(dir / "index.json", json_a);
  EXPECT_THROW(eval::load_video_index(dir.string()), eval::StaleVideoIndex);
  test::expect_error([&] { eval::load_video_index(dir.string()); }, {dir.string(), "a save was cut short", "vifi index again"});
  // The right rows with a path changed, or fewer rows than committed.
  eval::save_video_index(dir.string(), a);
  put(dir / "videos.txt", "/videos/other.mp4\n" + list_a.substr(list_a.find('\n') + 1));
  EXPECT_THROW(eval::load_video_index(dir.string()), eval::StaleVideoIndex);
  put(dir / "videos.txt", list_a.substr(0, list_a.rfind('\n', list_a.size() - 2) + 1));
  EXPECT_THROW(eval::load_video_index(dir.string()), eval::StaleVideoIndex);
  // Without the commit record (an index from before it): the row and line counts must agree.
  eval::save_video_index(dir.string(), a);
  auto json = util::Json::parse(contents(dir / "index.json"));
  json.erase("commit");
  put(dir / "index.json", json.dump(1));
  EXPECT_EQ(eval::load_video_index(dir.string()).videos, a.videos);
  put(dir / "videos.txt", list_a + "/videos/extra.mp4\n");
  test::expect_error([&] { eval::load_video_index(dir.string()); }, {"video_features.npy has shape [3,16]", "lists 4 videos"});
}

TEST(VideoIndex, ADamagedIndexJsonIsRefusedByItsKeyNotUsed) {
  // index.json is a file users copy and edit; its frame count drives `vifi search --like`, where
  // a billion frames would sample for hours instead of failing.
  const auto dir = test::scratch_dir() / "idx";
  eval::save_video_index(dir.string(), make_index(2, 7));
  const auto saved = util::Json::parse(contents(dir / "index.json"));
  const auto json_path = (dir / "index.json").string();
  const auto refused = [&](util::Json damaged, std::vector<std::string> expected) {
    put(dir / "index.json", damaged.dump(1));
    expected.insert(expected.begin(), json_path);
    test::expect_error([&] { eval::load_video_index(dir.string()); }, expected);
  };
  for (const int64_t frames : {int64_t{0}, int64_t{-8}, eval::kMaxIndexFrames + 1, int64_t{1000000000}}) {
    auto damaged = saved;
    damaged["model"]["frames"] = frames;
    refused(damaged, {"model.frames is " + std::to_string(frames), "expected 1 to 256"});
  }
  auto fractional = saved;
  fractional["model"]["frames"] = 4.5;
  refused(fractional, {"model.frames is 4.5", "whole number"});
  auto other_format = saved;
  other_format["format"] = "vifi-video-index-v2";
  refused(other_format, {"format is 'vifi-video-index-v2'", "expected 'vifi-video-index-v1'"});
  auto no_format = saved;
  no_format.erase("format");
  refused(no_format, {"not a vifi index.json", "format"});
  // The bounds themselves load.
  for (const int64_t frames : {int64_t{1}, eval::kMaxIndexFrames}) {
    auto edge = saved;
    edge["model"]["frames"] = frames;
    put(dir / "index.json", edge.dump(1));
    EXPECT_EQ(eval::load_video_index(dir.string()).identity.frames, frames);
  }
}

TEST(VideoIndex, APathWithALineBreakIsNotSaved) {
  auto index = make_index(2, 6);
  index.videos[1] = "/videos/line\nbreak.mp4";
  EXPECT_THROW(eval::save_video_index((test::scratch_dir() / "idx").string(), index), std::invalid_argument);
}

}  // namespace
}  // namespace vifi

// `vifi index` and `vifi search` on the demo's fine-tuned model and validation videos: each class
// name finds its own videos first; scores are the cosine similarities of `vifi embed`'s features
// (an independent path through the model); re-indexing reuses rows of the same model only; a
// broken video is listed, never fatal, never dropped silently.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/demo_model.h"
#include "support/json_output.h"
#include "support/test_paths.h"
#include "vifi/eval/video_index.h"
#include "vifi/util/npy.h"

namespace vifi {
namespace {

using test::json_line;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

class SearchCommand : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto& demo = test::demo_model();
    index_dir_ = (std::filesystem::temp_directory_path() / "vifi-tests" / ("search-index." + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(index_dir_);
    std::string log;
    ASSERT_EQ(test::run_vifi("index --videos-from " + demo.val_list() + " --weights " + demo.weights() + " --out " + index_dir_, &log), 0)
        << log;
    ASSERT_NE(log.find("40 to embed"), std::string::npos) << log;
  }
  static std::string index_dir_;
};
std::string SearchCommand::index_dir_;

// Per class query over all 40 videos: AUC (how often one of its videos ranks above another
// class's video; chance 0.5), average precision (chance 0.2) and whether the best match is of
// the queried class.
struct ClassRanking {
  double auc = 0, ap = 0;
  bool first_right = false;
};

std::vector<ClassRanking> rank_each_class(const std::string& index, const std::string& extra) {
  const auto& demo = test::demo_model();
  const auto names = demo.class_names();
  std::map<std::string, int> label_of;
  for (const auto& [path, label] : demo.val_videos()) label_of[path] = label;
  std::vector<ClassRanking> rankings;
  for (size_t c = 0; c < names.size(); ++c) {
    std::string out;
    EXPECT_EQ(test::run_vifi("search " + index + " " + quoted(names[c]) + " --topk 40 --json " + extra, &out), 0) << out;
    const auto json = json_line(out, "{\"query\"");
    EXPECT_EQ(json["prompt"], "a photo of a " + names[c] + ".");
    if (json["results"].size() != 40u) {
      ADD_FAILURE() << out;
      return {};
    }
    std::vector<size_t> own, other;
    for (size_t i = 0; i < 40; ++i)
      (label_of.at(json["results"][i]["video"].get<std::string>()) == static_cast<int>(c) ? own : other).push_back(i);
    EXPECT_EQ(own.size(), 8u);
    ClassRanking r;
    size_t above = 0;
    for (const auto a : own)
      for (const auto b : other) above += a < b;
    r.auc = static_cast<double>(above) / static_cast<double>(own.size() * other.size());
    for (size_t k = 0; k < own.size(); ++k) r.ap += (k + 1.0) / (own[k] + 1.0);
    r.ap /= static_cast<double>(own.size());
    r.first_right = own.front() == 0;
    std::cout << names[c] << extra << ": AUC " << r.auc << ", AP " << r.ap << ", best match " << (r.first_right ? "right" : "wrong") << "\n";
    rankings.push_back(r);
  }
  return rankings;
}

// By cosine, as the issue asks. The demo's model classifies 97.5 % of these videos right, yet one
// class's prompt ("moving left blue triangle") is nearer some "moving down green circle" videos
// than its own: cross-entropy only taught the model that a video is nearer its class than the
// other classes, and how near differs from video to video (docs/design.md, "search"). So: every
// class AUC >= 0.75, mean AP >= 0.8, the best match right for at least 4 of the 5 classes.
TEST_F(SearchCommand, EachClassNameRanksItsOwnVideosAboveTheOthers) {
  const auto rankings = rank_each_class(index_dir_, "");
  ASSERT_EQ(rankings.size(), 5u);
  double ap = 0;
  int first_right = 0;
  for (const auto& r : rankings) {
    EXPECT_GE(r.auc, 0.75);
    ap += r.ap / 5;
    first_right += r.first_right;
  }
  EXPECT_GE(ap, 0.8);
  EXPECT_GE(first_right, 4);
}

// With the demo's classes as the querybank, each class name ranks its own videos first: the best
// match is right for all 5, and every class's 8 videos come before nearly all others (AP >= 0.9).
TEST_F(SearchCommand, WithTheClassesAsQuerybankEachClassNameFindsItsOwnVideosFirst) {
  const auto rankings = rank_each_class(index_dir_, "--querybank " + test::demo_model().labels());
  ASSERT_EQ(rankings.size(), 5u);
  for (const auto& r : rankings) {
    EXPECT_TRUE(r.first_right);
    EXPECT_GE(r.ap, 0.9);
  }
  // A video query has no place among class prompts: refused by name.
  std::string log;
  EXPECT_NE(test::run_vifi("search " + index_dir_ + " --like " + test::demo_model().val_videos()[0].first +
                               " --querybank " + test::demo_model().labels(),
                           &log),
            0);
  EXPECT_NE(log.find("--querybank ranks text queries"), std::string::npos) << log;
}

// A hub: video 0 is near the query and as near another class (cosine 0.99 to both), video 1 is
// less near the query but nearer it than the other class (0.54 and 0.27). Cosine ranks the hub
// first; the querybank ranks video 1 first, with the probability of the query under the
// classifier softmax(scale * cosines) over {query, bank}.
TEST(RankByQuerybank, RanksByTheClassifiersProbabilityOfTheQuery) {
  const auto unit = [](double angle) { return std::vector<float>{static_cast<float>(std::cos(angle)), static_cast<float>(std::sin(angle)), 0.f}; };
  const double q = 0.0, b = 0.3;
  auto rows = [&](std::vector<std::vector<float>> r) {
    auto t = torch::empty({static_cast<int64_t>(r.size()), 3});
    for (size_t i = 0; i < r.size(); ++i)
      for (int j = 0; j < 3; ++j) t[static_cast<int64_t>(i)][j] = r[i][static_cast<size_t>(j)];
    return t;
  };
  const auto features = rows({unit(0.15), unit(-1.0)}) * 3.0;  // norms do not matter
  const auto texts = rows({unit(q), unit(b)});
  const auto by_cosine = eval::rank_by_cosine(features, texts[0], 2);
  EXPECT_EQ(by_cosine[0].row, 0);
  const double scale = 14.0;
  const auto hits = eval::rank_by_querybank(features, texts, scale, 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].row, 1);
  for (const auto& hit : hits) {
    const double angle = hit.row == 0 ? 0.15 : -1.0;
    const double to_query = std::cos(angle - q), to_bank = std::cos(angle - b);
    EXPECT_NEAR(hit.cosine, to_query, 1e-6);
    EXPECT_NEAR(hit.score, 1.0 / (1.0 + std::exp(scale * (to_bank - to_query))), 1e-6);
  }
  EXPECT_THROW(eval::rank_by_querybank(features, texts, 0.0, 2), std::invalid_argument);
  EXPECT_THROW(eval::rank_by_querybank(features, torch::ones({2, 4}), scale, 2), std::invalid_argument);
}

TEST_F(SearchCommand, ScoresAreTheCosinesOfEmbedsFeatures) {
  const auto& demo = test::demo_model();
  const auto names = demo.class_names();
  const auto out_dir = test::scratch_dir();
  {
    std::ofstream classes(out_dir / "classes.txt");
    for (const auto& n : names) classes << n << "\n";
  }
  std::string log;
  ASSERT_EQ(test::run_vifi("embed --weights " + demo.weights() + " --videos-from " + demo.val_list() + " --classes " +
                               (out_dir / "classes.txt").string() + " --out " + out_dir.string(),
                           &log),
            0)
      << log;
  namespace F = torch::nn::functional;
  const auto video = F::normalize(util::load_npy((out_dir / "video_features.npy").string()), F::NormalizeFuncOptions().dim(1));
  const auto text = F::normalize(util::load_npy((out_dir / "text_features.npy").string()), F::NormalizeFuncOptions().dim(1));
  const auto cosine = torch::matmul(video, text.t());  // [40,C], rows in val.txt order
  const auto videos = demo.val_videos();
  std::string out;
  ASSERT_EQ(test::run_vifi("search " + index_dir_ + " " + quoted(names[2]) + " --topk 40 --json", &out), 0) << out;
  const auto results = json_line(out, "{\"query\"")["results"];
  ASSERT_EQ(results.size(), 40u);
  double previous = 2.0;
  for (const auto& r : results) {
    size_t row = 0;
    while (row < videos.size() && videos[row].first != r["video"].get<std::string>()) ++row;
    ASSERT_LT(row, videos.size()) << r;
    EXPECT_NEAR(r["score"].get<double>(), cosine[static_cast<int64_t>(row)][2].item<double>(), 1e-5) << r;
    EXPECT_LE(r["score"].get<double>(), previous + 1e-12);  // best first
    previous = r["score"].get<double>();
  }
}

TEST_F(SearchCommand, LikeAVideoFindsThatVideoFirst) {
  const auto videos = test::demo_model().val_videos();
  std::string out;
  ASSERT_EQ(test::run_vifi("search " + index_dir_ + " --like " + videos[13].first + " --topk 3 --json", &out), 0) << out;
  const auto results = json_line(out, "{\"query\"")["results"];
  EXPECT_EQ(results[0]["video"], videos[13].first);
  EXPECT_NEAR(results[0]["score"].get<double>(), 1.0, 1e-5);
  // Same-class videos lie close in this model (the runner-up's cosine is about 0.9999).
  EXPECT_NE(results[1]["video"], videos[13].first);
  EXPECT_LT(results[1]["score"].get<double>(), results[0]["score"].get<double>());
  // The text output names the query and lists ranks.
  ASSERT_EQ(test::run_vifi("search " + index_dir_ + " " + quoted("moving up red square") + " --topk 2", &out), 0) << out;
  EXPECT_NE(out.find("\"a photo of a moving up red square.\": top 2 of 40 videos"), std::string::npos) << out;
  EXPECT_NE(out.find("   1.  "), std::string::npos) << out;
}

TEST_F(SearchCommand, ReindexingKeepsTheSameModelsRowsAndRedoesAnotherModels) {
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  const auto videos = demo.val_videos();
  std::string log;
  const auto index = (dir / "idx").string();
  ASSERT_EQ(test::run_vifi("index " + videos[0].first + " " + videos[9].first + " --weights " + demo.weights() + " --out " + index, &log), 0) << log;
  const auto first = util::load_npy(index + "/video_features.npy");
  // Again with one more video: two reused, one embedded, the old rows unchanged.
  ASSERT_EQ(test::run_vifi("index " + videos[0].first + " " + videos[9].first + " " + videos[20].first + " --weights " +
                               demo.weights() + " --out " + index,
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("2 already embedded with this model, 1 to embed"), std::string::npos) << log;
  const auto second = util::load_npy(index + "/video_features.npy");
  ASSERT_EQ(second.size(0), 3);
  EXPECT_TRUE(torch::equal(second.slice(0, 0, 2), first));
  const auto committed_json = [&] {
    std::ifstream in(index + "/index.json");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const auto json_of_three = committed_json();
  // Another model (the demo's first-epoch checkpoint): everything is embedded again.
  ASSERT_EQ(test::run_vifi("index " + videos[0].first + " --weights " + (demo.dir / "run/ckpt_epoch_0.pth").string() +
                               " --out " + index,
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("made with another model"), std::string::npos) << log;
  EXPECT_EQ(util::load_npy(index + "/video_features.npy").size(0), 1);
  // Searching it with the other weights is refused by name.
  ASSERT_NE(test::run_vifi("search " + index + " dog --weights " + demo.weights(), &log), 0);
  EXPECT_NE(log.find("was indexed with model"), std::string::npos) << log;
  // That save killed before its index.json: the first model's record over the second model's
  // rows. Search refuses it; index rebuilds it rather than failing or mixing the two.
  std::ofstream(index + "/index.json") << json_of_three;
  ASSERT_NE(test::run_vifi("search " + index + " dog --weights " + demo.weights(), &log), 0);
  EXPECT_NE(log.find("a save was cut short"), std::string::npos) << log;
  ASSERT_EQ(test::run_vifi("index " + videos[0].first + " --weights " + demo.weights() + " --out " + index, &log), 0) << log;
  EXPECT_NE(log.find("a save was cut short; run vifi index again to rebuild it; embedding every video again"), std::string::npos) << log;
  // The same video's embedding as in the first run (a batch of one now, of two then).
  EXPECT_TRUE(torch::allclose(util::load_npy(index + "/video_features.npy"), first.slice(0, 0, 1), 0.0, 1e-5));
}

// Rows are kept by path: a video replaced in place after the index was saved (newer than its
// video_features.npy) is embedded again into its own row; the others stay as they were.
TEST_F(SearchCommand, AVideoReplacedSinceTheLastSaveIsEmbeddedAgainInItsRow) {
  namespace fs = std::filesystem;
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  const auto videos = demo.val_videos();
  const auto a = (dir / "a.avi").string(), b = (dir / "b.avi").string();
  fs::copy_file(videos[0].first, a);
  fs::copy_file(videos[9].first, b);
  const auto index = (dir / "idx").string(), fresh = (dir / "fresh").string();
  const auto run_index = [&](const std::string& args, const std::string& out) {
    std::string log;
    EXPECT_EQ(test::run_vifi("index " + args + " --weights " + demo.weights() + " --out " + out, &log), 0) << log;
    return log;
  };
  run_index(a + " " + b, index);
  const auto before = util::load_npy(index + "/video_features.npy");
  // a.avi replaced by another video; the clock is set so that the index was saved a minute
  // ago and the replacement came after it.
  fs::copy_file(videos[20].first, a, fs::copy_options::overwrite_existing);
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(index + "/video_features.npy", now - std::chrono::seconds(60));
  fs::last_write_time(a, now - std::chrono::seconds(30));
  fs::last_write_time(b, now - std::chrono::seconds(120));  // copied just before the first index
  auto log = run_index(a + " " + b, index);
  EXPECT_NE(log.find("1 already embedded with this model, 1 to embed (1 changed since the index was saved)"), std::string::npos)
      << log;
  const auto after = util::load_npy(index + "/video_features.npy");
  ASSERT_EQ(after.size(0), 2);
  EXPECT_TRUE(torch::equal(after[1], before[1]));
  EXPECT_GT((after[0] - before[0]).abs().max().item<double>(), 1e-3) << "a.avi kept its old embedding";
  run_index(videos[20].first, fresh);
  EXPECT_TRUE(torch::allclose(after[0], util::load_npy(fresh + "/video_features.npy")[0], 0.0, 1e-5));
  // Saved now, after the replacement: nothing to embed again.
  log = run_index(a + " " + b, index);
  EXPECT_NE(log.find("2 already embedded with this model, 0 to embed"), std::string::npos) << log;
  EXPECT_EQ(log.find("changed since"), std::string::npos) << log;
  // Replaced by a file that does not decode: listed as failed (exit 1), its last row kept.
  std::ofstream(a, std::ios::binary | std::ios::trunc) << "not a video any more";
  fs::last_write_time(index + "/video_features.npy", now - std::chrono::seconds(60));
  fs::last_write_time(a, now - std::chrono::seconds(30));
  ASSERT_EQ(test::run_vifi("index " + a + " " + b + " --weights " + demo.weights() + " --out " + index, &log), 1) << log;
  EXPECT_NE(log.find("1 changed since the index was saved"), std::string::npos) << log;
  EXPECT_NE(log.find("1 videos could not be read"), std::string::npos) << log;
  EXPECT_TRUE(torch::equal(util::load_npy(index + "/video_features.npy"), after));
}

// Ctrl-C while the loader's workers decode ahead: what was embedded is saved, the exit code is
// 130, and the same command again embeds only the rest.
TEST_F(SearchCommand, ASigintSavesWhatIsEmbeddedAndARerunContinues) {
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  const auto videos = demo.val_videos();
  std::ofstream list(dir / "list.txt");
  constexpr int kVideos = 300;
  for (int i = 0; i < kVideos; ++i) {
    const auto link = dir / ("v" + std::to_string(i) + ".avi");
    std::filesystem::create_symlink(videos[static_cast<size_t>(i) % videos.size()].first, link);
    list << link.filename().string() << "\n";
  }
  list.close();
  const auto index = (dir / "idx").string();
  const auto log_file = (dir / "log.txt").string();
  const std::string command = std::string(VIFI_BINARY) + " index --videos-from " + (dir / "list.txt").string() +
                              " --weights " + demo.weights() + " --out " + index + " --workers 2";
  const std::string script = "(" + command + " > " + log_file + " 2>&1 & pid=$!; for i in $(seq 1200); do grep -q " +
                             "'index: [0-9]*/" + std::to_string(kVideos) + " videos' " + log_file +
                             " && break; sleep 0.05; done; kill -INT $pid; wait $pid; echo rc=$?)";
  std::string output;
  test::run_shell(script, &output);
  std::ifstream in(log_file);
  std::ostringstream log_text;
  log_text << in.rdbuf();
  ASSERT_NE(output.find("rc=130"), std::string::npos) << output << log_text.str();
  EXPECT_NE(log_text.str().find("index: interrupted"), std::string::npos) << log_text.str();
  const auto saved = eval::load_video_index(index);
  const auto rows = static_cast<int64_t>(saved.videos.size());
  EXPECT_GE(rows, 64);
  EXPECT_LT(rows, kVideos);
  std::string log;
  ASSERT_EQ(test::run_vifi(command.substr(std::string(VIFI_BINARY).size() + 1), &log), 0) << log;
  EXPECT_NE(log.find(std::to_string(rows) + " already embedded with this model, " + std::to_string(kVideos - rows) + " to embed"),
            std::string::npos)
      << log;
  const auto whole = eval::load_video_index(index);
  ASSERT_EQ(whole.videos.size(), static_cast<size_t>(kVideos));
  // Row i is its own video's embedding: the copies of one video agree across the two runs.
  for (int64_t i = 0; i < kVideos; ++i)
    ASSERT_EQ(std::filesystem::path(whole.videos[static_cast<size_t>(i)]).filename(), "v" + std::to_string(i) + ".avi");
  for (int64_t i = 0; i < kVideos; i += 29) {
    const auto copy = i % static_cast<int64_t>(videos.size());  // the first copy, embedded before the interrupt
    EXPECT_TRUE(torch::allclose(whole.features[i], whole.features[copy], 0.0, 1e-5)) << i;
  }
}

TEST_F(SearchCommand, ABrokenVideoIsListedAndTheOthersIndexed) {
  const auto& demo = test::demo_model();
  const auto dir = test::scratch_dir();
  const auto videos = demo.val_videos();
  const auto bad = (dir / "broken.mp4").string();
  std::ofstream(bad) << "this is not a video";
  // A Kinetics class folder has spaces: `vifi data prepare` writes such a path quoted.
  std::filesystem::create_directories(dir / "air drumming");
  std::filesystem::copy_file(videos[30].first, dir / "air drumming" / "clip.mp4");
  std::ofstream list(dir / "list.txt");
  list << videos[1].first << " 0\n" << bad << "\n" << (dir / "missing.avi").string() << "\n\"air drumming/clip.mp4\" 4\n";
  list.close();
  std::string log;
  const auto index = (dir / "idx").string();
  EXPECT_EQ(test::run_vifi("index --videos-from " + (dir / "list.txt").string() + " --weights " + demo.weights() + " --out " + index, &log), 1)
      << log;
  EXPECT_NE(log.find("broken.mp4"), std::string::npos) << log;
  EXPECT_NE(log.find("2 videos could not be read"), std::string::npos) << log;
  std::ifstream meta(index + "/index.json");
  const auto json = nlohmann::json::parse(meta);
  ASSERT_EQ(json["failed"].size(), 2u) << json;
  EXPECT_EQ(json["failed"][0]["video"], bad);
  EXPECT_FALSE(json["failed"][0]["error"].get<std::string>().empty());
  EXPECT_EQ(json["videos"], 2);
  EXPECT_EQ(util::load_npy(index + "/video_features.npy").size(0), 2);
  // Neither a query nor --like, and a folder that is no index, are refused clearly.
  EXPECT_NE(test::run_vifi("search " + index, &log), 0);
  EXPECT_NE(log.find("give a text query or --like"), std::string::npos) << log;
  EXPECT_NE(test::run_vifi("search " + dir.string() + " dog", &log), 0);
  EXPECT_NE(log.find("not a video index"), std::string::npos) << log;
}

}  // namespace
}  // namespace vifi

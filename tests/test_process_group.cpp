// dist/torchrun_env, dist/process_group and eval::merge_over_ranks: torchrun's variables and their
// errors, c10d collectives between two ranks over loopback Gloo, evaluation over an odd-sized set
// counting every sample once, and the rendezvous timeout when a peer never arrives.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "support/ranks.h"
#include "support/tiny_model.h"
#include "vifi/dist/process_group.h"
#include "vifi/dist/torchrun_env.h"
#include "vifi/eval/evaluator.h"

namespace vifi {
namespace {

using Clock = std::chrono::steady_clock;

dist::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    dist::read_torchrun_env(env_of(vars));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

const std::map<std::string, std::string> kTwoRanks = {{"RANK", "1"},         {"WORLD_SIZE", "2"},
                                                      {"LOCAL_RANK", "1"},   {"LOCAL_WORLD_SIZE", "2"},
                                                      {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29500"}};

TEST(TorchrunEnv, NoVariablesOrWorldSizeOneIsASingleProcess) {
  EXPECT_FALSE(dist::read_torchrun_env(env_of({})));
  EXPECT_FALSE(dist::read_torchrun_env(env_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}})));
}

TEST(TorchrunEnv, ReadsTorchrunsVariables) {
  const auto e = dist::read_torchrun_env(env_of(kTwoRanks));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rank, 1);
  EXPECT_EQ(e->world_size, 2);
  EXPECT_EQ(e->local_rank, 1);
  EXPECT_EQ(e->local_world_size, 2);
  EXPECT_EQ(e->master_addr, "10.0.0.1");
  EXPECT_EQ(e->master_port, 29500);
}

TEST(TorchrunEnv, InconsistentOrMissingVariablesNameWhatIsWrong) {
  auto with = [](std::map<std::string, std::string> changes, const std::string& erase = "") {
    auto v = kTwoRanks;
    for (const auto& [k, x] : changes) v[k] = x;
    if (!erase.empty()) v.erase(erase);
    return error_of(v);
  };
  EXPECT_NE(with({{"RANK", "5"}}).find("WORLD_SIZE=2 but RANK=5"), std::string::npos);
  EXPECT_NE(with({}, "MASTER_ADDR").find("MASTER_ADDR is not set"), std::string::npos);
  EXPECT_NE(with({}, "MASTER_PORT").find("MASTER_PORT is not set"), std::string::npos);
  EXPECT_NE(with({}, "LOCAL_RANK").find("LOCAL_RANK is not set"), std::string::npos);
  EXPECT_NE(with({}, "RANK").find("RANK is not"), std::string::npos);
  EXPECT_NE(with({{"WORLD_SIZE", "two"}}).find("WORLD_SIZE='two' is not an integer"), std::string::npos);
  EXPECT_NE(with({{"WORLD_SIZE", "2x"}}).find("WORLD_SIZE='2x' is not an integer"), std::string::npos);
  EXPECT_NE(with({{"RANK", "4294967296"}}).find("RANK='4294967296' is not an integer"), std::string::npos);
  EXPECT_NE(with({{"LOCAL_RANK", "2"}}).find("LOCAL_WORLD_SIZE=2 but LOCAL_RANK=2"), std::string::npos);
  EXPECT_NE(with({{"MASTER_PORT", "70000"}}).find("MASTER_PORT=70000"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}}).find("WORLD_SIZE is not"), std::string::npos);
}

class ProcessGroupTwoRanks : public ::testing::Test {
 protected:
  void SetUp() override {
    test::skip_unless_distributed();
  }
};

TEST_F(ProcessGroupTwoRanks, AllReduceBroadcastAndGatherAgree) {
  test::run_ranks(2, [](int rank, const std::shared_ptr<dist::ProcessGroup>& g) {
    EXPECT_EQ(g->rank(), rank);
    EXPECT_EQ(g->world_size(), 2);
    EXPECT_EQ(g->backend_name(), "gloo");
    auto sum = torch::full({3}, rank + 1.0);
    g->all_reduce_sum(sum);
    EXPECT_TRUE(torch::equal(sum, torch::full({3}, 3.0)));
    auto strided = torch::arange(6, torch::kLong).view({2, 3}).t() * (rank + 1);  // non-contiguous
    g->all_reduce_max(strided);
    EXPECT_TRUE(torch::equal(strided, torch::arange(6, torch::kLong).view({2, 3}).t() * 2));
    auto b = torch::full({2}, static_cast<double>(rank));
    g->broadcast(b, 1);
    EXPECT_TRUE(torch::equal(b, torch::ones({2})));
    const auto all = g->all_gather_strings("from " + std::to_string(rank));
    EXPECT_EQ(all, (std::vector<std::string>{"from 0", "from 1"}));
    g->barrier();
  });
}

// 7 clips over 2 ranks (shards of 4 and 3): the merged counts equal one process's, each clip once.
TEST_F(ProcessGroupTwoRanks, EvaluationOverAnOddSizedSetCountsEachSampleOnce) {
  const std::vector<std::string> classes = {"red", "green", "blue"};
  torch::manual_seed(1);
  const auto video = torch::randn({7, 1, 2, 3, 32, 32});  // [N,V,T,3,H,W], one view
  const auto label = torch::tensor({0, 1, 2, 0, 1, 2, 0}, torch::kLong);
  auto model = test::tiny_vificlip(classes);
  vifi::TensorBatchSource all(video, label, 2, false, 0);
  const auto single = eval::evaluate(model, all, {});
  ASSERT_EQ(single.counts.total(), 7);
  // Built here, not in the rank threads: they would share (and race on) the global generator.
  std::vector<model::ViFiCLIP> models = {test::tiny_vificlip(classes), test::tiny_vificlip(classes)};
  test::run_ranks(2, [&](int rank, const std::shared_ptr<dist::ProcessGroup>& g) {
    auto& m = models[static_cast<size_t>(rank)];
    const auto idx = torch::arange(rank, 7, 2, torch::kLong);  // the eval shard: rank, rank + W, ...
    vifi::TensorBatchSource mine(video.index_select(0, idx), label.index_select(0, idx), 2, false, 0);
    eval::EvalOptions options;
    options.group = g.get();
    const auto merged = eval::evaluate(m, mine, options);
    EXPECT_EQ(merged.counts.total(), 7);
    EXPECT_EQ(merged.counts.top1_correct(), single.counts.top1_correct());
    EXPECT_TRUE(torch::equal(merged.counts.confusion(), single.counts.confusion()));
  });
}

TEST_F(ProcessGroupTwoRanks, FailedVideoListsAreConcatenatedInRankOrder) {
  test::run_ranks(2, [](int rank, const std::shared_ptr<dist::ProcessGroup>& g) {
    eval::EvalResult local{eval::ClassificationCounts(2), {}, rank == 0 ? 3 : 1};
    if (rank == 1) local.failed = {{5, "odd: name\n with 12:colons", "bad header"}, {7, "b.mp4", ""}};
    const auto merged = eval::merge_over_ranks(local, *g);
    ASSERT_EQ(merged.failed.size(), 2u);
    EXPECT_EQ(merged.failed[0].index, 5);
    EXPECT_EQ(merged.failed[0].path, "odd: name\n with 12:colons");
    EXPECT_EQ(merged.failed[0].reason, "bad header");
    EXPECT_EQ(merged.failed[1].path, "b.mp4");
    EXPECT_EQ(merged.num_views, 3);  // a rank with an empty shard reports the default 1
  });
}

// Rank 0 serves the store and waits for rank 1, which never comes: an error after the timeout.
TEST_F(ProcessGroupTwoRanks, APeerThatNeverArrivesGivesTheTimeoutError) {
  const auto start = Clock::now();
  try {
    dist::ProcessGroup::connect(test::loopback_env(0, 2, test::free_port()), torch::kCPU,
                                {std::chrono::milliseconds(1500)});
    FAIL() << "connect returned without its peer";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("RANK=0 of WORLD_SIZE=2"), std::string::npos) << what;
    EXPECT_NE(what.find("rendezvous at 127.0.0.1:"), std::string::npos) << what;
    EXPECT_NE(what.find("timeout of 1.5"), std::string::npos) << what;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);
  std::cout << "rank 0 alone: timeout error after " << seconds << " s (timeout 1.5 s)\n";
}

// A non-zero rank whose rank 0 (the store) never starts fails the same way.
TEST_F(ProcessGroupTwoRanks, AClientWithoutItsServerGivesTheTimeoutError) {
  const auto start = Clock::now();
  EXPECT_THROW(dist::ProcessGroup::connect(test::loopback_env(1, 2, test::free_port()), torch::kCPU,
                                           {std::chrono::milliseconds(1500)}),
               std::runtime_error);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 10.0);
}

}  // namespace
}  // namespace vifi

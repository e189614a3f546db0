// dist/launcher and `vifi launch`: worker environment and option errors, a failing rank stopping
// the others quickly with no orphan left, rank-prefixed output, the rendezvous timeout of a rank
// whose peer never starts, and the end-to-end `vifi launch --nproc-per-node 2 -- train` on
// synthetic videos (checkpoint written once, every validation video counted once).
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/ranks.h"
#include "support/synthetic_run.h"
#include "support/test_paths.h"
#include "vifi/data/synthetic.h"
#include "vifi/dist/launcher.h"
#include "vifi/dist/process_group.h"
#include "vifi/util/interrupt.h"

namespace vifi {
namespace {

using Clock = std::chrono::steady_clock;

dist::LaunchOptions two_workers(std::vector<std::string> command) {
  dist::LaunchOptions o;
  o.nproc_per_node = 2;
  o.master_port = test::free_port();
  o.command = std::move(command);
  o.kill_grace = std::chrono::milliseconds(2000);
  return o;
}

std::string env_value(const std::vector<std::pair<std::string, std::string>>& env, const std::string& name) {
  for (const auto& [k, v] : env)
    if (k == name) return v;
  return "<unset>";
}

TEST(Launcher, WorkersGetTorchrunsEnvironment) {
  dist::LaunchOptions o;
  o.nproc_per_node = 4;
  o.nnodes = 2;
  o.node_rank = 1;
  o.master_addr = "node0";
  o.master_port = 1234;
  const auto env = dist::worker_environment(o, 2);
  EXPECT_EQ(env_value(env, "RANK"), "6");
  EXPECT_EQ(env_value(env, "WORLD_SIZE"), "8");
  EXPECT_EQ(env_value(env, "LOCAL_RANK"), "2");
  EXPECT_EQ(env_value(env, "LOCAL_WORLD_SIZE"), "4");
  EXPECT_EQ(env_value(env, "MASTER_ADDR"), "node0");
  EXPECT_EQ(env_value(env, "MASTER_PORT"), "1234");
}

TEST(Launcher, BadOptionsNameTheFlag) {
  auto error = [](dist::LaunchOptions o) {
    try {
      dist::validate(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  dist::LaunchOptions o;
  o.command = {"/bin/true"};
  o.nnodes = 2;
  o.node_rank = 2;
  EXPECT_NE(error(o).find("--node-rank 2 but --nnodes 2"), std::string::npos);
  o.node_rank = 0;
  o.nproc_per_node = 0;
  EXPECT_NE(error(o).find("--nproc-per-node"), std::string::npos);
  o.nproc_per_node = 1;
  o.command.clear();
  EXPECT_NE(error(o).find("after --"), std::string::npos);
}

// Rank 1 fails after 0.3 s while rank 0 would sleep for a minute: launch returns rank 1's code
// within seconds and rank 0's process is gone (reaped, not orphaned).
TEST(Launcher, AFailingRankStopsTheOthersAndItsCodeIsReturned) {
  const auto dir = test::scratch_dir();
  const auto script = "echo $$ > " + dir.string() + "/pid_$RANK; if [ \"$RANK\" = 1 ]; then sleep 0.3; exit 3; fi; exec sleep 60";
  const auto start = Clock::now();
  const int rc = dist::launch(two_workers({"/bin/sh", "-c", script}));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout << "failure detected and workers stopped in " << seconds << " s\n";
  EXPECT_EQ(rc, 3);
  EXPECT_LT(seconds, 5.0);
  pid_t pid = 0;
  std::ifstream(dir / "pid_0") >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), -1);  // no such process: no orphan
  EXPECT_EQ(errno, ESRCH);
}

// Ctrl-C on the launcher reaches every worker once (here they exit 0 on SIGTERM/SIGINT).
TEST(Launcher, AnInterruptIsForwardedToEveryWorker) {
  const auto dir = test::scratch_dir();
  const auto script = "trap 'echo stopped > " + dir.string() + "/stopped_$RANK; exit 0' INT TERM; sleep 30 & wait";
  std::thread ctrl_c([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    util::request_interrupt();
  });
  const auto start = Clock::now();
  const int rc = dist::launch(two_workers({"/bin/sh", "-c", script}));
  ctrl_c.join();
  util::clear_interrupt();
  EXPECT_EQ(rc, 0);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 10.0);
  EXPECT_TRUE(std::filesystem::exists(dir / "stopped_0"));
  EXPECT_TRUE(std::filesystem::exists(dir / "stopped_1"));
}

TEST(Launcher, AllRanksSucceedingReturnsZero) {
  EXPECT_EQ(dist::launch(two_workers({"/bin/sh", "-c", "test \"$WORLD_SIZE\" = 2"})), 0);
}

TEST(LaunchCommand, PrefixesEachWorkersOutputWithItsRank) {
  std::string log;
  ASSERT_EQ(test::run_vifi("launch --nproc-per-node 2 --master-port " + std::to_string(test::free_port()) +
                               " -- tokenize \"a red apple\"",
                           &log),
            0)
      << log;
  EXPECT_NE(log.find("[rank 0] 49406"), std::string::npos) << log;
  EXPECT_NE(log.find("[rank 1] 49406"), std::string::npos) << log;
}

TEST(LaunchCommand, AFailingSubcommandFailsTheLaunch) {
  std::string log;
  EXPECT_EQ(test::run_vifi("launch --nproc-per-node 2 -- train --config /nonexistent/run.yaml", &log), 1) << log;
  // Whichever rank fails first is reported; the launcher may stop the other before it prints.
  const bool rank_prefixed = log.find("[rank 0] vifi: error:") != std::string::npos ||
                             log.find("[rank 1] vifi: error:") != std::string::npos;
  EXPECT_TRUE(rank_prefixed) << log;
  EXPECT_NE(log.find("/nonexistent/run.yaml"), std::string::npos) << log;
}

// 3 classes x 4 training / 3 validation videos (9: odd, so the eval shards are 5 and 4).
std::filesystem::path make_launch_run(const std::filesystem::path& dir) {
  test::SyntheticRun run;
  run.val_per_class = 3;
  run.video_frames = 8;
  run.epochs = 1;
  run.warmup_epochs = 0;
  run.batch_size = 2;
  run.workers = 1;
  return test::make_synthetic_run(dir, run);
}

class LaunchDistributed : public ::testing::Test {
 protected:
  void SetUp() override {
    test::skip_unless_distributed();
  }
};

TEST_F(LaunchDistributed, LaunchTwoRanksTrainsAndCheckpointsOnce) {
  const auto dir = test::scratch_dir();
  const auto config = make_launch_run(dir);
  const auto out = dir / "out";
  std::string log;
  ASSERT_EQ(test::run_vifi("launch --nproc-per-node 2 --master-port " + std::to_string(test::free_port()) +
                               " -- train --config " + config.string() + " --output " + out.string() +
                               " --threads 1 --dist-timeout 30",
                           &log),
            0)
      << log;
  EXPECT_TRUE(std::filesystem::exists(out / "ckpt_epoch_0.pth")) << log;
  EXPECT_TRUE(std::filesystem::exists(out / "log_rank0.txt"));
  EXPECT_TRUE(std::filesystem::exists(out / "log_rank1.txt"));
  EXPECT_NE(log.find("[rank 1] "), std::string::npos);
  EXPECT_NE(log.find("rank 1 of 2 joined (gloo, cpu)"), std::string::npos) << log;
  // Only rank 0 writes: one "saved" line for the checkpoint, one validation line in the metrics.
  size_t saved = 0;
  for (size_t at = 0; (at = log.find("saved " + (out / "ckpt_epoch_0.pth").string(), at)) != std::string::npos; ++at)
    ++saved;
  EXPECT_EQ(saved, 1u) << log;
  std::ifstream metrics(out / "metrics.jsonl");
  std::string line, val;
  while (std::getline(metrics, line))
    if (line.find("\"type\":\"val\"") != std::string::npos) val += line;
  EXPECT_NE(val.find("\"videos\":9,"), std::string::npos) << val;  // every validation video once
}

// A rank started by hand whose peer never comes: the timeout error, not a hang.
TEST_F(LaunchDistributed, ARankWithoutItsPeerFailsWithTheTimeoutError) {
  const auto dir = test::scratch_dir();
  const auto config = make_launch_run(dir);
  const auto port = std::to_string(test::free_port());
  for (const auto& [k, v] : std::vector<std::pair<const char*, std::string>>{
           {"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", port}})
    ::setenv(k, v.c_str(), 1);
  std::string log;
  const auto start = Clock::now();
  const int rc = test::run_vifi("train --config " + config.string() + " --output " + (dir / "out").string() +
                                    " --threads 1 --dist-timeout 1",
                                &log);
  for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(k);
  EXPECT_NE(rc, 0);
  EXPECT_NE(log.find("rendezvous at 127.0.0.1:" + port), std::string::npos) << log;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 20.0);
}

}  // namespace
}  // namespace vifi

// `vifi launch`'s engine, torchrun-style: starts nproc_per_node worker processes on this node with
// torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT; plus OMP_NUM_THREADS=cores/nproc when unset, as torchrun sets 1), prefixes every
// output line with "[rank R] ", forwards SIGINT/SIGTERM (once) and, when a worker fails, stops the
// others (SIGTERM, then SIGKILL after a grace period) and returns the failed worker's exit code.
//
// Workers run in their own process groups with stdin from /dev/null, so a terminal's Ctrl-C
// reaches them only through the launcher (exactly once), and they get SIGKILL if the launcher
// dies (PR_SET_PDEATHSIG): no orphans.
#pragma once
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace vifi::dist {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;           // torchrun's default
  std::vector<std::string> command;  // each worker's argv: program path, then its arguments
  std::chrono::milliseconds kill_grace{5000};  // SIGTERM -> SIGKILL after a failure
};

// Throws std::invalid_argument naming the option ("--node-rank 2 but --nnodes 2").
void validate(const LaunchOptions& options);

// The variables worker `local_rank` gets on top of the launcher's environment. Pure.
std::vector<std::pair<std::string, std::string>> worker_environment(const LaunchOptions& options, int local_rank);

// Runs the workers to completion. Returns 0 if all succeeded, else the first failure's exit code
// (128 + signal for a worker killed by a signal). Polls util::interrupt_requested(); the caller
// installs the handler.
int launch(const LaunchOptions& options);

}  // namespace vifi::dist

// The flags of every command that may run as one rank of `vifi launch` / torchrun (train, eval,
// prompt): --threads and --dist-timeout, and joining the job with them.
#pragma once
#include <CLI/CLI.hpp>

#include "vifi/experiment/components.h"

namespace vifi::cli {

struct RankFlags {
  int threads = 0;            // LibTorch CPU threads; 0: the node's cores shared by its ranks
  double dist_timeout = 600;  // seconds: rendezvous and every collective
};

void add_rank_flags(CLI::App& command, RankFlags& flags);

// This process in its job (one process, or a rank under WORLD_SIZE), its threads set.
experiment::RankContext join_job(const RankFlags& flags);

}  // namespace vifi::cli

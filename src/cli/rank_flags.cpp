// --threads / --dist-timeout (see header).
#include "rank_flags.h"
#include "flag_checks.h"

#include <chrono>

namespace vifi::cli {

void add_rank_flags(CLI::App& command, RankFlags& flags) {
  command.add_option("--threads", flags.threads, "CPU threads for LibTorch (default: all cores, shared by a node's ranks)")
      ->check(CLI::NonNegativeNumber);
  command
      .add_option("--dist-timeout", flags.dist_timeout,
                  "seconds to wait for every rank at rendezvous and in each collective (vifi launch/torchrun)")
      ->capture_default_str()
      ->check(finite_in(0.001, 604800));  // up to a week
}

experiment::RankContext join_job(const RankFlags& flags) {
  const auto ranks =
      experiment::join_job(flags.threads, std::chrono::milliseconds(static_cast<int64_t>(flags.dist_timeout * 1000)));
  experiment::set_threads(ranks.threads);
  return ranks;
}

}  // namespace vifi::cli

// torchrun's environment contract, read and validated once: RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT. `vifi launch`, torchrun and a SLURM script that
// exports these all start vifi the same way. No RANK and no WORLD_SIZE (or WORLD_SIZE=1) means a
// single process, which needs nothing from c10d.
#pragma once
#include <functional>
#include <optional>
#include <string>

namespace vifi::dist {

struct TorchrunEnv {
  int rank = 0;              // global rank, 0..world_size-1
  int world_size = 1;
  int local_rank = 0;        // rank on this node: picks cuda:local_rank
  int local_world_size = 1;  // processes on this node
  std::string master_addr;   // where rank 0 serves the TCPStore
  int master_port = 0;
};

// getenv-like lookup: nullopt when the variable is unset (tests pass a map).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// nullopt for a single process. Throws std::runtime_error naming the variable and its value for a
// partial or inconsistent environment ("WORLD_SIZE=2 but RANK=5").
std::optional<TorchrunEnv> read_torchrun_env(const EnvLookup& env = process_env());

}  // namespace vifi::dist

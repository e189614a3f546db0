// `vifi launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]
// -- <subcommand and args>`: torchrun for vifi. Starts N copies of this vifi binary running the
// subcommand with torchrun's environment; the engine is dist/launcher. `torchrun --no-python
// --nproc-per-node N vifi train ...` starts the same workers.
#include <unistd.h>

#include <climits>

#include "commands.h"
#include "flag_checks.h"
#include "vifi/dist/launcher.h"
#include "vifi/util/interrupt.h"

namespace vifi::cli {
namespace {

// This very binary, so the workers are the same vifi whatever PATH says.
std::string own_executable() {
  char path[PATH_MAX];
  const auto n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error("vifi launch: cannot resolve /proc/self/exe");
  return std::string(path, static_cast<size_t>(n));
}

}  // namespace

void add_launch_command(CLI::App& app) {
  auto o = std::make_shared<dist::LaunchOptions>();
  auto grace = std::make_shared<double>(5.0);
  auto* cmd = app.add_subcommand("launch", "Run a subcommand on several processes (torchrun-style, c10d)");
  cmd->add_option("--nproc-per-node", o->nproc_per_node, "worker processes on this node (one per GPU)")->required();
  cmd->add_option("--nnodes", o->nnodes, "nodes in the job")->capture_default_str();
  cmd->add_option("--node-rank", o->node_rank, "this node's index, 0..nnodes-1")->capture_default_str();
  cmd->add_option("--master-addr", o->master_addr, "address of node 0 (rank 0 serves the TCPStore)")
      ->capture_default_str();
  cmd->add_option("--master-port", o->master_port, "free TCP port on node 0")->capture_default_str();
  cmd->add_option("--kill-grace", *grace, "seconds between SIGTERM and SIGKILL when a worker failed")
      ->capture_default_str()
      ->check(finite_in(0, 3600));
  cmd->add_option("command", o->command, "after --: the vifi subcommand and its arguments")->required();
  cmd->callback([o, grace] {
    auto options = *o;
    options.command.insert(options.command.begin(), own_executable());
    options.kill_grace = std::chrono::milliseconds(static_cast<int64_t>(*grace * 1000));
    util::install_interrupt_handler();
    const int rc = dist::launch(options);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace vifi::cli

// A c10d process group for one training run: rendezvous through c10d's TCPStore (rank 0 serves
// it at MASTER_ADDR:MASTER_PORT), then ProcessGroupNCCL for CUDA tensors when LibTorch was built
// with NCCL, ProcessGroupGloo otherwise. This header keeps c10d out of its includes, so vifi
// builds without c10d (VIFI_DISTRIBUTED=OFF): connect() then throws and single-process runs, which
// never call it, are unaffected.
//
// Every call is collective: all ranks make the same calls in the same order. Tensors may live on
// any device; they are moved to the group's device (CUDA for NCCL) and back when needed.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vifi/dist/torchrun_env.h"

namespace vifi::dist {

// True when this build can create process groups (c10d + Gloo headers were found).
bool distributed_available();

// cuda:LOCAL_RANK when CUDA is available, else CPU.
torch::Device device_for(const TorchrunEnv& env);

// Which c10d backend carries the collectives.
enum class BackendChoice {
  automatic,  // NCCL for a CUDA device when LibTorch has it, Gloo otherwise
  gloo,       // Gloo even for CUDA (several ranks on one GPU, which NCCL refuses; tests)
};

struct ProcessGroupOptions {
  // Rendezvous (every rank must arrive) and every collective fail after this instead of hanging.
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
  BackendChoice backend = BackendChoice::automatic;
};

// An all-reduce in flight; wait() blocks until its result is in the tensor (or throws).
class PendingWork {
 public:
  explicit PendingWork(std::function<void()> wait) : wait_(std::move(wait)) {}
  void wait() {
    if (wait_) std::exchange(wait_, nullptr)();
  }

 private:
  std::function<void()> wait_;
};

class ProcessGroup {
 public:
  // Blocks until all env.world_size ranks arrived; throws std::runtime_error naming the address,
  // the rank and the timeout when a peer does not arrive in time.
  static std::shared_ptr<ProcessGroup> connect(const TorchrunEnv& env, torch::Device device,
                                               const ProcessGroupOptions& options = {});
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int world_size() const;
  std::string backend_name() const;  // "gloo" or "nccl"
  torch::Device device() const;      // where the backend wants its tensors

  // Sum over ranks, in place. `tensor` must be contiguous and on device().
  PendingWork all_reduce_sum_async(torch::Tensor tensor);
  // Sum / max over ranks, in place, any device (copied through device() if needed).
  void all_reduce_sum(torch::Tensor& tensor);
  void all_reduce_max(torch::Tensor& tensor);
  // Rank `root`'s values into `tensor` on every rank, in place, any device.
  void broadcast(torch::Tensor& tensor, int root);
  // Every rank's string, indexed by rank (through the TCPStore: for small, ragged data).
  std::vector<std::string> all_gather_strings(const std::string& mine);
  void barrier();

  int64_t all_reduce_calls() const;  // all-reduces issued so far (tests check when syncs happen)

  struct Impl;  // opaque: holds the c10d store and backend

 private:
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vifi::dist

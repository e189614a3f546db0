// c10d rendezvous and collectives (see header). The only file that includes c10d: its API moved
// between LibTorch 1.13 and 2.x (ProcessGroupGloo/NCCL derive from c10d::Backend since 2.0, from
// c10d::ProcessGroup before), so the version switch lives here alone.
#include "vifi/dist/process_group.h"

#include <torch/version.h>

#include <atomic>
#include <stdexcept>

#ifdef VIFI_DISTRIBUTED
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO  // PyTorch's own build defines it; the headers hide Gloo without it
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// A CUDA LibTorch defines USE_C10D_NCCL itself; NCCL's header may still be missing on the machine.
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define VIFI_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

#include "vifi/util/error_message.h"

namespace vifi::dist {

#ifdef VIFI_DISTRIBUTED
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif
#endif

struct ProcessGroup::Impl {
  int rank = 0, world_size = 1;
  torch::Device device = torch::kCPU;
  std::string backend;
  std::atomic<int64_t> all_reduces{0};
  int64_t gather_round = 0;
#ifdef VIFI_DISTRIBUTED
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Backend> group;
#endif
};

namespace {

#ifdef VIFI_DISTRIBUTED
bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr == "::1" || addr.rfind("127.", 0) == 0;
}

// GLOO_SOCKET_IFNAME as PyTorch reads it; loopback rendezvous stays on loopback; else the
// interface the hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (is_loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10::intrusive_ptr<c10d::Store> rendezvous(const TorchrunEnv& env, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(env.master_port);
  o.isServer = env.rank == 0;
  o.numWorkers = static_cast<std::size_t>(env.world_size);
  o.waitWorkers = true;  // rank 0 returns once every rank connected, or throws after the timeout
  o.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
}

c10::intrusive_ptr<Backend> make_backend(const c10::intrusive_ptr<c10d::Store>& store, const TorchrunEnv& env,
                                         torch::Device device, const ProcessGroupOptions& options,
                                         std::string* name) {
  const auto timeout = options.timeout;
#ifdef VIFI_NCCL
  if (device.is_cuda() && options.backend == BackendChoice::automatic) {
    auto o = c10d::ProcessGroupNCCL::Options::create();
    o->timeout = timeout;
    *name = "nccl";
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, o);
  }
#else
  (void)device;
#endif
  auto o = c10d::ProcessGroupGloo::Options::create(timeout);
  o->devices.push_back(gloo_device(env.master_addr));
  *name = "gloo";
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, o);
}
#endif

// Runs `fn` on `tensor` as the backend wants it (contiguous, on `device`), then copies back.
template <typename Fn>
void on_device(torch::Tensor& tensor, torch::Device device, Fn fn) {
  if (tensor.device() == device && tensor.is_contiguous()) return fn(tensor);
  auto staged = tensor.to(device).contiguous();
  fn(staged);
  tensor.copy_(staged);
}

}  // namespace

bool distributed_available() {
#ifdef VIFI_DISTRIBUTED
  return true;
#else
  return false;
#endif
}

torch::Device device_for(const TorchrunEnv& env) {
  if (!torch::cuda::is_available()) return torch::kCPU;
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (env.local_rank >= count)
    throw std::runtime_error("LOCAL_RANK=" + std::to_string(env.local_rank) + " but only " + std::to_string(count) +
                             " CUDA devices are visible (start at most that many processes per node)");
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank)};
}

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const TorchrunEnv& env, torch::Device device,
                                                    const ProcessGroupOptions& options) {
#ifdef VIFI_DISTRIBUTED
  auto impl = std::make_unique<Impl>();
  impl->rank = env.rank;
  impl->world_size = env.world_size;
  try {
    impl->store = rendezvous(env, options.timeout);
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("backend", impl->store);
    impl->group = make_backend(prefixed, env, device, options, &impl->backend);
  } catch (const std::exception& e) {
    throw std::runtime_error("RANK=" + std::to_string(env.rank) + " of WORLD_SIZE=" + std::to_string(env.world_size) +
                             ": rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port) +
                             " failed within the timeout of " + std::to_string(options.timeout.count() / 1000.0) +
                             " s (did every rank start, with the same MASTER_ADDR/MASTER_PORT?): " + util::error_message(e));
  }
  impl->device = impl->backend == "nccl" ? device : torch::Device(torch::kCPU);
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
#else
  (void)device;
  (void)options;
  throw std::runtime_error("WORLD_SIZE=" + std::to_string(env.world_size) +
                           " asks for several processes, but this vifi was built without c10d "
                           "(VIFI_DISTRIBUTED=OFF: LibTorch's c10d or Gloo headers were not found)");
#endif
}

int ProcessGroup::rank() const { return impl_->rank; }
int ProcessGroup::world_size() const { return impl_->world_size; }
std::string ProcessGroup::backend_name() const { return impl_->backend; }
torch::Device ProcessGroup::device() const { return impl_->device; }
int64_t ProcessGroup::all_reduce_calls() const { return impl_->all_reduces.load(); }

#ifdef VIFI_DISTRIBUTED
namespace {

PendingWork all_reduce(ProcessGroup::Impl& impl, torch::Tensor tensor, c10d::ReduceOp op) {
  TORCH_CHECK(tensor.is_contiguous() && tensor.device() == impl.device, "all-reduce expects a contiguous tensor on ",
              impl.device.str(), ", got one on ", tensor.device().str());
  std::vector<at::Tensor> tensors{tensor};
  c10d::AllreduceOptions o;
  o.reduceOp = op;
  auto work = impl.group->allreduce(tensors, o);
  impl.all_reduces += 1;
  return PendingWork([work, tensors]() { work->wait(); });
}

}  // namespace

PendingWork ProcessGroup::all_reduce_sum_async(torch::Tensor tensor) {
  return all_reduce(*impl_, std::move(tensor), c10d::ReduceOp::SUM);
}

void ProcessGroup::all_reduce_sum(torch::Tensor& tensor) {
  on_device(tensor, impl_->device, [&](torch::Tensor& t) { all_reduce(*impl_, t, c10d::ReduceOp::SUM).wait(); });
}

void ProcessGroup::all_reduce_max(torch::Tensor& tensor) {
  on_device(tensor, impl_->device, [&](torch::Tensor& t) { all_reduce(*impl_, t, c10d::ReduceOp::MAX).wait(); });
}

void ProcessGroup::broadcast(torch::Tensor& tensor, int root) {
  on_device(tensor, impl_->device, [&](torch::Tensor& t) {
    std::vector<at::Tensor> tensors{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    impl_->group->broadcast(tensors, o)->wait();
  });
}

std::vector<std::string> ProcessGroup::all_gather_strings(const std::string& mine) {
  const auto prefix = "vifi/gather/" + std::to_string(impl_->gather_round++) + "/";
  impl_->store->set(prefix + std::to_string(impl_->rank), std::vector<uint8_t>(mine.begin(), mine.end()));
  std::vector<std::string> all;
  for (int r = 0; r < impl_->world_size; ++r) {
    const auto bytes = impl_->store->get(prefix + std::to_string(r));  // waits up to the timeout
    all.emplace_back(bytes.begin(), bytes.end());
  }
  return all;
}

void ProcessGroup::barrier() {
  auto token = torch::zeros({1}, torch::TensorOptions().device(impl_->device));
  all_reduce(*impl_, token, c10d::ReduceOp::SUM).wait();
}
#else
// Unreachable without c10d: connect() never returns a group.
PendingWork ProcessGroup::all_reduce_sum_async(torch::Tensor) { throw std::logic_error("built without c10d"); }
void ProcessGroup::all_reduce_sum(torch::Tensor&) { throw std::logic_error("built without c10d"); }
void ProcessGroup::all_reduce_max(torch::Tensor&) { throw std::logic_error("built without c10d"); }
void ProcessGroup::broadcast(torch::Tensor&, int) { throw std::logic_error("built without c10d"); }
std::vector<std::string> ProcessGroup::all_gather_strings(const std::string&) {
  throw std::logic_error("built without c10d");
}
void ProcessGroup::barrier() { throw std::logic_error("built without c10d"); }
#endif

}  // namespace vifi::dist

// Multi-rank tests in one process: each rank is a thread with its own TCPStore client and
// ProcessGroupGloo over loopback, on a free port, so parallel ctest runs never collide.
#pragma once
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

#include "vifi/dist/process_group.h"

// tests/CMakeLists.txt defines VIFI_TESTS_REQUIRE_DISTRIBUTED=1 when the build was configured
// with VIFI_DISTRIBUTED=ON: distributed tests then fail in a build without c10d instead of
// skipping, so CI cannot pass with them silently off.
#ifndef VIFI_TESTS_REQUIRE_DISTRIBUTED
#define VIFI_TESTS_REQUIRE_DISTRIBUTED 0
#endif

namespace vifi::test {

// Call from SetUp(): skips the test (or fails it, when required) in a build without c10d.
inline void skip_unless_distributed() {
  if (dist::distributed_available()) return;
#if VIFI_TESTS_REQUIRE_DISTRIBUTED
  FAIL() << "built without c10d, but VIFI_DISTRIBUTED=ON requires the distributed tests to run";
#else
  GTEST_SKIP() << "built without c10d (VIFI_DISTRIBUTED=OFF)";
#endif
}

// A TCP port nobody listens on right now (the kernel picks it for a socket bound to port 0).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: cannot bind a loopback socket");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline dist::TorchrunEnv loopback_env(int rank, int world, int port) {
  dist::TorchrunEnv env;
  env.rank = rank;
  env.world_size = world;
  env.local_rank = rank;
  env.local_world_size = world;
  env.master_addr = "127.0.0.1";
  env.master_port = port;
  return env;
}

// Runs fn(rank, group) for every rank on its own thread; rethrows the first rank's exception.
// `device` and `backend`: the group's (the CUDA tests run Gloo ranks on one GPU).
inline void run_ranks(int world, const std::function<void(int, const std::shared_ptr<dist::ProcessGroup>&)>& fn,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30),
                      torch::Device device = torch::kCPU,
                      dist::BackendChoice backend = dist::BackendChoice::automatic) {
  const int port = free_port();
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        dist::ProcessGroupOptions options;
        options.timeout = timeout;
        options.backend = backend;
        auto group = dist::ProcessGroup::connect(loopback_env(r, world, port), device, options);
        fn(r, group);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace vifi::test

// util/memory: available_memory_mib read from made-up /proc and cgroup trees (v2, v1, no limit,
// a namespaced path that is not mounted), and from this machine.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/test_paths.h"
#include "vifi/util/memory.h"

namespace vifi {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A tree with 2048 MiB available and the given /proc/self/cgroup.
fs::path tree(const std::string& cgroup) {
  const auto root = test::scratch_dir();
  write(root / "proc/meminfo", "MemTotal:       4194304 kB\nMemFree:         1000 kB\nMemAvailable:    2097152 kB\n");
  write(root / "proc/self/cgroup", cgroup);
  return root;
}

TEST(AvailableMemory, TheCgroupV2LimitCapsMemAvailable) {
  const auto root = tree("0::/job.slice/run\n");
  write(root / "sys/fs/cgroup/job.slice/run/memory.max", "536870912\n");
  EXPECT_DOUBLE_EQ(util::available_memory_mib(root.string()), 512.0);
  write(root / "sys/fs/cgroup/job.slice/run/memory.max", "max\n");  // no limit: the machine's
  EXPECT_DOUBLE_EQ(util::available_memory_mib(root.string()), 2048.0);
  write(root / "sys/fs/cgroup/job.slice/run/memory.max", "8589934592\n");  // above it: the machine's
  EXPECT_DOUBLE_EQ(util::available_memory_mib(root.string()), 2048.0);
}

TEST(AvailableMemory, TheCgroupV1LimitCapsMemAvailable) {
  const auto root = tree("5:cpu,cpuacct:/\n4:memory:/process_api/abc\n0::/\n");
  write(root / "sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes", "1073741824\n");
  EXPECT_DOUBLE_EQ(util::available_memory_mib(root.string()), 1024.0);
  // Inside a cgroup namespace the named path is not mounted: the mount's root holds the limit.
  fs::remove_all(root / "sys/fs/cgroup/memory/process_api");
  write(root / "sys/fs/cgroup/memory/memory.limit_in_bytes", "268435456\n");
  EXPECT_DOUBLE_EQ(util::available_memory_mib(root.string()), 256.0);
}

TEST(AvailableMemory, NothingReadableMeansNoCheck) {
  const auto root = test::scratch_dir();
  EXPECT_EQ(util::available_memory_mib(root.string()), 0.0);
  write(root / "proc/meminfo", "MemAvailable:    not a number kB\n");
  EXPECT_EQ(util::available_memory_mib(root.string()), 0.0);
  write(root / "sys/fs/cgroup/memory.max", "1048576\n");  // a limit alone still counts
  EXPECT_DOUBLE_EQ(util::available_memory_mib(root.string()), 1.0);
}

TEST(AvailableMemory, ThisMachineHasSomeAndNoMoreThanMemAvailable) {
  std::ifstream meminfo("/proc/meminfo");
  double mem_available_mib = 0;
  for (std::string line; std::getline(meminfo, line);)
    if (line.rfind("MemAvailable:", 0) == 0) mem_available_mib = std::stod(line.substr(13)) / 1024.0;
  if (mem_available_mib == 0) GTEST_SKIP() << "no /proc/meminfo";
  const double mib = util::available_memory_mib();
  EXPECT_GT(mib, 0.0);
  EXPECT_LE(mib, mem_available_mib * 1.25);  // MemAvailable moves between the two reads
  EXPECT_GT(util::peak_resident_memory_mib(), 1.0);
}

}  // namespace
}  // namespace vifi

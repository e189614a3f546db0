// VmHWM from /proc: the high-water mark of resident memory since the process started;
// MemAvailable and the cgroup's limit: what can still be taken; glibc's malloc tuning.
#include "vifi/util/memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vifi/util/parse_number.h"

namespace vifi::util {

namespace {

// The first whitespace-separated word of `path`'s line that starts with `key` (whole file's
// first word when `key` is empty), as a non-negative integer; nullopt when absent or not one.
std::optional<int64_t> read_number(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const auto begin = line.find_first_not_of(" \t", key.size());
    if (begin == std::string::npos) return std::nullopt;
    const auto end = line.find_first_of(" \t", begin);
    return parse_non_negative(std::string_view(line).substr(begin, end == std::string::npos ? std::string::npos : end - begin));
  }
  return std::nullopt;
}

// The memory limit files of the process's cgroup, v2 and v1, most specific first:
// /proc/self/cgroup names the cgroup ("0::/path" for v2, "N:memory:/path" for v1); inside a
// cgroup namespace the path may not exist under /sys/fs/cgroup, so the mount's root is tried too.
std::vector<std::string> cgroup_limit_files(const std::string& root) {
  std::vector<std::string> files;
  std::ifstream in(root + "/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const auto controllers = "," + line.substr(first + 1, second - first - 1) + ",";
    const auto path = line.substr(second + 1);
    if (line.rfind("0::", 0) == 0)
      files.push_back(root + "/sys/fs/cgroup" + path + "/memory.max");
    else if (controllers.find(",memory,") != std::string::npos)
      files.push_back(root + "/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes");
  }
  files.push_back(root + "/sys/fs/cgroup/memory.max");
  files.push_back(root + "/sys/fs/cgroup/memory/memory.limit_in_bytes");
  return files;
}

}  // namespace

double peak_resident_memory_mib() {
  const auto kib = read_number("/proc/self/status", "VmHWM:");
  return kib ? static_cast<double>(*kib) / 1024.0 : 0.0;
}

double available_memory_mib(const std::string& root) {
  double mib = 0;
  if (const auto kib = read_number(root + "/proc/meminfo", "MemAvailable:")) mib = static_cast<double>(*kib) / 1024.0;
  for (const auto& file : cgroup_limit_files(root)) {
    const auto limit = read_number(file, "");  // v2's "max" (no limit) reads as nullopt
    if (!limit) continue;
    const double cap = static_cast<double>(*limit) / (1024.0 * 1024.0);
    return mib > 0 ? std::min(mib, cap) : cap;
  }
  return mib;
}

void keep_large_buffers_for_reuse() {
#if defined(__GLIBC__)
  constexpr int kMiB = 1024 * 1024;
  mallopt(M_MMAP_THRESHOLD, 32 * kMiB);   // glibc's dynamic threshold stops at 32 MiB anyway
  mallopt(M_TRIM_THRESHOLD, 128 * kMiB);  // free heap tops up to this stay mapped
#endif
}

}  // namespace vifi::util

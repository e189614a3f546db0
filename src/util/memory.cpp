// VmHWM from /proc: the high-water mark of resident memory since the process started; glibc's
// malloc tuning.
#include "vifi/util/memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <fstream>
#include <string>

namespace vifi::util {

double peak_resident_memory_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

void keep_large_buffers_for_reuse() {
#if defined(__GLIBC__)
  constexpr int kMiB = 1024 * 1024;
  mallopt(M_MMAP_THRESHOLD, 32 * kMiB);   // glibc's dynamic threshold stops at 32 MiB anyway
  mallopt(M_TRIM_THRESHOLD, 128 * kMiB);  // free heap tops up to this stay mapped
#endif
}

}  // namespace vifi::util

// VmHWM from /proc: the high-water mark of resident memory since the process started.
#include "vifi/util/memory.h"

#include <fstream>
#include <string>

namespace vifi::util {

double peak_resident_memory_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

}  // namespace vifi::util

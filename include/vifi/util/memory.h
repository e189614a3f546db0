// Peak resident memory of this process (Linux /proc/self/status VmHWM), for progress lines and
// CPU benchmarks; 0 where /proc is absent.
#pragma once

namespace vifi::util {

double peak_resident_memory_mib();

}  // namespace vifi::util

// Process memory: peak resident memory (Linux /proc/self/status VmHWM) for progress lines and CPU
// benchmarks, and the allocator's handling of the large buffers the data pipeline churns.
#pragma once
#include <string>

namespace vifi::util {

// 0 where /proc is absent.
double peak_resident_memory_mib();

// The most memory this process could take without swapping or being killed, in MiB: the
// kernel's MemAvailable (/proc/meminfo), capped by the process's cgroup limit (v2 memory.max,
// v1 memory.limit_in_bytes) where one is set. An upper bound for refusing requests that cannot
// fit (the cgroup's own usage is not subtracted: it counts reclaimable page cache). 0 where
// nothing can be read (no check). `root`: the tree /proc and /sys are read under ("" is the
// machine's own; tests give a made-up one).
double available_memory_mib(const std::string& root = "");

// Keeps freed buffers of up to 32 MiB (decoded frames, clip tensors) in the heap for reuse
// instead of returning each to the kernel: glibc maps every allocation above its mmap threshold
// afresh, so each frame cost page faults and zeroing. Measured in docs/performance.md (the
// prepared-set loader 1.3x on 1 thread, 2x on 2). Call once, before threads start (glibc only;
// a no-op elsewhere).
void keep_large_buffers_for_reuse();

}  // namespace vifi::util

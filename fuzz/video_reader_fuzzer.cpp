// libFuzzer target for data/video_reader: the bytes of one input are written to a file and
// opened, indexed and decoded the way the loader does (sparse reads at the start, middle and
// end, then a full decode). A VideoError is the expected answer to bad bytes; any other
// exception, crash, leak or sanitizer report is a finding. Build: fuzz/CMakeLists.txt (clang).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "vifi/data/video_reader.h"
#include "vifi/util/logging.h"

namespace {

// One scratch file per fuzzing process; /dev/shm keeps it off the disk when it exists.
const std::string& scratch_path() {
  static const std::string path = [] {
    std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return dir + "/vifi-fuzz-" + std::to_string(getpid()) + ".bin";
  }();
  return path;
}

void exercise(const std::string& path) {
  vifi::data::VideoReader reader(path);
  const int64_t n = reader.info().num_frames;
  // Bounds the work per input: the fuzzer looks for memory faults, not for slow files.
  if (n < 1 || n > 2000) return;
  reader.read_frames({0, n / 2, n - 1, n / 2});
  reader.read_frames({n - 1, 0});
  if (n <= 300) reader.read_frames_full_decode({0, n - 1});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vifi::util::set_log_sink([](vifi::util::LogLevel, const std::string&) {});  // quiet
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    exercise(path);
  } catch (const vifi::data::VideoError&) {
    // bad data, reported as such: the answer we want
  }
  return 0;
}

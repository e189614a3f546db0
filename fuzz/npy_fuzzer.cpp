// libFuzzer target for util/npy's reader: the arrays users hand `vifi embed --videos` and the
// feature files of a search index. One input is one file's bytes, read with read_npy. Expected
// answers to bad bytes: a std::runtime_error naming the file. Findings: any other exception (a
// c10::Error from an allocation the reader should have refused, std::out_of_range, ...), a
// tensor larger than the bytes that hold it, a crash or a sanitizer report. Seeds
// (fuzz/corpus-npy): the files NumPy writes in each format version (tests/fixtures/npy, made by
// tools/make_npy_fixtures.py) and two small arrays of tests/fixtures/clip_tiny. Build:
// fuzz/CMakeLists.txt (clang, LibTorch).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include "vifi/util/npy.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "npy_fuzzer: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  torch::Tensor t;
  try {
    t = vifi::util::read_npy(in, size, "input.npy");
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).rfind("input.npy: ", 0) != 0) finding(std::string("an error not naming the file: ") + e.what());
    return 0;
  } catch (const std::exception& e) {
    finding(std::string("an exception other than std::runtime_error: ") + e.what());
  }
  // What was read came from the input: at least one byte per element (|u1 is the smallest).
  if (static_cast<uint64_t>(t.numel()) > size) finding("a tensor of " + std::to_string(t.numel()) + " elements from " +
                                                       std::to_string(size) + " bytes");
  if (t.scalar_type() != torch::kFloat32 && t.scalar_type() != torch::kInt64) finding("a dtype other than float32 or int64");
  return 0;
}

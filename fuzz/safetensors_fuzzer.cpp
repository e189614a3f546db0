// libFuzzer target for util/safetensors, the reader of `vifi export --format safetensors` files
// and of safetensors weights given to --weights: the bytes of one input are parsed; what parses
// is written back and parsed again, and must come back the same (names, dtypes, shapes, bytes,
// metadata). A std::runtime_error is the expected answer to bad bytes; any other exception, a
// round trip that differs, a crash, leak or sanitizer report is a finding. Build:
// fuzz/CMakeLists.txt (clang, LibTorch).
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "vifi/util/safetensors.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "safetensors_fuzzer: %s\n", what.c_str());
  std::abort();
}

void expect_same(const vifi::util::SafeTensors& a, const vifi::util::SafeTensors& b) {
  if (a.metadata != b.metadata) finding("metadata changed in a round trip");
  if (a.tensors.size() != b.tensors.size()) finding("tensor count changed in a round trip");
  for (const auto& [name, x] : a.tensors) {
    const auto it = b.tensors.find(name);
    if (it == b.tensors.end()) finding(name + " lost in a round trip");
    const auto& y = it->second;
    if (x.scalar_type() != y.scalar_type() || x.sizes() != y.sizes()) finding(name + ": dtype or shape changed in a round trip");
    // Bytes, not values: fuzzed floats hold NaNs, which equal() never calls equal.
    const auto xc = x.contiguous(), yc = y.contiguous();
    if (xc.nbytes() > 0 && std::memcmp(xc.data_ptr(), yc.data_ptr(), xc.nbytes()) != 0) finding(name + ": bytes changed in a round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  vifi::util::SafeTensors parsed;
  try {
    parsed = vifi::util::parse_safetensors(bytes, "input");
  } catch (const std::runtime_error&) {
    return 0;  // bad data, reported as such: the answer we want
  }
  std::string written;
  try {
    written = vifi::util::serialize_safetensors(parsed);
  } catch (const std::exception& e) {
    finding(std::string("a parsed file does not serialise: ") + e.what());
  }
  try {
    expect_same(parsed, vifi::util::parse_safetensors(written, "round trip"));
  } catch (const std::runtime_error& e) {
    finding(std::string("vifi's own output does not parse: ") + e.what());
  }
  return 0;
}

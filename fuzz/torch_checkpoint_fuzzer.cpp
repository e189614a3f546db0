// libFuzzer target for util/torch_load and model/reference_checkpoint: the readers of torch.save
// files users download (the authors' released checkpoints, converted ones, OpenAI-layout state
// dicts). An input is one of two things:
// - a pickle (data.pkl alone): run through the pickle machine with storage records served from
//   memory (64 KiB each; keys starting with 'm' are missing, as in a torn archive);
// - a whole zip archive (it starts with "PK\3\4"): written to a temporary file and read with
//   torch_load, so LibTorch's zip reader and vifi's checks around it see it as a user's file.
// Then every tensor reachable from the root is materialised and the checkpoint consumer
// (reference_file_of, map_reference_state) runs on the file.
// Expected answers to bad bytes: a std::runtime_error whose message names the file. Findings: any
// other exception (a c10::Error from LibTorch that escaped vifi's checks, std::out_of_range, ...),
// a tensor view reaching outside its storage, a crash, leak or sanitizer report.
// Seeds (fuzz/corpus-torch_checkpoint): tools/make-checkpoint-fuzz-seeds.py. Build:
// fuzz/CMakeLists.txt (clang, LibTorch).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "vifi/model/reference_checkpoint.h"
#include "vifi/util/torch_load.h"

namespace {

using vifi::util::PickleValue;
using vifi::util::TorchFile;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "torch_checkpoint_fuzzer: %s\n", what.c_str());
  std::abort();
}

// Runs `step`; a std::runtime_error naming `source` is the expected refusal, anything else a finding.
template <typename Step>
bool refused(const char* what, const std::string& source, Step&& step) {
  try {
    step();
    return false;
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find(source) == std::string::npos)
      finding(std::string(what) + ": an error that does not name the file: " + e.what());
    return true;
  } catch (const std::exception& e) {
    finding(std::string(what) + ": an exception other than std::runtime_error: " + e.what());
  }
}

std::string record_bytes(const std::string& key) {
  if (!key.empty() && key[0] == 'm') throw std::runtime_error("input.pkl: storage data/" + key + " is missing");
  std::string bytes(64 * 1024, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + key.size());
  return bytes;
}

// Every value reachable from the root, once each (the graph may share and cycle).
std::vector<const PickleValue*> reachable(const PickleValue& root) {
  std::vector<const PickleValue*> out, todo{&root};
  std::unordered_set<const PickleValue*> seen{&root};
  const auto visit = [&](const PickleValue* v) {
    if (v && seen.insert(v).second) todo.push_back(v);
  };
  while (!todo.empty()) {
    const auto* v = todo.back();
    todo.pop_back();
    out.push_back(v);
    for (const auto* item : v->items) visit(item);
    for (const auto* arg : v->args) visit(arg);
    for (const auto& [key, value] : v->entries) {
      visit(key);
      visit(value);
    }
    visit(v->state);
  }
  return out;
}

void check_tensors(const TorchFile& file) {
  for (const auto* v : reachable(file.root())) {
    v->describe();
    if (v->has_entries()) v->get("model");
    if (v->type != PickleValue::Type::tensor) continue;
    torch::Tensor t;
    if (refused("TorchFile::tensor", file.source(), [&] { t = file.tensor(*v); })) continue;
    // The view must lie inside the storage it was given: LibTorch's own code is not instrumented.
    if (t.numel() == 0) continue;
    int64_t last = t.storage_offset();
    for (int64_t d = 0; d < t.dim(); ++d) last += (t.size(d) - 1) * t.stride(d);
    const auto storage_elements = static_cast<int64_t>(t.storage().nbytes() / t.element_size());
    if (last < 0 || last >= storage_elements)
      finding("a view reaching element " + std::to_string(last) + " of a storage of " + std::to_string(storage_elements));
    t.contiguous();
  }
}

void check_consumer(const TorchFile& file) {
  vifi::model::ReferenceFile reference;
  if (refused("reference_file_of", file.source(), [&] { reference = vifi::model::reference_file_of(file); })) return;
  refused("map_reference_state", file.source(), [&] { vifi::model::map_reference_state(reference.state, file.source()); });
}

// A temporary file for archive inputs, one per fuzzing process, removed at exit.
const std::string& archive_path() {
  static const std::string path = [] {
    const auto p = std::filesystem::temp_directory_path() / ("vifi-torch-fuzz-" + std::to_string(getpid()) + ".pt");
    std::atexit([] { std::remove(archive_path().c_str()); });
    return p.string();
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  TorchFile file;
  if (bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
    const auto& path = archive_path();
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (refused("torch_load", path, [&] { file = vifi::util::torch_load(path); })) return 0;
  } else {
    if (refused("from_pickle", "input.pkl", [&] { file = TorchFile::from_pickle(bytes, record_bytes, "input.pkl"); }))
      return 0;
  }
  check_tensors(file);
  check_consumer(file);
  return 0;
}

// torch.save files read in C++ without running anything from them: the role of PyTorch's
// torch.load(weights_only=True), but tolerant, so a released checkpoint's optimiser state,
// pickled yacs config or numpy scalars never stop vifi from reading the weights next to them.
// Owns: the zip container (LibTorch's PyTorchStreamReader), the pickle machine, tensor rebuilds.
//
// Why vifi has its own pickle machine: LibTorch's unpickler resolves every global to a
// TorchScript class, so it rejects dict subclasses (yacs CfgNode) and anything it cannot type.
// Here no global is ever called: a known few are interpreted (tensor and parameter rebuilds,
// OrderedDict, set, _codecs.encode); every other one, and anything built from it, becomes an
// inert `object` value recording its class name, arguments, items and state.
//
// Format: torch >= 1.6's zip archive, <prefix>/data.pkl (pickle protocols 2-5) plus one record
// <prefix>/data/<key> per storage. Tensors are read lazily (TorchFile::tensor), so reading a
// checkpoint's `model` does not load its optimiser state. The legacy (pre-1.6) format and
// TorchScript archives are refused with an error saying so.
#pragma once
#include <torch/torch.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vifi::util {

// A tensor of the file: its storage record, dtype and view geometry (checked to lie inside the
// storage when the pickle is read).
struct TensorRef {
  std::string storage;  // record key under data/
  c10::ScalarType dtype = c10::ScalarType::Float;
  int64_t storage_numel = 0;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
  bool storage_only = false;  // a bare storage (a persistent id never rebuilt into a tensor)
};

// One Python value of an unpickled file. Values point at each other inside the TorchFile that
// owns them; the graph may share and even cycle (pickle's memo), so walk it with a depth limit.
struct PickleValue {
  enum class Type { none, boolean, integer, floating, string, bytes, list, tuple, dict, set, tensor, global, object };
  Type type = Type::none;
  bool boolean = false;
  int64_t integer = 0;  // an int beyond 64 bits is an `object` of class builtins.int
  double floating = 0.0;
  std::string text;                                        // string/bytes payload; global/object: "module.name"
  std::vector<const PickleValue*> items;                   // list, tuple, set; object: items appended to it
  std::vector<std::pair<const PickleValue*, const PickleValue*>> entries;  // dict; object: its dict items
  std::vector<const PickleValue*> args;                    // object: the arguments it was built with
  const PickleValue* state = nullptr;                      // BUILD state (objects, OrderedDict's _metadata)
  TensorRef tensor;

  // The entry of a dict (or dict-like object such as yacs' CfgNode) under string `key`, else nullptr.
  const PickleValue* get(std::string_view key) const;
  bool has_entries() const { return type == Type::dict || type == Type::object; }
  // "dict", "tensor", "object yacs.config.CfgNode", ... for error messages.
  std::string describe() const;
};

class TorchFile {
 public:
  TorchFile();
  ~TorchFile();
  TorchFile(TorchFile&&) noexcept;
  TorchFile& operator=(TorchFile&&) noexcept;

  const PickleValue& root() const { return *root_; }
  const std::string& source() const { return source_; }
  // The tensor of a `tensor` value, sharing storage with other views of the same record.
  // Throws std::runtime_error naming the file and record when it is missing or too short.
  torch::Tensor tensor(const PickleValue& value) const;

  // Storage records come from `read_record(key) -> bytes`; for tests and the fuzzer.
  using RecordReader = std::function<std::string(const std::string& key)>;
  // Interprets `pickle`; throws std::runtime_error "source: data.pkl: ... at byte N".
  static TorchFile from_pickle(std::string_view pickle, RecordReader read_record, const std::string& source);

 private:
  friend class Unpickler;
  std::deque<PickleValue> values_;
  const PickleValue* root_ = nullptr;
  std::string source_;
  RecordReader read_record_;
  mutable std::map<std::string, torch::Tensor> storages_;
};

// Opens a torch.save file. Throws std::runtime_error naming `path`: not found, not a zip
// archive (legacy torch.save format, or not PyTorch at all), a TorchScript archive, or a pickle
// this reader cannot follow.
TorchFile torch_load(const std::string& path);

}  // namespace vifi::util

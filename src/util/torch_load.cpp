// torch.save files without Python (see header). The pickle machine follows the opcode table of
// CPython's Lib/pickle.py (protocols 0-5 minus extension codes and out-of-band buffers); tensor
// rebuilds follow torch/_utils.py (_rebuild_tensor_v2) and torch/serialization.py (persistent
// ids ('storage', storage_type, key, location, numel)); typed-container tags follow LibTorch's
// torch/csrc/jit/serialization/pickler.cpp.
#include "vifi/util/torch_load.h"

#include <caffe2/serialize/inline_container.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "vifi/util/parse_number.h"
namespace vifi::util {
namespace {

using Type = PickleValue::Type;

// torch.<Name>Storage -> dtype (torch/storage.py's legacy typed storages).
bool storage_dtype(const std::string& name, c10::ScalarType* dtype) {
  static const std::map<std::string, c10::ScalarType> kTypes = {
      {"torch.FloatStorage", c10::ScalarType::Float},   {"torch.DoubleStorage", c10::ScalarType::Double},
      {"torch.HalfStorage", c10::ScalarType::Half},     {"torch.BFloat16Storage", c10::ScalarType::BFloat16},
      {"torch.LongStorage", c10::ScalarType::Long},     {"torch.IntStorage", c10::ScalarType::Int},
      {"torch.ShortStorage", c10::ScalarType::Short},   {"torch.CharStorage", c10::ScalarType::Char},
      {"torch.ByteStorage", c10::ScalarType::Byte},     {"torch.BoolStorage", c10::ScalarType::Bool},
      {"torch.UntypedStorage", c10::ScalarType::Byte},  {"torch.ComplexFloatStorage", c10::ScalarType::ComplexFloat},
      {"torch.ComplexDoubleStorage", c10::ScalarType::ComplexDouble}};
  const auto it = kTypes.find(name);
  if (it == kTypes.end()) return false;
  *dtype = it->second;
  return true;
}

// Code points < 256 of UTF-8 `text` as bytes (_codecs.encode(s, "latin1"), which protocol-2
// pickles use for Python 3 bytes); false when `text` has others or is not UTF-8.
bool latin1_bytes(const std::string& text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else if ((c & 0xE0) == 0xC0 && c <= 0xC3 && i + 1 < text.size()) {
      const auto d = static_cast<unsigned char>(text[++i]);
      if ((d & 0xC0) != 0x80) return false;
      out->push_back(static_cast<char>(((c & 0x1F) << 6) | (d & 0x3F)));
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

// The pickle virtual machine. Every value it makes lives in the TorchFile's deque; the stack,
// marks and memo hold pointers into it.
class Unpickler {
 public:
  Unpickler(std::string_view data, TorchFile& file) : data_(data), file_(file) {}

  const PickleValue* run() {
    while (true) {
      if (pos_ >= data_.size()) fail("the pickle ends without STOP");
      op_pos_ = pos_;
      const auto op = static_cast<unsigned char>(data_[pos_++]);
      if (op == '.') break;
      step(op);
    }
    if (stack_.size() != 1) fail("STOP with " + std::to_string(stack_.size()) + " values on the stack, expected 1");
    return stack_.back();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(file_.source_ + ": data.pkl: " + what + " at byte " + std::to_string(op_pos_));
  }

  PickleValue* make(Type type) {
    file_.values_.emplace_back();
    auto* v = &file_.values_.back();
    v->type = type;
    return v;
  }
  PickleValue* make_string(Type type, std::string text) {
    auto* v = make(type);
    v->text = std::move(text);
    return v;
  }
  PickleValue* make_int(int64_t value) {
    auto* v = make(Type::integer);
    v->integer = value;
    return v;
  }
  PickleValue* make_object(const std::string& class_name, std::vector<const PickleValue*> args) {
    auto* v = make_string(Type::object, class_name);
    v->args = std::move(args);
    return v;
  }

  // --- reading the byte stream ---
  std::string_view take(uint64_t n) {
    if (n > data_.size() - pos_) fail("a length of " + std::to_string(n) + " runs past the end of the pickle");
    const auto out = data_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return out;
  }
  uint64_t little_endian(int bytes) {
    const auto s = take(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[static_cast<size_t>(i)]);
    return v;
  }
  std::string line() {
    const auto end = data_.find('\n', pos_);
    if (end == std::string_view::npos) fail("an unterminated text argument");
    std::string out(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return out;
  }

  // --- the stack ---
  PickleValue* pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("a pop from an empty stack");
    auto* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PickleValue* top() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("an empty stack");
    return stack_.back();
  }
  std::vector<const PickleValue*> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const auto mark = marks_.back();
    marks_.pop_back();
    std::vector<const PickleValue*> out(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return out;
  }
  void push(PickleValue* v) { stack_.push_back(v); }

  void memo_put(uint64_t index) { memo_[index] = top(); }
  uint64_t decimal_index() {  // protocol 0's GET/PUT argument
    const auto text = line();
    const auto index = parse_non_negative(text);
    if (!index) fail("a memo index '" + text.substr(0, 32) + "'");
    return static_cast<uint64_t>(*index);
  }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " is not defined");
    push(it->second);
  }

  // --- numbers ---
  void push_decimal_int(const std::string& text) {
    if (text == "00" || text == "01") {  // protocol 0 booleans
      auto* v = make(Type::boolean);
      v->boolean = text == "01";
      return push(v);
    }
    std::string_view digits = text;
    if (!digits.empty() && digits.back() == 'L') digits.remove_suffix(1);
    if (const auto value = parse_int64(digits)) return push(make_int(*value));
    // Digits past int64: a Python int vifi never needs the value of.
    const auto magnitude = digits.substr(!digits.empty() && digits.front() == '-' ? 1 : 0);
    if (!magnitude.empty() && magnitude.find_first_not_of("0123456789") == std::string_view::npos)
      return push(make_string(Type::object, "builtins.int"));
    fail("an integer '" + text.substr(0, 32) + "'");
  }
  void push_long(uint64_t n) {  // two's complement, little-endian
    const auto bytes = take(n);
    if (n > 8) return push(make_string(Type::object, "builtins.int"));
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(bytes[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
    push(make_int(static_cast<int64_t>(v)));
  }

  // --- containers ---
  PickleValue* mutable_container(const char* op) {
    auto* target = top();
    if (target->type != Type::list && target->type != Type::dict && target->type != Type::set &&
        target->type != Type::object)
      fail(std::string(op) + " on a " + target->describe());
    return target;
  }
  void set_items(const std::vector<const PickleValue*>& kv) {
    if (kv.size() % 2) fail("SETITEMS with an odd number of values");
    auto* target = mutable_container("SETITEMS");
    if (target->type != Type::dict && target->type != Type::object) fail("SETITEMS on a " + target->describe());
    // A pickled dict never repeats a key; if a crafted one does, get() sees the last, as Python would.
    for (size_t i = 0; i < kv.size(); i += 2) target->entries.emplace_back(kv[i], kv[i + 1]);
  }
  void append_items(const std::vector<const PickleValue*>& values, Type set_or_list) {
    auto* target = mutable_container(set_or_list == Type::set ? "ADDITEMS" : "APPENDS");
    if (target->type == Type::dict) fail("APPENDS on a dict");
    target->items.insert(target->items.end(), values.begin(), values.end());
  }

  // --- globals and calls: nothing is ever executed ---
  void push_global(const std::string& module, const std::string& name) {
    if (module.empty() || name.empty() || module.size() > 256 || name.size() > 256) fail("a malformed GLOBAL");
    push(make_string(Type::global, module + "." + name));
  }

  PickleValue* rebuild_tensor(const std::vector<const PickleValue*>& args) {
    if (args.size() < 4) fail("_rebuild_tensor with " + std::to_string(args.size()) + " arguments, expected >= 4");
    const auto* storage = args[0];
    if (storage->type != Type::tensor || !storage->tensor.storage_only)
      fail("_rebuild_tensor of a " + storage->describe() + ", expected a storage");
    auto* v = make(Type::tensor);
    v->tensor = storage->tensor;
    v->tensor.storage_only = false;
    v->tensor.offset = int_arg(args[1], "storage offset");
    v->tensor.size = int_tuple(args[2], "size");
    v->tensor.stride = int_tuple(args[3], "stride");
    check_geometry(v->tensor);
    return v;
  }
  int64_t int_arg(const PickleValue* v, const char* what) {
    if (v->type != Type::integer) fail(std::string("a tensor ") + what + " that is a " + v->describe());
    return v->integer;
  }
  std::vector<int64_t> int_tuple(const PickleValue* v, const char* what) {
    if (v->type != Type::tuple && v->type != Type::list) fail(std::string("a tensor ") + what + " that is a " + v->describe());
    if (v->items.size() > 64) fail(std::string("a tensor ") + what + " of " + std::to_string(v->items.size()) + " dimensions");
    std::vector<int64_t> out;
    for (const auto* item : v->items) out.push_back(int_arg(item, what));
    return out;
  }
  // The view must lie inside its storage and may not have more elements than it (real
  // checkpoints never hold overlapping views, and a huge zero-stride view would exhaust memory
  // the first time it is copied).
  void check_geometry(const TensorRef& t) {
    if (t.size.size() != t.stride.size()) fail("a tensor whose size and stride differ in length");
    if (t.offset < 0) fail("a negative storage offset");
    for (size_t i = 0; i < t.size.size(); ++i)
      if (t.size[i] < 0 || t.stride[i] < 0) fail("a negative tensor size or stride");
    int64_t numel = 1, last = t.offset;
    for (size_t i = 0; i < t.size.size(); ++i) {
      if (t.size[i] == 0) return;  // no element to reach
      int64_t reach = 0;
      if (__builtin_mul_overflow(numel, t.size[i], &numel) ||
          __builtin_mul_overflow(t.size[i] - 1, t.stride[i], &reach) || __builtin_add_overflow(last, reach, &last))
        fail("a tensor geometry that overflows");
    }
    if (last >= t.storage_numel || numel > t.storage_numel)
      fail("a tensor of " + std::to_string(numel) + " elements reaching element " + std::to_string(last) +
           " of a storage of " + std::to_string(t.storage_numel));
  }

  PickleValue* call(const PickleValue* callable, const PickleValue* args_tuple) {
    if (args_tuple->type != Type::tuple) fail("REDUCE with arguments that are a " + args_tuple->describe());
    const auto& args = args_tuple->items;
    const auto& name = callable->text;
    if (callable->type != Type::global) return make_object("<call of " + callable->describe() + ">", args);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") return rebuild_tensor(args);
    if ((name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") &&
        !args.empty() && args[0]->type == Type::tensor)
      return const_cast<PickleValue*>(args[0]);
    // LibTorch's own pickler (torch::pickle_save) tags typed containers; the value is the argument.
    if ((name == "torch.jit._pickle.restore_type_tag" || name == "torch.jit._pickle.build_intlist" ||
         name == "torch.jit._pickle.build_tensorlist" || name == "torch.jit._pickle.build_doublelist" ||
         name == "torch.jit._pickle.build_boollist") &&
        !args.empty())
      return const_cast<PickleValue*>(args[0]);
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
      auto* d = make(Type::dict);
      if (!args.empty() && args[0]->type == Type::list) {
        for (const auto* pair : args[0]->items) {
          if (pair->type != Type::tuple || pair->items.size() != 2) fail("OrderedDict built from a non-pair");
          d->entries.emplace_back(pair->items[0], pair->items[1]);
        }
      }
      return d;
    }
    if ((name == "builtins.set" || name == "builtins.frozenset") && args.size() <= 1) {
      auto* s = make(Type::set);
      if (!args.empty() && (args[0]->type == Type::list || args[0]->type == Type::tuple)) s->items = args[0]->items;
      return s;
    }
    if (name == "_codecs.encode" && args.size() == 2 && args[0]->type == Type::string) {
      std::string bytes;
      if (latin1_bytes(args[0]->text, &bytes)) return make_string(Type::bytes, std::move(bytes));
    }
    return make_object(name, args);
  }

  // persistent id ('storage', storage_type, key, location, numel) -> a storage value.
  PickleValue* persistent_load(const PickleValue* pid) {
    if (pid->type != Type::tuple || pid->items.size() < 5 || pid->items[0]->type != Type::string ||
        pid->items[0]->text != "storage")
      fail("a persistent id that is not ('storage', type, key, location, numel)");
    const auto* type = pid->items[1];
    const auto* key = pid->items[2];
    const auto* numel = pid->items[4];
    auto* v = make(Type::tensor);
    if (type->type != Type::global || !storage_dtype(type->text, &v->tensor.dtype))
      fail("a storage of unknown type " + type->describe());
    if (key->type != Type::string || key->text.empty() || key->text.size() > 64 ||
        key->text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
            std::string::npos)
      fail("a storage key that is not a plain name");
    if (numel->type != Type::integer || numel->integer < 0) fail("a storage size that is not a count");
    v->tensor.storage = key->text;
    v->tensor.storage_numel = numel->integer;
    v->tensor.storage_only = true;
    return v;
  }

  void step(unsigned char op) {
    switch (op) {
      case 0x80: take(1); return;  // PROTO
      case 0x95: take(8); return;  // FRAME: frames are only a read-ahead hint
      case '(': marks_.push_back(stack_.size()); return;
      case '0':
        if (!marks_.empty() && marks_.back() == stack_.size()) marks_.pop_back(); else pop();
        return;
      case '1': pop_to_mark(); return;
      case '2': push(top()); return;
      case 'N': push(make(Type::none)); return;
      case 0x88: case 0x89: {
        auto* v = make(Type::boolean);
        v->boolean = op == 0x88;
        return push(v);
      }
      case 'I': return push_decimal_int(line());
      case 'L': return push_decimal_int(line());
      case 'J': return push(make_int(static_cast<int32_t>(static_cast<uint32_t>(little_endian(4)))));
      case 'K': return push(make_int(static_cast<int64_t>(little_endian(1))));
      case 'M': return push(make_int(static_cast<int64_t>(little_endian(2))));
      case 0x8a: return push_long(little_endian(1));
      case 0x8b: {
        const auto n = static_cast<int32_t>(static_cast<uint32_t>(little_endian(4)));
        if (n < 0) fail("a LONG4 with a negative length");
        return push_long(static_cast<uint64_t>(n));
      }
      case 'F': {
        const auto text = line();
        auto* v = make(Type::floating);
        try {
          v->floating = std::stod(text);
        } catch (const std::exception&) {
          fail("a float '" + text.substr(0, 32) + "'");
        }
        return push(v);
      }
      case 'G': {
        const auto s = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(s[static_cast<size_t>(i)]);
        auto* v = make(Type::floating);
        std::memcpy(&v->floating, &bits, sizeof bits);
        return push(v);
      }
      case 'S': {  // protocol 0 quoted string: the quotes are dropped, escapes kept as written
        auto text = line();
        if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') && text.back() == text.front())
          text = text.substr(1, text.size() - 2);
        return push(make_string(Type::string, std::move(text)));
      }
      case 'T': return push(make_string(Type::string, std::string(take(little_endian(4)))));
      case 'U': return push(make_string(Type::string, std::string(take(little_endian(1)))));
      case 'V': return push(make_string(Type::string, line()));
      case 'X': return push(make_string(Type::string, std::string(take(little_endian(4)))));
      case 0x8c: return push(make_string(Type::string, std::string(take(little_endian(1)))));
      case 0x8d: return push(make_string(Type::string, std::string(take(little_endian(8)))));
      case 'B': return push(make_string(Type::bytes, std::string(take(little_endian(4)))));
      case 'C': return push(make_string(Type::bytes, std::string(take(little_endian(1)))));
      case 0x8e: case 0x96: return push(make_string(Type::bytes, std::string(take(little_endian(8)))));
      case ']': return push(make(Type::list));
      case ')': return push(make(Type::tuple));
      case '}': return push(make(Type::dict));
      case 0x8f: return push(make(Type::set));
      case 'l': case 't': case 0x91: {
        auto* v = make(op == 'l' ? Type::list : op == 't' ? Type::tuple : Type::set);
        v->items = pop_to_mark();
        return push(v);
      }
      case 0x85: case 0x86: case 0x87: {
        const size_t n = op - 0x84u;
        std::vector<const PickleValue*> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop();
        auto* v = make(Type::tuple);
        v->items = std::move(items);
        return push(v);
      }
      case 'd': {
        const auto kv = pop_to_mark();
        push(make(Type::dict));
        return set_items(kv);
      }
      case 'a': {
        auto* value = pop();
        return append_items({value}, Type::list);
      }
      case 'e': return append_items(pop_to_mark(), Type::list);
      case 0x90: return append_items(pop_to_mark(), Type::set);
      case 's': {
        auto* value = pop();
        auto* key = pop();
        return set_items({key, value});
      }
      case 'u': return set_items(pop_to_mark());
      case 'g': return memo_get(decimal_index());
      case 'h': return memo_get(little_endian(1));
      case 'j': return memo_get(little_endian(4));
      case 'p': return memo_put(decimal_index());
      case 'q': return memo_put(little_endian(1));
      case 'r': return memo_put(little_endian(4));
      case 0x94: return memo_put(memo_.size());
      case 'c': {
        const auto module = line();
        const auto name = line();
        return push_global(module, name);
      }
      case 0x93: {
        const auto* name = pop();
        const auto* module = pop();
        if (name->type != Type::string || module->type != Type::string) fail("STACK_GLOBAL of non-strings");
        return push_global(module->text, name->text);
      }
      case 'R': {
        const auto* args = pop();
        const auto* callable = pop();
        return push(call(callable, args));
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        const auto* args = pop();
        const auto* cls = pop();
        if (args->type != Type::tuple) fail("NEWOBJ with arguments that are a " + args->describe());
        if (cls->type == Type::global && cls->text == "collections.OrderedDict") return push(make(Type::dict));
        return push(make_object(cls->type == Type::global ? cls->text : "<instance>", args->items));
      }
      case 0x92: {  // NEWOBJ_EX: cls, args, kwargs
        pop();
        const auto* args = pop();
        const auto* cls = pop();
        return push(make_object(cls->type == Type::global ? cls->text : "<instance>", args->items));
      }
      case 'o': {  // OBJ: MARK cls args... OBJ
        auto items = pop_to_mark();
        if (items.empty()) fail("OBJ without a class");
        const auto* cls = items.front();
        items.erase(items.begin());
        return push(make_object(cls->type == Type::global ? cls->text : "<instance>", std::move(items)));
      }
      case 'i': {  // INST: module, name lines, MARK args
        const auto module = line();
        const auto name = line();
        return push(make_object(module + "." + name, pop_to_mark()));
      }
      case 'b': {  // BUILD: the state is recorded, never applied through __setstate__
        const auto* state = pop();
        top()->state = state;
        return;
      }
      case 'P': return push(persistent_load(make_string(Type::string, line())));
      case 'Q': return push(persistent_load(pop()));
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }

  std::string_view data_;
  TorchFile& file_;
  size_t pos_ = 0, op_pos_ = 0;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
};

const PickleValue* PickleValue::get(std::string_view key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (it->first->type == Type::string && it->first->text == key) return it->second;
  return nullptr;
}

std::string PickleValue::describe() const {
  switch (type) {
    case Type::none: return "None";
    case Type::boolean: return "bool";
    case Type::integer: return "int";
    case Type::floating: return "float";
    case Type::string: return "str";
    case Type::bytes: return "bytes";
    case Type::list: return "list";
    case Type::tuple: return "tuple";
    case Type::dict: return "dict";
    case Type::set: return "set";
    case Type::tensor: return tensor.storage_only ? "storage" : "tensor";
    case Type::global: return "global " + text;
    case Type::object: return "object " + text;
  }
  return "value";
}

TorchFile::TorchFile() = default;
TorchFile::~TorchFile() = default;
TorchFile::TorchFile(TorchFile&&) noexcept = default;
TorchFile& TorchFile::operator=(TorchFile&&) noexcept = default;

TorchFile TorchFile::from_pickle(std::string_view pickle, RecordReader read_record, const std::string& source) {
  TorchFile file;
  file.source_ = source;
  file.read_record_ = std::move(read_record);
  file.root_ = Unpickler(pickle, file).run();
  return file;
}

torch::Tensor TorchFile::tensor(const PickleValue& value) const {
  if (value.type != PickleValue::Type::tensor) throw std::runtime_error(source_ + ": a " + value.describe() + " where a tensor was expected");
  const auto& ref = value.tensor;
  // torch.load gives such a value as a Storage, never a Tensor; no state dict holds one.
  if (ref.storage_only) throw std::runtime_error(source_ + ": a bare storage (data/" + ref.storage + ") where a tensor was expected");
  auto it = storages_.find(ref.storage);
  if (it == storages_.end()) {
    const auto bytes = read_record_(ref.storage);
    const auto item = static_cast<int64_t>(c10::elementSize(ref.dtype));
    if (static_cast<int64_t>(bytes.size()) / item < ref.storage_numel)
      throw std::runtime_error(source_ + ": storage data/" + ref.storage + " holds " + std::to_string(bytes.size()) +
                               " bytes, fewer than its " + std::to_string(ref.storage_numel) + " elements");
    auto storage = torch::empty({ref.storage_numel}, torch::TensorOptions().dtype(ref.dtype));
    if (ref.storage_numel > 0) std::memcpy(storage.data_ptr(), bytes.data(), static_cast<size_t>(ref.storage_numel * item));
    it = storages_.emplace(ref.storage, storage).first;
  }
  if (it->second.numel() != ref.storage_numel)
    throw std::runtime_error(source_ + ": storage data/" + ref.storage + " is referenced with two sizes");
  return it->second.as_strided(ref.size, ref.stride, ref.offset);
}

namespace {

// LibTorch's zip reader throws c10::Error (its message carries a C++ backtrace and no file name)
// for a damaged archive at any call, not only when it opens: each call goes through here and a
// failure becomes the std::runtime_error this reader promises, naming the file and the record.
template <typename Call>
auto archive_call(const std::string& path, const std::string& what, Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": " + what + ": " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
}

std::string record_text(const std::shared_ptr<caffe2::serialize::PyTorchStreamReader>& archive,
                        const std::string& path, const std::string& record) {
  return archive_call(path, "record " + record + " cannot be read (a damaged archive)", [&] {
    const auto [ptr, size] = archive->getRecord(record);
    return std::string(static_cast<const char*>(ptr.get()), size);
  });
}

}  // namespace

TorchFile torch_load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open (" + (std::filesystem::exists(path) ? "unreadable" : "not found") + ")");
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && static_cast<unsigned char>(magic[0]) == 0x80 && magic[2] == '\x8a')
    throw std::runtime_error(path + ": the legacy torch.save format (PyTorch < 1.6); load and save it again with a "
                             "newer PyTorch (torch.save writes the zip format since 1.6)");
  if (in.gcount() < 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0)
    throw std::runtime_error(path + ": not a torch.save file (no zip archive)");
  in.close();
  const auto archive = archive_call(path, "not a readable torch.save archive", [&] {
    return std::make_shared<caffe2::serialize::PyTorchStreamReader>(path);
  });
  // By value: the storage reader below keeps it (and so the archive) after this function returns.
  const auto has = [archive, path](const std::string& record) {
    return archive_call(path, "its zip directory cannot be read", [&] { return archive->hasRecord(record); });
  };
  if (has("constants.pkl"))
    throw std::runtime_error(path + ": a TorchScript archive (torch.jit.save), not a torch.save file");
  if (!has("data.pkl")) throw std::runtime_error(path + ": a zip archive without data.pkl: not a torch.save file");
  if (has("byteorder") && record_text(archive, path, "byteorder") != "little")
    throw std::runtime_error(path + ": saved on a big-endian machine; vifi reads little-endian files only");
  const auto pickle = record_text(archive, path, "data.pkl");
  auto reader = [archive, path, has](const std::string& key) {
    const auto record = "data/" + key;
    if (!has(record)) throw std::runtime_error(path + ": storage " + record + " is missing from the archive");
    return record_text(archive, path, record);
  };
  return TorchFile::from_pickle(pickle, reader, path);  // the reader keeps the archive open
}

}  // namespace vifi::util

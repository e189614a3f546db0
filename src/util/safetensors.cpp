// safetensors reader and writer; the checks follow the reference implementation's validation
// (huggingface/safetensors, tensor.rs): header size bounds, dtype names, shape x dtype size ==
// offset span, and offsets that tile the data exactly.
#include "vifi/util/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "vifi/util/atomic_file.h"
#include "vifi/util/json.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors stores little-endian bytes; vifi copies them as they are");

namespace vifi::util {
namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference's MAX_HEADER_SIZE

const std::vector<std::pair<std::string, c10::ScalarType>>& dtype_names() {
  static const std::vector<std::pair<std::string, c10::ScalarType>> names{
      {"F64", c10::ScalarType::Double}, {"F32", c10::ScalarType::Float}, {"F16", c10::ScalarType::Half},
      {"BF16", c10::ScalarType::BFloat16}, {"I64", c10::ScalarType::Long}, {"I32", c10::ScalarType::Int},
      {"I16", c10::ScalarType::Short}, {"I8", c10::ScalarType::Char}, {"U8", c10::ScalarType::Byte},
      {"BOOL", c10::ScalarType::Bool}};
  return names;
}

std::string dtype_name(c10::ScalarType type, const std::string& key) {
  for (const auto& [name, t] : dtype_names())
    if (t == type) return name;
  throw std::invalid_argument("safetensors: tensor '" + key + "' has dtype " + std::string(c10::toString(type)) +
                              ", which the format cannot store");
}

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

std::string serialize_safetensors(const SafeTensors& file) {
  Json header = Json::object();
  if (!file.metadata.empty()) {
    Json meta = Json::object();
    for (const auto& [k, v] : file.metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [key, tensor] : file.tensors) {
    // Only this key is the format's own; the reader takes any other name, "__x" included, so
    // the writer does too (what parses must write back: fuzz/safetensors_fuzzer.cpp).
    if (key == "__metadata__") throw std::invalid_argument("safetensors: tensor name '" + key + "' is reserved (the header's metadata)");
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const auto bytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[key] = Json{{"dtype", dtype_name(t.scalar_type(), key)},
                       {"shape", std::vector<int64_t>(t.sizes().begin(), t.sizes().end())},
                       {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  auto text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = text.size();
  std::memcpy(out.data(), &n, sizeof n);
  out.reserve(8 + text.size() + offset);
  out += text;
  for (const auto& t : data) out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return out;
}

SafeTensors parse_safetensors(const std::string& bytes, const std::string& source) {
  const auto fail = [&](const std::string& what) { return std::runtime_error(source + ": not a valid safetensors file: " + what); };
  if (bytes.size() < 8) throw fail("shorter than its 8-byte header length");
  const uint64_t n = read_u64_le(bytes.data());
  if (n > kMaxHeader) throw fail("header length " + std::to_string(n) + " exceeds 100 MB");
  if (n > bytes.size() - 8) throw fail("header length " + std::to_string(n) + " passes the end of the file (" +
                                       std::to_string(bytes.size()) + " bytes)");
  Json header;
  try {
    header = Json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const Json::exception& e) {
    throw fail(std::string("header is not JSON: ") + e.what());
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const uint64_t data_size = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;

  SafeTensors out;
  struct Span { uint64_t begin, end; std::string key; };
  std::vector<Span> spans;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw fail("__metadata__." + k + " is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const auto where = "tensor '" + key + "': ";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw fail(where + "expected {\"dtype\", \"shape\", \"data_offsets\"}");
    const auto& dtype = entry["dtype"];
    if (!dtype.is_string()) throw fail(where + "dtype is not a string");
    c10::ScalarType type = c10::ScalarType::Undefined;
    for (const auto& [name, t] : dtype_names())
      if (name == dtype.get<std::string>()) type = t;
    if (type == c10::ScalarType::Undefined) throw fail(where + "dtype " + dtype.dump() + " is not one vifi reads (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    if (!entry["shape"].is_array()) throw fail(where + "shape is not an array");
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) throw fail(where + "shape " + entry["shape"].dump() + " has a dimension that is not a size");
      const auto v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || (v && numel > data_size / v + 1))
        throw fail(where + "shape " + entry["shape"].dump() + " is larger than the file");
      numel *= v;
      shape.push_back(static_cast<int64_t>(v));
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      throw fail(where + "data_offsets is not [begin, end]");
    const auto begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size)
      throw fail(where + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] lie outside the " +
                 std::to_string(data_size) + " data bytes");
    const auto element = static_cast<uint64_t>(c10::elementSize(type));
    if (numel > std::numeric_limits<uint64_t>::max() / element || numel * element != end - begin)
      throw fail(where + "shape " + entry["shape"].dump() + " of " + dtype.get<std::string>() + " needs " +
                 std::to_string(numel * element) + " bytes, data_offsets give " + std::to_string(end - begin));
    auto t = torch::empty(shape, torch::TensorOptions().dtype(type));
    if (end > begin) std::memcpy(t.data_ptr(), data + begin, end - begin);
    out.tensors[key] = std::move(t);
    spans.push_back({begin, end, key});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t covered = 0;
  for (const auto& s : spans) {
    if (s.begin != covered)
      throw fail("tensor '" + s.key + "' starts at byte " + std::to_string(s.begin) + " of the data, expected " +
                 std::to_string(covered) + (s.begin < covered ? " (overlap)" : " (hole)"));
    covered = s.end;
  }
  if (covered != data_size)
    throw fail(std::to_string(data_size - covered) + " data bytes after the last tensor belong to none");
  return out;
}

void write_safetensors(const std::string& path, const SafeTensors& file) {
  write_file_atomic(path, serialize_safetensors(file));
}

SafeTensors read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open safetensors file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_safetensors(bytes, path);
}

bool is_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[9];
  if (!in.read(head, sizeof head)) return false;
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  const auto n = read_u64_le(head);
  return head[8] == '{' && n >= 2 && n <= kMaxHeader && n <= size - 8;
}

}  // namespace vifi::util

// .npy codec. The header is a Python dict literal; we parse only the three keys NumPy writes.
#include "vifi/util/npy.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "vifi/util/atomic_file.h"

namespace vifi::util {
namespace {

std::runtime_error npy_error(const std::string& path, const std::string& what) {
  return std::runtime_error(path + ": " + what);
}

std::string header_value(const std::string& header, const std::string& key) {
  const auto k = header.find("'" + key + "'");
  if (k == std::string::npos) return {};
  auto v = header.find(':', k);
  if (v == std::string::npos) return {};
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  if (header[v] == '(') return header.substr(v, header.find(')', v) - v + 1);
  auto end = header.find_first_of(",}", v);
  return header.substr(v, end - v);
}

std::vector<int64_t> parse_shape(const std::string& path, const std::string& text) {
  if (text.size() < 2 || text.front() != '(') throw npy_error(path, "bad shape in .npy header: " + text);
  std::vector<int64_t> shape;
  std::stringstream in(text.substr(1, text.size() - 2));
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    shape.push_back(std::stoll(item));
  }
  return shape;
}

torch::ScalarType parse_dtype(const std::string& path, std::string descr) {
  if (descr.size() >= 2) descr = descr.substr(1, descr.size() - 2);  // strip quotes
  if (descr == "<f4") return torch::kFloat32;
  if (descr == "<f8") return torch::kFloat64;
  if (descr == "<f2") return torch::kFloat16;
  if (descr == "<i8") return torch::kInt64;
  if (descr == "<i4") return torch::kInt32;
  if (descr == "|u1") return torch::kUInt8;
  throw npy_error(path, "unsupported .npy dtype '" + descr + "' (expected <f2, <f4, <f8, <i4, <i8 or |u1)");
}

}  // namespace

torch::Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw npy_error(path, "cannot open .npy file");
  char magic[8];
  in.read(magic, 8);
  if (!in || std::string(magic, 6) != "\x93NUMPY") throw npy_error(path, "not a .npy file (bad magic)");
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    uint8_t len[2];
    in.read(reinterpret_cast<char*>(len), 2);
    header_len = len[0] | (len[1] << 8);
  } else {
    uint8_t len[4];
    in.read(reinterpret_cast<char*>(len), 4);
    header_len = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t(len[3]) << 24);
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) throw npy_error(path, "truncated .npy header");
  if (header_value(header, "fortran_order") != "False")
    throw npy_error(path, "Fortran-ordered .npy arrays are not supported (save with np.ascontiguousarray)");
  const auto dtype = parse_dtype(path, header_value(header, "descr"));
  const auto shape = parse_shape(path, header_value(header, "shape"));
  auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
  const auto bytes = static_cast<std::streamsize>(t.numel() * t.element_size());
  in.read(static_cast<char*>(t.data_ptr()), bytes);
  if (in.gcount() != bytes) throw npy_error(path, "truncated .npy data");
  if (t.is_floating_point()) return t.to(torch::kFloat32);
  return t.to(torch::kInt64);
}

void save_npy(const std::string& path, const torch::Tensor& tensor) {
  auto t = tensor.detach().to(torch::kCPU);
  t = (t.is_floating_point() ? t.to(torch::kFloat32) : t.to(torch::kInt64)).contiguous();
  // NumPy's spelling: "()", "(7,)", "(2, 3)".
  std::string shape = "(";
  for (int64_t i = 0; i < t.dim(); ++i) shape += (i ? ", " : "") + std::to_string(t.size(i));
  shape += t.dim() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + (t.is_floating_point() ? "<f4" : "<i8") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = 10 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  write_file_atomic(path, [&](std::ostream& out) {
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    out.write(len_bytes, 2);
    out << header;
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
  });
}

}  // namespace vifi::util

// .npy codec (see header). The header is a Python dict literal, parsed strictly: exactly the three
// keys NumPy writes and reads.
#include "vifi/util/npy.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "vifi/util/atomic_file.h"
#include "vifi/util/parse_number.h"

namespace vifi::util {
namespace {

std::runtime_error npy_error(const std::string& source, const std::string& what) {
  return std::runtime_error(source + ": " + what);
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// The header is the repr() of a Python dict: {'descr': '<f4', 'fortran_order': False, 'shape':
// (2, 3), } padded with spaces to a newline. Parsed strictly (NumPy's own reader requires exactly
// these three keys) so a damaged header is refused with what was found where, never misread.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen[3] = {false, false, false};
    skip_spaces();
    expect('{');
    while (true) {
      skip_spaces();
      if (peek() == '}') break;
      const auto key = quoted();
      skip_spaces();
      expect(':');
      skip_spaces();
      int which = -1;
      if (key == "descr") {
        which = 0;
        header.descr = quoted();
      } else if (key == "fortran_order") {
        which = 1;
        header.fortran_order = boolean();
      } else if (key == "shape") {
        which = 2;
        header.shape = shape();
      } else {
        fail("an unexpected key '" + key.substr(0, 32) + "' (NumPy writes descr, fortran_order and shape)");
      }
      if (seen[which]) fail("the key '" + key + "' a second time");
      seen[which] = true;
      skip_spaces();
      if (peek() == ',') ++pos_; else if (peek() != '}') fail("expected a ',' or '}'");
    }
    ++pos_;
    skip_spaces();
    if (pos_ != text_.size()) fail("text after the closing '}'");
    const char* names[3] = {"descr", "fortran_order", "shape"};
    for (int i = 0; i < 3; ++i)
      if (!seen[i]) throw npy_error(source_, "the .npy header has no '" + std::string(names[i]) + "' key");
    return header;
  }

 private:
  // `problem` says what was found or expected at the current character.
  [[noreturn]] void fail(const std::string& problem) const {
    throw npy_error(source_, "a damaged .npy header: " + problem + " at character " + std::to_string(pos_) + " of '" +
                                 text_.substr(0, 120) + "'");
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted name");
    const auto end = text_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("expected a closing quote");
    auto out = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    for (const auto& [word, value] : {std::pair<const char*, bool>{"True", true}, {"False", false}})
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    fail("expected True or False");
  }
  // (), (7,), (2, 3): non-negative integers.
  std::vector<int64_t> shape() {
    expect('(');
    std::vector<int64_t> out;
    while (true) {
      skip_spaces();
      if (peek() == ')') break;
      const auto digits_start = pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      const auto dimension = parse_non_negative(std::string_view(text_).substr(digits_start, pos_ - digits_start));
      if (!dimension) fail("expected a dimension (a non-negative integer)");
      out.push_back(*dimension);
      if (out.size() > 64) fail("more than 64 dimensions");
      skip_spaces();
      if (peek() == ',') ++pos_; else if (peek() != ')') fail("expected a ',' or ')' in the shape");
    }
    ++pos_;
    return out;
  }

  const std::string& text_;
  const std::string& source_;
  size_t pos_ = 0;
};

torch::ScalarType parse_dtype(const std::string& source, const std::string& descr) {
  if (descr == "<f4") return torch::kFloat32;
  if (descr == "<f8") return torch::kFloat64;
  if (descr == "<f2") return torch::kFloat16;
  if (descr == "<i8") return torch::kInt64;
  if (descr == "<i4") return torch::kInt32;
  if (descr == "|u1") return torch::kUInt8;
  throw npy_error(source, "unsupported .npy dtype '" + descr.substr(0, 32) + "' (expected <f2, <f4, <f8, <i4, <i8 or |u1)");
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

torch::Tensor read_npy(std::istream& in, uint64_t size, const std::string& source) {
  char preamble[8];
  if (size < 10 || !in.read(preamble, 8) || std::string(preamble, 6) != "\x93NUMPY")
    throw npy_error(source, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(preamble[6]);
  if (major < 1 || major > 3)
    throw npy_error(source, "unsupported .npy format version " + std::to_string(major) + "." +
                                std::to_string(static_cast<unsigned char>(preamble[7])) + " (expected 1.0, 2.0 or 3.0)");
  const int length_bytes = major == 1 ? 2 : 4;
  unsigned char length[4] = {0, 0, 0, 0};
  if (!in.read(reinterpret_cast<char*>(length), length_bytes)) throw npy_error(source, "truncated .npy header");
  const uint64_t header_len = length[0] | (length[1] << 8) | (length[2] << 16) | (uint64_t{length[3]} << 24);
  const uint64_t data_start = 8 + static_cast<uint64_t>(length_bytes) + header_len;
  if (data_start > size)
    throw npy_error(source, "truncated .npy header (it declares " + std::to_string(header_len) + " bytes; the file has " +
                                std::to_string(size) + " in all)");
  std::string text(static_cast<size_t>(header_len), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_len))) throw npy_error(source, "truncated .npy header");
  const auto header = HeaderParser(text, source).parse();
  if (header.fortran_order)
    throw npy_error(source, "Fortran-ordered .npy arrays are not supported (save with np.ascontiguousarray)");
  const auto dtype = parse_dtype(source, header.descr);
  // The size is checked against the file before anything is allocated: a damaged shape may
  // claim terabytes. LibTorch multiplies all the dimensions, zero or not, so their product must
  // fit in int64 too.
  uint64_t bytes = c10::elementSize(dtype);
  bool empty = false;
  for (const auto d : header.shape) {
    if (d == 0) empty = true;
    else if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes) || bytes > uint64_t{INT64_MAX})
      throw npy_error(source, "a .npy shape " + shape_text(header.shape) + " whose size overflows 64 bits");
  }
  if (empty) bytes = 0;
  if (bytes > size - data_start)
    throw npy_error(source, "truncated .npy data: shape " + shape_text(header.shape) + " of " + header.descr + " needs " +
                                std::to_string(bytes) + " bytes, the file has " + std::to_string(size - data_start) +
                                " after its header");
  auto t = torch::empty(header.shape, torch::TensorOptions().dtype(dtype));
  if (bytes > 0 && !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes)))
    throw npy_error(source, "truncated .npy data");
  if (t.is_floating_point()) return t.to(torch::kFloat32);
  return t.to(torch::kInt64);
}

torch::Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw npy_error(path, "cannot open .npy file");
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) throw npy_error(path, "cannot read its size (" + error.message() + ")");
  return read_npy(in, size, path);
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

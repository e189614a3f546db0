// Private helper of the data module: whole-file text reads, line splitting and trimming, and
// errors that name the file and line.
#pragma once
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vifi::data::detail {

// Reads `path` completely; throws std::runtime_error "<path>: cannot open (<reason>)".
inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": read failed");
  return buffer.str();
}

// Splits text into lines, dropping a trailing '\r' from each (CRLF files) and a UTF-8 BOM.
inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

// What separates fields and is trimmed: spaces, tabs, CR, VT, FF.
inline constexpr const char* kWhitespace = " \t\r\v\f";

// `s` without leading and trailing whitespace.
inline std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(kWhitespace) - begin + 1);
}

// Throws std::runtime_error "<source>:<line>: <what>, got '<text>'".
[[noreturn]] inline void fail_at_line(const std::string& source, size_t line, const std::string& what,
                                      const std::string& text) {
  throw std::runtime_error(source + ":" + std::to_string(line) + ": " + what + ", got '" + text + "'");
}

}  // namespace vifi::data::detail

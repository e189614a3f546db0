// A scanner for flat JSON objects, enough for what train/trainer writes.
#include "vifi/train/metrics_log.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace vifi::train {
namespace {

class FlatJsonScanner {
 public:
  FlatJsonScanner(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  void expect(char c) {
    skip_space();
    if (pos_ >= s_.size() || s_[pos_] != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  std::string string_value() {
    expect('"');
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;  // keep the escaped character as is
      out.push_back(s_[pos_++]);
    }
    expect('"');
    return out;
  }
  double number_value() {
    skip_space();
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin) fail("expected a number or a string");
    pos_ += static_cast<size_t>(end - begin);
    return v;
  }
  void expect_end() {
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the object");
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(source_ + ": " + what + " at column " + std::to_string(pos_ + 1) +
                             " (expected one flat JSON object per line)");
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  const std::string& s_;
  std::string source_;
  size_t pos_ = 0;
};

}  // namespace

MetricsRecord parse_metrics_line(const std::string& line, const std::string& source) {
  FlatJsonScanner scan(line, source);
  MetricsRecord record;
  scan.expect('{');
  while (!scan.peek('}')) {
    const auto key = scan.string_value();
    scan.expect(':');
    if (scan.peek('"')) {
      const auto text = scan.string_value();
      if (key == "type") record.type = text;
    } else {
      record.values[key] = scan.number_value();
    }
    if (!scan.peek('}')) scan.expect(',');
  }
  scan.expect('}');
  scan.expect_end();
  return record;
}

std::vector<MetricsRecord> load_metrics_log(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open (expected the metrics.jsonl a training run writes)");
  std::vector<MetricsRecord> records;
  int64_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    records.push_back(parse_metrics_line(line, path + ":" + std::to_string(number)));
  }
  if (records.empty()) throw std::runtime_error(path + ": no records");
  return records;
}

std::vector<std::pair<double, double>> metric_series(const std::vector<MetricsRecord>& records,
                                                     const std::string& type, const std::string& x,
                                                     const std::string& y) {
  std::vector<std::pair<double, double>> points;
  for (const auto& r : records) {
    if (r.type != type) continue;
    const auto xi = r.values.find(x), yi = r.values.find(y);
    if (xi != r.values.end() && yi != r.values.end()) points.emplace_back(xi->second, yi->second);
  }
  return points;
}

}  // namespace vifi::train

// Reading metrics.jsonl (see header): nlohmann-json parses, this file enforces the flat form.
#include "vifi/train/metrics_log.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace vifi::train {
namespace {

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw std::runtime_error(source + ": " + what + " (expected one flat JSON object per line)");
}

nlohmann::json parse_object(const std::string& line, const std::string& source) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    fail(source, e.what());  // names the column: "syntax error while parsing ... at line 1, column 17"
  }
  if (!object.is_object()) fail(source, std::string("a JSON ") + object.type_name() + ", not an object");
  return object;
}

}  // namespace

MetricsRecord parse_metrics_line(const std::string& line, const std::string& source) {
  const auto object = parse_object(line, source);  // named: items() would outlive a temporary
  MetricsRecord record;
  for (const auto& [key, value] : object.items()) {
    if (value.is_null()) continue;  // a non-finite number (util/json): absent, not an error
    if (value.is_number()) {
      record.values[key] = value.get<double>();
    } else if (value.is_string()) {
      if (key == "type") record.type = value.get<std::string>();
    } else {
      fail(source, "'" + key + "' holds a JSON " + value.type_name() + "; expected a number, a string or null");
    }
  }
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

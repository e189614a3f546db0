// Appending to and reading metrics.jsonl (see header): nlohmann-json parses, this file enforces
// the flat form.
#include "vifi/train/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "vifi/util/logging.h"

namespace vifi::train {
namespace {

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw std::runtime_error(source + ": " + what + " (expected one flat JSON object per line)");
}

nlohmann::json parse_object(const std::string& line, const std::string& source) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    // parse_error names the column ("syntax error while parsing ... at line 1, column 17");
    // out_of_range is a number beyond double ("number overflow parsing '1e400'").
    fail(source, e.what());
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
    if (value.is_boolean()) {
      record.values[key] = value.get<bool>() ? 1.0 : 0.0;
    } else if (value.is_number()) {
      record.values[key] = value.get<double>();
    } else if (value.is_string()) {
      if (key == "type") record.type = value.get<std::string>();
    } else {
      fail(source, "'" + key + "' holds a JSON " + value.type_name() + "; expected a number, a string, a boolean or null");
    }
  }
  return record;
}

std::vector<MetricsRecord> load_metrics_log(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open (expected the metrics.jsonl a training run writes)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<MetricsRecord> records;
  int64_t number = 0;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    const bool terminated = end != std::string::npos;
    const std::string line = text.substr(start, (terminated ? end : text.size()) - start);
    start = terminated ? end + 1 : text.size();
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto source = path + ":" + std::to_string(number);
    if (terminated) {
      records.push_back(parse_metrics_line(line, source));
      continue;
    }
    try {
      records.push_back(parse_metrics_line(line, source));
    } catch (const std::runtime_error&) {
      util::log_warn(source + ": an unterminated last line that is not a whole record is left out (a run is writing it, "
                              "or was killed while it did)");
    }
  }
  if (records.empty()) throw std::runtime_error(path + ": no records");
  return records;
}

void MetricsAppender::append(const std::string& json_line) {
  if (!tail_checked_) {
    tail_checked_ = true;
    std::error_code error;
    const auto size = std::filesystem::file_size(path_, error);
    char last = '\n';
    std::ifstream in(path_, std::ios::binary);
    if (!error && size > 0 && in.seekg(-1, std::ios::end) && in.get(last) && last != '\n') {
      // Only a killed run's file gets here, so reading it whole to find its last '\n' is fine.
      std::string text(size, '\0');
      in.seekg(0);
      in.read(text.data(), static_cast<std::streamsize>(size));
      if (in) {
        const auto keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        std::filesystem::resize_file(path_, keep, error);
        if (error) throw std::runtime_error(path_ + ": cannot cut its incomplete last line (" + error.message() + ")");
        util::log_warn(path_ + ": cut an incomplete last line of " + std::to_string(size - keep) +
                       " bytes (an earlier run was killed while writing it)");
      }
    }
  }
  std::ofstream out(path_, std::ios::app | std::ios::binary);
  out << json_line << '\n';
  out.flush();
  if (!out) throw std::runtime_error(path_ + ": write failed (" + std::strerror(errno) + ")");
}

std::vector<std::pair<double, double>> metric_series(const std::vector<MetricsRecord>& records,
                                                     const std::string& type, const std::string& x,
                                                     const std::string& y) {
  std::map<double, double> by_x;  // a later record of the same x replaces the earlier
  for (const auto& r : records) {
    if (r.type != type) continue;
    const auto xi = r.values.find(x), yi = r.values.find(y);
    if (xi != r.values.end() && yi != r.values.end()) by_x[xi->second] = yi->second;
  }
  return {by_x.begin(), by_x.end()};
}

}  // namespace vifi::train

// Reading back the trainer's metrics.jsonl: one flat JSON object per line, e.g.
//   {"type":"train","epoch":0,"step":10,"optimizer_step":11,"lr":1e-05,"loss":1.61,...}
//   {"type":"val","epoch":4,"acc1":77.5,"acc5":100,"videos":40,"failed":0}
// Owns: parsing that flat form (nlohmann-json underneath) and picking curves out of the records.
// String and number values are kept; null (how util/json writes a NaN loss) is skipped, so the
// field is absent; nested or boolean values are rejected, not skipped, so a format change shows
// up as an error.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vifi::train {

struct MetricsRecord {
  std::string type;                       // "train", "val", ...
  std::map<std::string, double> values;   // every numeric field (null fields are absent)
};

// `source` ("metrics.jsonl:3") names the line in the std::runtime_error a malformed line throws.
MetricsRecord parse_metrics_line(const std::string& line, const std::string& source);
// Every non-blank line of `path`; throws naming the file if it is missing or has no records.
std::vector<MetricsRecord> load_metrics_log(const std::string& path);

// (x, y) points of records of `type` that have both fields, in file order.
std::vector<std::pair<double, double>> metric_series(const std::vector<MetricsRecord>& records,
                                                     const std::string& type, const std::string& x,
                                                     const std::string& y);

}  // namespace vifi::train

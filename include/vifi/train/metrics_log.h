// Reading back the trainer's metrics.jsonl: one flat JSON object per line, e.g.
//   {"type":"train","epoch":0,"step":10,"optimizer_step":11,"lr":1e-05,"loss":1.61,...}
//   {"type":"val","epoch":4,"acc1":77.5,"acc5":100,"videos":40,"failed":0}
// Owns: appending to it, parsing that flat form (nlohmann-json underneath) and picking curves
// out of the records.
// A killed run (SIGKILL, OOM, a node lost) can leave a last line half written, and a run resumed
// from an earlier epoch checkpoint logs the steps after it again: appending drops such a line
// first, reading skips an unterminated last line that does not parse (a run still writing it),
// and curves take the later record where a step repeats.
// String and number values are kept, booleans as 1 and 0 (the run record's drop_last); null
// (how util/json writes a NaN loss) is skipped, so the field is absent; nested values are
// rejected, not skipped, so a format change shows up as an error.
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
// Every non-blank line of `path` (an unterminated last line that does not parse is left out, with
// a warning); throws naming the file if it is missing or has no records, and the line if one is
// malformed.
std::vector<MetricsRecord> load_metrics_log(const std::string& path);

// Appends lines to a run's metrics.jsonl (created if missing). The first append cuts an
// unterminated last line a killed run left, with a warning (else the next record would be glued
// to it, and the file unreadable from there on). Throws std::runtime_error naming the file and
// the cause when a write fails (a full disk).
class MetricsAppender {
 public:
  explicit MetricsAppender(std::string path) : path_(std::move(path)) {}
  void append(const std::string& json_line);

 private:
  std::string path_;
  bool tail_checked_ = false;
};

// (x, y) points of records of `type` that have both fields, sorted by x; where x repeats (steps
// logged again after a resume from an earlier checkpoint), the later record wins.
std::vector<std::pair<double, double>> metric_series(const std::vector<MetricsRecord>& records,
                                                     const std::string& type, const std::string& x,
                                                     const std::string& y);

}  // namespace vifi::train

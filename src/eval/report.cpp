// Evaluation reports (see header).
#include "vifi/eval/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "vifi/util/atomic_file.h"
#include "vifi/util/json.h"

namespace vifi::eval {
namespace {

// Class names may hold commas or quotes (the paper's CSVs quote them the same way).
std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// CSV cells: 10 significant digits, as short as the value allows ("50", "66.66666667").
std::string csv_number(double value) {
  std::ostringstream s;
  s.precision(10);
  s << value;
  return s.str();
}

util::Json run_json(const RunReport& run) {
  const auto& c = run.result.counts;
  auto failed = util::Json::array();
  for (const auto& f : run.result.failed) failed.push_back(util::Json{{"path", f.path}, {"reason", f.reason}});
  return util::Json{{"name", run.name},
                    {"list", run.list_file},
                    {"classes", c.num_classes()},
                    {"videos", c.total()},
                    {"views", run.result.num_views},
                    {"top1", util::json_number(c.top1())},
                    {"top5", util::json_number(c.top5())},
                    {"failed", std::move(failed)}};
}

}  // namespace

std::string format_percent(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

std::string format_mean_std(double mean, double std) { return format_percent(mean) + " ± " + format_percent(std); }

std::string markdown_table(const Table& table) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (const auto& c : cells) out += " " + c + " |";
    return out + "\n";
  };
  std::string out = line(table.header) + "|";
  for (size_t i = 0; i < table.header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& row : table.rows) out += line(row);
  return out;
}

std::string per_class_csv(const ClassificationCounts& counts, const std::vector<std::string>& class_names) {
  TORCH_CHECK(static_cast<int64_t>(class_names.size()) == counts.num_classes(), "per_class_csv: ",
              class_names.size(), " names for ", counts.num_classes(), " classes");
  const auto accuracy = counts.per_class_accuracy();
  const auto videos = counts.confusion().sum(1);
  std::string out = "class_id,class,videos,top1\n";
  for (size_t i = 0; i < class_names.size(); ++i) {
    const auto i64 = static_cast<int64_t>(i);
    out += std::to_string(i) + "," + csv_cell(class_names[i]) + "," + std::to_string(videos[i64].item<int64_t>()) +
           "," + (std::isfinite(accuracy[i]) ? csv_number(accuracy[i]) : "") + "\n";
  }
  return out;
}

std::string confusion_csv(const ClassificationCounts& counts, const std::vector<std::string>& class_names) {
  TORCH_CHECK(static_cast<int64_t>(class_names.size()) == counts.num_classes(), "confusion_csv: ",
              class_names.size(), " names for ", counts.num_classes(), " classes");
  const auto m = counts.confusion().contiguous();
  const auto* data = m.data_ptr<int64_t>();
  const auto n = counts.num_classes();
  std::string out = "true\\predicted";
  for (const auto& name : class_names) out += "," + csv_cell(name);
  out += "\n";
  for (int64_t i = 0; i < n; ++i) {
    out += csv_cell(class_names[static_cast<size_t>(i)]);
    for (int64_t j = 0; j < n; ++j) out += "," + std::to_string(data[i * n + j]);
    out += "\n";
  }
  return out;
}

std::string failed_list(const std::vector<vifi::FailedVideo>& failed) {
  std::string out;
  for (const auto& f : failed) out += f.path + "\t" + f.reason + "\n";
  return out;
}

std::string results_json(const Summary& summary) {
  auto metrics = util::Json::object();
  for (const auto& [key, value] : summary.metrics) metrics[key] = util::json_number(value);
  auto runs = util::Json::array();
  for (const auto& run : summary.runs) runs.push_back(run_json(run));
  util::Json out{{"setting", summary.setting}};
  if (!summary.model.empty()) out["model"] = summary.model;
  out["metrics"] = std::move(metrics);
  out["runs"] = std::move(runs);
  return util::json_text(out, /*indent=*/2) + "\n";
}

std::string results_markdown(const Summary& summary) {
  std::string out = "# " + summary.setting + "\n\n";
  if (!summary.model.empty()) out += "Model: " + summary.model + "\n\n";
  out += markdown_table(summary.table);
  for (const auto& run : summary.runs)
    if (!run.result.failed.empty())
      out += "\n" + run.name + ": " + std::to_string(run.result.failed.size()) +
             " videos failed to decode and were not counted (" + run.name + ".failed.txt)\n";
  return out;
}

void write_report(const std::string& dir, const Summary& summary) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path root(dir);
  util::write_file_atomic((root / "results.json").string(), results_json(summary));
  util::write_file_atomic((root / "results.md").string(), results_markdown(summary));
  for (const auto& run : summary.runs) {
    const auto& names = run.class_names;
    util::write_file_atomic((root / (run.name + ".per_class.csv")).string(), per_class_csv(run.result.counts, names));
    util::write_file_atomic((root / (run.name + ".confusion.csv")).string(), confusion_csv(run.result.counts, names));
    util::write_file_atomic((root / (run.name + ".failed.txt")).string(), failed_list(run.result.failed));
  }
}

}  // namespace vifi::eval

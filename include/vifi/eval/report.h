// Evaluation reports: what `vifi eval` leaves in OUTPUT for every protocol.
// Owns: the text of results.json, the Markdown table (results.md), per-class accuracy and
// confusion-matrix CSVs (class names as headers), the list of videos that failed to decode, and
// writing them all (atomically, util/atomic_file). Everything but write_report is a pure function
// of its arguments, so reports are tested without a model.
//
// Layout of OUTPUT:
//   results.json, results.md              the protocol's summary and every evaluated run
//   <run>.per_class.csv                   class_id,class,videos,top1
//   <run>.confusion.csv                   rows = true class, columns = predicted class
//   <run>.failed.txt                      "path<TAB>reason" per video not evaluated (may be empty)
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "vifi/eval/evaluator.h"

namespace vifi::eval {

// One model evaluated on one list: a split, a seed's base or novel half, a K, a view setting.
struct RunReport {
  std::string name;                      // file-name safe: "split1", "s1_base", "K2", "multi_view"
  std::string list_file;                 // the annotation list evaluated
  std::vector<std::string> class_names;  // [C] in label order
  EvalResult result;
};

// A rendered table: header and rows of already formatted cells.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// The summary of one protocol run (built by eval/protocols).
struct Summary {
  std::string setting;                                 // zeroshot | base2novel | fewshot | supervised
  std::vector<std::pair<std::string, double>> metrics;  // e.g. {"top1_mean", 51.2}
  Table table;
  std::vector<RunReport> runs;
  std::string model;  // the weights the runs evaluated (a path, or what the model is); may be empty
};

// "51.3" and "51.3 ± 0.6": the precision the paper's tables use.
std::string format_percent(double value);
std::string format_mean_std(double mean, double std);

std::string markdown_table(const Table& table);
std::string per_class_csv(const ClassificationCounts& counts, const std::vector<std::string>& class_names);
std::string confusion_csv(const ClassificationCounts& counts, const std::vector<std::string>& class_names);
std::string failed_list(const std::vector<vifi::FailedVideo>& failed);
// {"setting":..., "model":... (when set), "metrics":{...}, "runs":[{"name","list","classes","videos","views","top1","top5",
// "failed":[{"path","reason"}...]}...]}, indented; a non-finite metric or top-1 is null (util/json).
std::string results_json(const Summary& summary);
// "# <setting>\n\n" then "Model: <model>\n\n" (when set), "<table>\n" and a line per run that had
// failed videos.
std::string results_markdown(const Summary& summary);

// Writes every file above into `dir` (created if needed). Throws naming the file on I/O errors.
void write_report(const std::string& dir, const Summary& summary);

}  // namespace vifi::eval

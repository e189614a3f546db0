// Class names: label CSVs, plain class-name lists, and base/novel subsets of a class list.
// Owns: reading "id,name" CSVs (the paper's labels/*.csv: header row, CRLF tolerated, names may
// be quoted and contain commas, "" is an escaped quote), and the explicit mapping between a
// subset's class ids and the full list's.
//
// How the paper lays subsets out (labels/hmdb_51_base_labels.csv, base2novel_splits/...): a
// subset CSV numbers its classes 0..n-1 on its own (hmdb_51_base_labels.csv: 0,pour ... 25,wave;
// in hmdb_51_labels.csv "pour" is 25) and the subset's annotation lists use those local ids. The
// link to the full list is the class *name*, so map_subset() matches names exactly.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vifi::data {

// Rows "id,name" after an "id,name" header; ids must be exactly 0..n-1 (any order). Returns the
// names indexed by id. `source` names the file in errors: "labels.csv:7: ...".
std::vector<std::string> parse_label_csv(const std::string& text, const std::string& source);
std::vector<std::string> load_label_csv(const std::string& path);

// A ".csv" file is read as a label CSV; anything else as one class name per line (blank lines
// skipped, surrounding whitespace trimmed), the line order giving the ids.
std::vector<std::string> load_class_names(const std::string& path);

struct SubsetMapping {
  std::vector<int64_t> subset_to_full;  // [n_subset] full-list id of subset class i
  std::vector<int64_t> full_to_subset;  // [n_full] subset id of full class j, or -1
};

// Matches subset names to full names exactly. Throws std::runtime_error naming `source` and the
// class when a subset name is missing from the full list or a name appears twice.
SubsetMapping map_subset(const std::vector<std::string>& full, const std::vector<std::string>& subset,
                         const std::string& source);

}  // namespace vifi::data

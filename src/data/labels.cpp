// Label CSVs, class-name lists and subset mappings.
#include "vifi/data/labels.h"

#include <map>
#include <optional>
#include <stdexcept>

#include "text_file.h"
#include "vifi/util/parse_number.h"

namespace vifi::data {
namespace {

using detail::fail_at_line;
using detail::trim;

// One CSV record (RFC 4180 quoting, no line breaks inside fields); nullopt on bad quoting.
std::optional<std::vector<std::string>> split_csv_row(const std::string& row) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  bool was_quoted = false;
  for (size_t i = 0; i < row.size(); ++i) {
    const char c = row[i];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (i + 1 < row.size() && row[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == ',') {
      fields.emplace_back();
      was_quoted = false;
    } else if (c == '"' && trim(fields.back()).empty() && !was_quoted) {
      fields.back().clear();
      quoted = was_quoted = true;
    } else if (was_quoted && c != ' ' && c != '\t') {
      return std::nullopt;  // text after a closing quote
    } else if (!was_quoted) {
      fields.back() += c;
    }
  }
  if (quoted) return std::nullopt;
  return fields;
}

std::optional<int64_t> parse_id(const std::string& text) {
  return util::parse_non_negative(trim(text));
}

}  // namespace

std::vector<std::string> parse_label_csv(const std::string& text, const std::string& source) {
  const auto lines = detail::split_lines(text);
  std::map<int64_t, std::string> by_id;
  std::map<int64_t, size_t> line_of;
  bool header_seen = false;
  for (size_t n = 0; n < lines.size(); ++n) {
    const size_t line_no = n + 1;
    if (trim(lines[n]).empty()) continue;
    const auto fields = split_csv_row(lines[n]);
    if (!header_seen) {
      if (!fields || fields->size() != 2 || trim((*fields)[0]) != "id" || trim((*fields)[1]) != "name") {
        fail_at_line(source, line_no, "expected the header 'id,name'", lines[n]);
      }
      header_seen = true;
      continue;
    }
    if (!fields || fields->size() != 2)
      fail_at_line(source, line_no, "expected 'id,name' (quote names that contain commas)", lines[n]);
    const auto id = parse_id((*fields)[0]);
    if (!id) fail_at_line(source, line_no, "expected a non-negative integer id", lines[n]);
    if (by_id.count(*id)) {
      fail_at_line(source, line_no,
                   "duplicate id " + std::to_string(*id) + " (first on line " + std::to_string(line_of[*id]) + ")", lines[n]);
    }
    by_id[*id] = (*fields)[1];
    line_of[*id] = line_no;
  }
  if (!header_seen)
    throw std::runtime_error(source + ": empty label file, expected the header 'id,name' and one row per class");
  std::vector<std::string> names;
  for (const auto& [id, name] : by_id) {
    if (id != static_cast<int64_t>(names.size())) {
      throw std::runtime_error(source + ": class ids must be 0.." + std::to_string(by_id.size() - 1) + ", id " +
                               std::to_string(names.size()) + " is missing");
    }
    names.push_back(name);
  }
  if (names.empty()) throw std::runtime_error(source + ": no classes after the header");
  return names;
}

std::vector<std::string> load_label_csv(const std::string& path) {
  return parse_label_csv(detail::read_text_file(path), path);
}

std::vector<std::string> load_class_names(const std::string& path) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0) return load_label_csv(path);
  std::vector<std::string> names;
  for (const auto& line : detail::split_lines(detail::read_text_file(path))) {
    const std::string name = trim(line);
    if (!name.empty()) names.push_back(name);
  }
  if (names.empty()) throw std::runtime_error(path + ": no class names (expected one name per line)");
  return names;
}

SubsetMapping map_subset(const std::vector<std::string>& full, const std::vector<std::string>& subset,
                         const std::string& source) {
  std::map<std::string, int64_t> full_ids;
  for (size_t j = 0; j < full.size(); ++j) {
    if (!full_ids.emplace(full[j], static_cast<int64_t>(j)).second) {
      throw std::runtime_error(source + ": class '" + full[j] + "' appears twice in the full class list");
    }
  }
  SubsetMapping m;
  m.full_to_subset.assign(full.size(), -1);
  for (size_t i = 0; i < subset.size(); ++i) {
    const auto it = full_ids.find(subset[i]);
    if (it == full_ids.end()) {
      throw std::runtime_error(source + ": subset class " + std::to_string(i) + " '" + subset[i] +
                               "' is not in the full class list");
    }
    if (m.full_to_subset[static_cast<size_t>(it->second)] != -1) {
      throw std::runtime_error(source + ": class '" + subset[i] + "' appears twice in the subset");
    }
    m.subset_to_full.push_back(it->second);
    m.full_to_subset[static_cast<size_t>(it->second)] = static_cast<int64_t>(i);
  }
  return m;
}

}  // namespace vifi::data

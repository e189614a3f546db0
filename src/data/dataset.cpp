// Annotation lists, relabelling and K-shot subsets; the list syntax is described in the header.
#include "vifi/data/dataset.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "text_file.h"
#include "vifi/data/rng.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/parse_number.h"

namespace vifi::data {
namespace {

using detail::kWhitespace;
using detail::fail_at_line;
using detail::trim;

std::optional<int64_t> parse_label(const std::string& token) { return util::parse_non_negative(token); }

// Splits a non-blank line into (path, label token); the token is empty for a path alone, which
// only ListLabels::optional accepts.
std::pair<std::string, std::string> split_line(const std::string& line, const std::string& source, size_t line_no,
                                               ListLabels labels) {
  const std::string t = trim(line);
  const bool optional = labels == ListLabels::optional;
  const char* expected = optional ? "expected 'relative/path' or 'relative/path label' with an integer label"
                                  : "expected 'relative/path label' with an integer label";
  if (t.front() == '"') {
    const auto close = t.find('"', 1);
    if (close == std::string::npos) fail_at_line(source, line_no, "unterminated quoted path", line);
    const std::string rest = trim(t.substr(close + 1));
    if ((rest.empty() && !optional) || rest.find_first_of(kWhitespace) != std::string::npos)
      fail_at_line(source, line_no, expected, line);
    if (close == 1) fail_at_line(source, line_no, "empty path", line);
    return {t.substr(1, close - 1), rest};
  }
  const auto last_space = t.find_last_of(kWhitespace);
  if (last_space == std::string::npos) {
    if (!optional) fail_at_line(source, line_no, expected, line);
    return {t, ""};
  }
  const auto token = t.substr(last_space + 1);
  if (optional && !parse_label(token)) return {t, ""};  // "dir/my video.avi": the path is the whole line
  return {trim(t.substr(0, last_space)), token};
}

// Whitespace, a leading quote, or a leading U+FEFF (the first line's would read as the file's
// byte-order mark and be dropped).
bool needs_quotes(const std::string& relative) {
  return relative.find_first_of(kWhitespace) != std::string::npos || (!relative.empty() && relative.front() == '"') ||
         relative.compare(0, 3, "\xEF\xBB\xBF") == 0;
}

}  // namespace

std::string join_root(const std::string& root, const std::string& relative) {
  if (root.empty() || std::filesystem::path(relative).is_absolute()) return relative;
  return (std::filesystem::path(root) / relative).string();
}

std::vector<VideoRecord> parse_annotation_list(const std::string& text, const std::string& source,
                                               const std::string& root, ListLabels labels) {
  std::vector<VideoRecord> records;
  const auto lines = detail::split_lines(text);
  for (size_t n = 0; n < lines.size(); ++n) {
    if (trim(lines[n]).empty()) continue;
    const auto [relative, label_token] = split_line(lines[n], source, n + 1, labels);
    auto label = parse_label(label_token);
    if (label_token.empty() && labels == ListLabels::optional) label = kNoLabel;
    if (!label) fail_at_line(source, n + 1, "expected a non-negative integer label as the last token", lines[n]);
    records.push_back({join_root(root, relative), relative, *label, static_cast<int64_t>(n + 1)});
  }
  return records;
}

std::vector<VideoRecord> load_annotation_list(const std::string& path, const std::string& root, ListLabels labels) {
  return parse_annotation_list(detail::read_text_file(path), path, root, labels);
}

std::string format_annotation_list(const std::vector<VideoRecord>& records) {
  std::ostringstream out;
  for (const VideoRecord& r : records) {
    if (r.relative.empty()) throw std::invalid_argument("annotation list: a record has an empty path");
    if (needs_quotes(r.relative)) {
      if (r.relative.find('"') != std::string::npos) {  // a quoted path ends at its first quote
        throw std::invalid_argument("annotation list: cannot write path '" + r.relative +
                                    "' (needs quotes and holds a quote)");
      }
      out << '"' << r.relative << "\" " << r.label << '\n';
    } else {
      out << r.relative << ' ' << r.label << '\n';
    }
  }
  return out.str();
}

void write_annotation_list(const std::string& path, const std::vector<VideoRecord>& records) {
  util::write_file_atomic(path, format_annotation_list(records));
}

void check_labels(const std::vector<VideoRecord>& records, int64_t num_classes, const std::string& source) {
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].label < 0 || records[i].label >= num_classes) {
      const std::string where =
          records[i].line > 0 ? ":" + std::to_string(records[i].line) : " (video " + std::to_string(i + 1) + ")";
      throw std::runtime_error(source + where + ": '" + records[i].relative + "' has label " +
                               std::to_string(records[i].label) + ", expected 0.." + std::to_string(num_classes - 1) +
                               " (" + std::to_string(num_classes) + " classes)");
    }
  }
}

std::vector<VideoRecord> subset_labels_to_full(const std::vector<VideoRecord>& records, const SubsetMapping& mapping,
                                               const std::string& source) {
  check_labels(records, static_cast<int64_t>(mapping.subset_to_full.size()), source);
  std::vector<VideoRecord> out = records;
  for (VideoRecord& r : out) r.label = mapping.subset_to_full[static_cast<size_t>(r.label)];
  return out;
}

std::vector<VideoRecord> select_subset(const std::vector<VideoRecord>& records, const SubsetMapping& mapping) {
  std::vector<VideoRecord> out;
  for (const VideoRecord& r : records) {
    if (r.label < 0 || r.label >= static_cast<int64_t>(mapping.full_to_subset.size())) continue;
    const int64_t sub = mapping.full_to_subset[static_cast<size_t>(r.label)];
    if (sub < 0) continue;
    out.push_back(r);
    out.back().label = sub;
  }
  return out;
}

std::vector<VideoRecord> fewshot_subset(const std::vector<VideoRecord>& records, int64_t shots, uint64_t seed,
                                        int64_t num_classes) {
  if (shots < 1) throw std::invalid_argument("few-shot: shots must be >= 1, got " + std::to_string(shots));
  if (num_classes <= 0) {
    for (const VideoRecord& r : records) num_classes = std::max(num_classes, r.label + 1);
  }
  std::vector<std::vector<size_t>> by_class(static_cast<size_t>(std::max<int64_t>(num_classes, 0)));
  for (size_t i = 0; i < records.size(); ++i) {
    const int64_t label = records[i].label;
    if (label >= num_classes) {
      throw std::runtime_error("few-shot: video '" + records[i].relative + "' has label " + std::to_string(label) +
                               ", expected < " + std::to_string(num_classes));
    }
    by_class[static_cast<size_t>(label)].push_back(i);
  }
  std::vector<VideoRecord> out;
  for (size_t c = 0; c < by_class.size(); ++c) {
    auto& pool = by_class[c];
    if (static_cast<int64_t>(pool.size()) < shots) {
      throw std::runtime_error("few-shot: class " + std::to_string(c) + " has " + std::to_string(pool.size()) +
                               " videos, fewer than the " + std::to_string(shots) + " shots asked for");
    }
    Rng rng = Rng::keyed(seed, static_cast<int64_t>(c), 0, RngStream::fewshot);
    for (int64_t k = 0; k < shots; ++k) {  // partial Fisher-Yates: the first `shots` are the draw
      const auto j = static_cast<size_t>(k + rng.uniform_int(static_cast<int64_t>(pool.size()) - k));
      std::swap(pool[static_cast<size_t>(k)], pool[j]);
    }
    std::sort(pool.begin(), pool.begin() + shots);
    for (int64_t k = 0; k < shots; ++k) out.push_back(records[pool[static_cast<size_t>(k)]]);
  }
  return out;
}

}  // namespace vifi::data

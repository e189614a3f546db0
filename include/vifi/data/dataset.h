// Annotation lists: which videos a split holds and their labels.
// Owns: parsing and writing "relative/path label" lists, the DATA.ROOT prefix, label checks,
// relabelling between a subset's ids and the full class list's, and K-shot subsets.
//
// List syntax, one video per line:
//   relative/path.avi 12           the label is the last whitespace-separated token, so an
//   dir/my video.avi 12            unquoted path may contain spaces (it is trimmed)
//   "dir/ my video .avi" 12        a double-quoted path is taken verbatim (no escapes)
// Blank lines are skipped; a line without a non-negative integer label, or with an unterminated
// quote, is an error "<file>:<line>: <what was expected>, got '<line>'". Multi-label lines are
// not supported (ViFi-CLIP's lists are single-label).
// A video list (`vifi index --videos-from`) has the same syntax with the label optional: a line
// may be a path alone, quoted or not; an unquoted line's last token is a label only when it is a
// non-negative integer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vifi/data/labels.h"

namespace vifi::data {

struct VideoRecord {
  std::string path;      // DATA.ROOT joined with `relative` (or `relative` when it is absolute)
  std::string relative;  // as written in the list
  int64_t label = 0;
  int64_t line = 0;  // 1-based line in the list it came from (0: not from a file)
};

// Whether every line of a list must end in a label (a split's annotation list) or may be a path
// alone (a list of videos to embed; records without one get kNoLabel).
enum class ListLabels { required, optional };
inline constexpr int64_t kNoLabel = -1;

// `source` names the list in errors; `root` is DATA.ROOT ("" keeps the paths as written).
std::vector<VideoRecord> parse_annotation_list(const std::string& text, const std::string& source,
                                               const std::string& root = "", ListLabels labels = ListLabels::required);
std::vector<VideoRecord> load_annotation_list(const std::string& path, const std::string& root = "",
                                              ListLabels labels = ListLabels::required);

// root / relative; an absolute `relative` or an empty root leaves `relative` unchanged.
std::string join_root(const std::string& root, const std::string& relative);

// "relative label\n" per record; a path with whitespace or a leading quote is written quoted, so
// parse_annotation_list reads back the same records (a path that needs quoting and itself holds
// a '"' cannot be written: std::invalid_argument).
std::string format_annotation_list(const std::vector<VideoRecord>& records);
void write_annotation_list(const std::string& path, const std::vector<VideoRecord>& records);  // atomic

// Throws std::runtime_error "<source>:<line>: ..." naming the first video whose label is not
// below num_classes.
void check_labels(const std::vector<VideoRecord>& records, int64_t num_classes, const std::string& source);

// A list labelled with subset ids (the paper's base/novel lists) -> the same videos labelled with
// full-list ids. Throws naming `source` when a label is outside the subset.
std::vector<VideoRecord> subset_labels_to_full(const std::vector<VideoRecord>& records, const SubsetMapping& mapping,
                                               const std::string& source);

// A list labelled with full-list ids -> only the videos of subset classes, labelled with subset
// ids (list order kept).
std::vector<VideoRecord> select_subset(const std::vector<VideoRecord>& records, const SubsetMapping& mapping);

// K videos per class, classes 0..num_classes-1 (num_classes <= 0: max label + 1). The choice
// depends only on (records, shots, seed). Output is grouped by class (ascending) and keeps list
// order inside a class. Throws naming the class when it has fewer than `shots` videos.
std::vector<VideoRecord> fewshot_subset(const std::vector<VideoRecord>& records, int64_t shots, uint64_t seed,
                                        int64_t num_classes = 0);

}  // namespace vifi::data

// Class-per-folder tree -> labels.csv, train.txt, val.txt (see header).
#include "vifi/data/class_folders.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "vifi/data/rng.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/file_tree.h"

namespace vifi::data {
namespace {

namespace fs = std::filesystem;

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name.front() == '.';
}

bool same_dir(const fs::path& a, const std::string& b) {
  if (b.empty()) return false;
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

// The class's key into the split's random draws: a hash of its name (FNV-1a), so a class's
// split does not move when other classes are added or removed.
int64_t name_key(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ULL;
  return static_cast<int64_t>(h);
}

// A path survives a list only if format_annotation_list writes it and parse_annotation_list
// reads the same text back (no line breaks; no '"' in a path that needs quoting: one with
// whitespace, or starting with '"').
bool list_can_hold(const std::string& relative) {
  if (relative.find_first_of("\n\r") != std::string::npos) return false;
  try {
    const auto back = parse_annotation_list(format_annotation_list({VideoRecord{"", relative, 0, 0}}), "check");
    return back.size() == 1 && back[0].relative == relative;
  } catch (const std::exception&) {
    return false;
  }
}

struct ClassFolder {
  std::string folder;  // relative to ROOT
  std::string name;
  std::vector<std::string> videos;  // relative to ROOT, sorted
  int64_t other_files = 0;
};

// Every file below one class folder, any depth (util/file_tree: through links, loops reported):
// videos collected, everything else skipped with its reason.
void scan_class_folder(const fs::path& root, const fs::path& dir, const ClassFolderOptions& options,
                       ClassFolder& cls, std::vector<SkippedFile>& skipped) {
  const auto rel = [&](const fs::path& p) { return p.lexically_relative(root).generic_string(); };
  util::FileTreeVisitor visitor;
  visitor.enter = [&](const fs::path& p) {
    if (is_hidden(p)) {
      skipped.push_back({rel(p) + "/", "hidden folder"});
      return false;
    }
    if (same_dir(p, options.exclude_dir)) {
      skipped.push_back({rel(p) + "/", "the output folder"});
      return false;
    }
    return true;
  };
  visitor.entry = [&](const fs::path& p, util::TreeEntryKind kind, const std::string& detail) {
    if (is_hidden(p)) {
      skipped.push_back({rel(p), "hidden file"});
    } else if (kind != util::TreeEntryKind::regular_file) {
      skipped.push_back({rel(p), detail});
    } else if (!has_video_extension(p.filename().string())) {
      const std::string ext = p.extension().string();
      skipped.push_back({rel(p), ext.empty() ? "no extension" : "not a video extension (" + ext + ")"});
    } else {
      cls.videos.push_back(rel(p));
      return;
    }
    ++cls.other_files;
  };
  visitor.folder_not_read = [&](const fs::path& p, const std::string& reason) {
    skipped.push_back({rel(p) + "/", reason});
  };
  util::walk_file_tree(dir, visitor);
  std::sort(cls.videos.begin(), cls.videos.end());
}

// The immediate subfolders of ROOT as classes; files and hidden entries at the top are skipped.
std::vector<ClassFolder> scan_root(const fs::path& root, const ClassFolderOptions& options,
                                   std::vector<SkippedFile>& skipped) {
  std::vector<fs::directory_entry> entries(fs::directory_iterator(root), fs::directory_iterator{});
  std::sort(entries.begin(), entries.end());
  std::vector<ClassFolder> classes;
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    std::error_code ec;
    const bool is_dir = entry.is_directory(ec);
    if (is_hidden(entry.path())) {
      skipped.push_back({is_dir ? name + "/" : name, is_dir ? "hidden folder" : "hidden file"});
    } else if (!is_dir) {
      skipped.push_back({name, has_video_extension(name) ? "video outside a class folder" : "outside a class folder"});
    } else if (same_dir(entry.path(), options.exclude_dir)) {
      skipped.push_back({name + "/", "the output folder"});
    } else if (util::folder_holds(entry.path(), root)) {  // a link to ROOT or above
      skipped.push_back({name + "/", "a link to ROOT or a folder holding it (a loop); not a class"});
    } else {
      ClassFolder cls{name, class_name_from_folder(name), {}, 0};
      scan_class_folder(root, entry.path(), options, cls, skipped);
      classes.push_back(std::move(cls));
    }
  }
  return classes;
}

std::string quoted_list(const std::vector<std::string>& items, size_t max_items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? ", '" : "'") + items[i] + "'";
  if (items.size() > max_items) out += " and " + std::to_string(items.size() - max_items) + " more";
  return out;
}


// The checks that make a tree unusable as a class list; each names the folders or files at fault.
void check_classes(const std::string& root, const std::vector<ClassFolder>& classes) {
  if (classes.empty()) {
    throw std::runtime_error(root + ": no class folders (expected ROOT/<class>/<video>, e.g. "
                             "UCF-101's ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi; hidden folders are ignored)");
  }
  std::vector<std::string> empty;
  for (const auto& c : classes) {
    if (c.videos.empty())
      empty.push_back(c.folder + "/ (" + std::to_string(c.other_files) + " other files)");
  }
  if (!empty.empty()) {
    throw std::runtime_error(root + ": " + std::to_string(empty.size()) + " class folder(s) hold no video: " +
                             quoted_list(empty, 20) + "; every immediate subfolder of ROOT is a class and needs " +
                             "at least one file with a video extension (" + video_extensions_text() +
                             "): remove those folders or move their videos in");
  }
  std::map<std::string, std::string> folder_of;
  for (const auto& c : classes) {
    if (c.name.find_first_of("\n\r") != std::string::npos)
      throw std::runtime_error(root + ": class folder '" + c.folder + "' has a line break in its name: rename it");
    const auto [it, inserted] = folder_of.emplace(c.name, c.folder);
    if (!inserted) {
      throw std::runtime_error(root + ": class folders '" + it->second + "' and '" + c.folder +
                               "' both give the class name '" + c.name + "' ('_' reads as a space): merge or rename them");
    }
  }
  std::vector<std::string> unwritable;
  for (const auto& c : classes) {
    for (const auto& v : c.videos)
      if (!list_can_hold(v)) unwritable.push_back(v);
  }
  if (!unwritable.empty()) {
    throw std::runtime_error(root + ": " + std::to_string(unwritable.size()) +
                             " video path(s) cannot be written to a list (a line break, or a '\"' in a path with "
                             "spaces or starting with '\"'): " + quoted_list(unwritable, 10) + "; rename them");
  }
}

std::vector<std::string> split_level_warnings(const std::string& root, const std::vector<ClassFolder>& classes) {
  static const std::set<std::string> split_names{"train", "training", "val", "valid", "validation", "test", "testing"};
  for (const auto& c : classes)
    if (!split_names.count(lower_ascii(c.folder))) return {};
  return {root + ": the class folders are named like splits (" + classes.front().folder +
          (classes.size() > 1 ? ", " + classes[1].folder : std::string()) +
          "...): ROOT seems to hold a split level above the class folders; index " +
          (fs::path(root) / classes.front().folder).string() + " instead"};
}

}  // namespace

std::string class_name_from_folder(const std::string& folder) {
  std::string name = folder;
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

std::vector<std::string> sort_class_names(std::vector<std::string> names) {
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    const std::string la = lower_ascii(a), lb = lower_ascii(b);
    return la != lb ? la < lb : a < b;
  });
  return names;
}

int64_t validation_count(int64_t num_videos, double val_fraction) {
  if (num_videos < 2 || val_fraction <= 0.0) return 0;
  const auto k = static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(num_videos)));
  return std::clamp<int64_t>(k, 1, num_videos - 1);
}

ClassFolderIndex index_class_folders(const std::string& root, const ClassFolderOptions& options) {
  if (!(options.val_fraction >= 0.0 && options.val_fraction < 1.0)) {
    throw std::invalid_argument("val fraction must be in [0, 1), got " + std::to_string(options.val_fraction));
  }
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw std::runtime_error(root + (fs::exists(root, ec) ? ": not a directory" : ": no such directory") +
                             " (expected a folder with one subfolder per class)");
  }
  ClassFolderIndex index;
  index.root = root;
  auto classes = scan_root(fs::path(root), options, index.skipped);
  check_classes(root, classes);
  index.warnings = split_level_warnings(root, classes);

  std::map<std::string, ClassFolder*> by_name;
  std::vector<std::string> names;
  for (auto& c : classes) {
    by_name[c.name] = &c;
    names.push_back(c.name);
  }
  index.class_names = sort_class_names(names);
  int64_t single_video_classes = 0;
  for (size_t id = 0; id < index.class_names.size(); ++id) {
    const ClassFolder& c = *by_name.at(index.class_names[id]);
    const auto n = static_cast<int64_t>(c.videos.size());
    const int64_t k = validation_count(n, options.val_fraction);
    single_video_classes += n == 1;
    // Partial Fisher-Yates over the sorted videos: the first k positions are the draw.
    std::vector<size_t> order(c.videos.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    Rng rng = Rng::keyed(options.seed, name_key(c.name), -1, RngStream::shuffle);
    for (int64_t i = 0; i < k; ++i) {
      const auto j = static_cast<size_t>(i + rng.uniform_int(n - i));
      std::swap(order[static_cast<size_t>(i)], order[j]);
    }
    std::vector<bool> to_val(c.videos.size(), false);
    for (int64_t i = 0; i < k; ++i) to_val[order[static_cast<size_t>(i)]] = true;
    for (size_t v = 0; v < c.videos.size(); ++v) {
      VideoRecord r{join_root(root, c.videos[v]), c.videos[v], static_cast<int64_t>(id), 0};
      (to_val[v] ? index.val : index.train).push_back(std::move(r));
    }
    index.class_folders.push_back(c.folder);
    index.videos_per_class.push_back(n);
  }
  if (single_video_classes > 0 && options.val_fraction > 0.0) {
    index.warnings.push_back(std::to_string(single_video_classes) +
                             " class(es) have a single video: it goes to train.txt, so val.txt has none of them");
  }
  std::sort(index.skipped.begin(), index.skipped.end(),
            [](const SkippedFile& a, const SkippedFile& b) { return a.relative < b.relative; });
  return index;
}

std::string format_label_csv(const std::vector<std::string>& names) {
  std::ostringstream out;
  out << "id,name\n";
  for (size_t id = 0; id < names.size(); ++id) {
    const std::string& name = names[id];
    const bool quote = name.empty() || name.find_first_of(",\"") != std::string::npos ||
                       std::isspace(static_cast<unsigned char>(name.front())) ||
                       std::isspace(static_cast<unsigned char>(name.back()));
    out << id << ',';
    if (!quote) {
      out << name;
    } else {
      out << '"';
      for (char c : name) out << (c == '"' ? "\"\"" : std::string(1, c));
      out << '"';
    }
    out << '\n';
  }
  return out.str();
}

std::vector<std::string> write_class_folder_index(const std::string& dir, const ClassFolderIndex& index) {
  const std::string labels = format_label_csv(index.class_names);
  const std::string train = format_annotation_list(index.train);
  const std::string val = format_annotation_list(index.val);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create the output folder (" + ec.message() + ")");
  const std::vector<std::string> paths{(fs::path(dir) / "labels.csv").string(), (fs::path(dir) / "train.txt").string(),
                                       (fs::path(dir) / "val.txt").string()};
  util::write_file_atomic(paths[0], labels);
  util::write_file_atomic(paths[1], train);
  util::write_file_atomic(paths[2], val);
  return paths;
}

}  // namespace vifi::data

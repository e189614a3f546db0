// Video extensions and folder walks (see header).
#include "vifi/data/video_files.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "vifi/util/file_tree.h"
#include "vifi/util/logging.h"

namespace vifi::data {
namespace {

namespace fs = std::filesystem;

std::string ascii_lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool hidden_or_unfinished(const fs::path& name) {
  const auto text = name.filename().string();
  return text.empty() || text[0] == '.' || text.find(".partial-") != std::string::npos;
}

}  // namespace

const std::vector<std::string>& video_extensions() {
  static const std::vector<std::string> extensions{".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg",
                                                   ".mpeg", ".ts", ".gif", ".flv", ".wmv", ".3gp", ".ogv"};
  return extensions;
}

std::string video_extensions_text() {
  std::string out;
  for (const auto& e : video_extensions()) out += (out.empty() ? "" : " ") + e;
  return out;
}

bool has_video_extension(const std::string& filename) {
  const std::string ext = ascii_lowercase(fs::path(filename).extension().string());
  const auto& all = video_extensions();
  return std::find(all.begin(), all.end(), ext) != all.end();
}

std::vector<std::string> videos_under(const std::string& directory) {
  std::vector<std::string> paths;
  util::FileTreeVisitor visitor;
  visitor.enter = [](const fs::path& folder) { return !hidden_or_unfinished(folder); };
  visitor.entry = [&paths, &directory](const fs::path& path, util::TreeEntryKind kind, const std::string& detail) {
    if (hidden_or_unfinished(path) || !has_video_extension(path.string())) return;
    // A broken link named like a video stays in the list: reading it fails with a message naming
    // it, and runs list it among their failed videos instead of losing it here. A FIFO or device
    // does not (opening a FIFO would block the reader).
    if (kind == util::TreeEntryKind::other) {
      util::log_warn(path.string() + ": " + detail + "; left out of the videos of " + directory);
      return;
    }
    paths.push_back(path.string());
  };
  visitor.folder_not_read = [&directory](const fs::path& folder, const std::string& reason) {
    util::log_warn(folder.string() + ": " + reason + "; videos in it are not among the videos of " + directory);
  };
  util::walk_file_tree(directory, visitor);
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<std::string> expand_video_folders(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& path : paths) {
    std::error_code error;
    if (!fs::is_directory(path, error)) {
      out.push_back(path);
      continue;
    }
    const auto found = videos_under(path);
    if (found.empty())
      throw std::runtime_error(path + ": a folder without videos (looked for " + video_extensions_text() +
                               " at any depth)");
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace vifi::data

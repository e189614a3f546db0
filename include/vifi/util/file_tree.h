// Walking a folder tree as downloaded datasets are laid out: folders reached through symbolic
// links are entered (datasets are often assembled from links to other disks), a link back to a
// folder the walk is inside is reported instead of entered (std::filesystem's recursive iterator
// would follow such a loop until the path is too long and then throw), and every entry the walk
// cannot use is handed to the caller with the reason instead of ending the walk: a broken or
// looping link, a FIFO, a folder it may not read. One walker for data/video_files (folders of
// videos), data/class_folders (`vifi data index`) and data/prepare (`vifi data prepare`).
#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace vifi::util {

enum class TreeEntryKind {
  regular_file,  // a regular file, or a link to one
  broken_link,   // a link whose target is missing, or a chain of links that loops
  other,         // a FIFO, socket or device; an entry that vanished while the walk listed it
};

struct FileTreeVisitor {
  // Whether to enter the folder at `path` (below the root; reached directly or through a link).
  // Unset: every folder.
  std::function<bool(const std::filesystem::path& path)> enter;
  // Every entry that is not a folder. `detail` says what an entry of another kind than
  // regular_file is ("a broken symbolic link to 'x', which does not exist"); empty for files.
  std::function<void(const std::filesystem::path& path, TreeEntryKind kind, const std::string& detail)> entry;
  // A folder not entered or not read to the end: it may not be read (the reason has the system's
  // words), or it is a link back to a folder the walk is inside or one that holds the root.
  std::function<void(const std::filesystem::path& path, const std::string& reason)> folder_not_read;
};

// Walks everything below `root` depth-first, each folder's entries in sorted order; paths are
// `root` joined with the names as listed (links are not resolved). Throws std::runtime_error
// naming `root` when it is not a readable folder.
void walk_file_tree(const std::filesystem::path& root, const FileTreeVisitor& visitor);

// Whether `inner` is `outer` or lies below it once links are resolved (either may not exist yet:
// its existing part is resolved). False when a path cannot be resolved.
bool folder_holds(const std::filesystem::path& outer, const std::filesystem::path& inner);

}  // namespace vifi::util

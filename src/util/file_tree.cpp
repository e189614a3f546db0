// Folder walks that survive messy trees (see header). Written on POSIX readdir and stat rather
// than std::filesystem's recursive iterator because a loop is only recognisable by the device and
// inode of the folders the walk is inside, which std::filesystem does not expose. The entry type
// readdir gives is trusted for regular files and folders, so a file costs no stat call: datasets
// of 10^5-10^6 files often sit on network filesystems (NFS, Lustre), where each stat is a round
// trip. Links, other kinds and filesystems that report no type (DT_UNKNOWN) are looked at.
#include "vifi/util/file_tree.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace vifi::util {
namespace {

namespace fs = std::filesystem;

struct FolderId {
  dev_t device;
  ino_t inode;
  bool operator==(const FolderId& o) const { return device == o.device && inode == o.inode; }
};

struct OpenFolder {
  FolderId id;
  fs::path path;
};

std::string in_quotes(const fs::path& p) { return "'" + p.string() + "'"; }

std::string link_target(const fs::path& link) {
  std::error_code error;
  const fs::path target = fs::read_symlink(link, error);
  return error ? std::string("?") : target.string();
}

// What a link that cannot be followed is, from stat's errno.
std::string broken_link_detail(const fs::path& link, int error) {
  if (error == ELOOP) return "a symbolic link in a loop (" + std::string(std::strerror(error)) + ")";
  if (error == ENOENT || error == ENOTDIR) {
    return "a broken symbolic link to " + in_quotes(link_target(link)) + ", which does not exist";
  }
  return "a symbolic link to " + in_quotes(link_target(link)) + " that cannot be followed (" + std::strerror(error) + ")";
}

std::string other_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (named pipe), not a file";
  if (S_ISSOCK(mode)) return "a socket, not a file";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device, not a file";
  return "not a regular file";
}

class Walker {
 public:
  explicit Walker(const FileTreeVisitor& visitor) : visitor_(visitor) {}

  void walk_root(const fs::path& root) {
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) {
      throw std::runtime_error(root.string() + ": cannot be read (" + std::strerror(errno) + ")");
    }
    if (!S_ISDIR(st.st_mode)) throw std::runtime_error(root.string() + ": not a folder");
    if (!Folder(root)) throw std::runtime_error(root.string() + ": cannot be read (" + std::strerror(errno) + ")");
    open_above(root);
    walk_folder(root, {st.st_dev, st.st_ino});
  }

 private:
  // The folders that hold the root count as open too: a link to one of them leads back to the
  // root (a class folder's link to the dataset folder).
  void open_above(const fs::path& root) {
    std::error_code error;
    const fs::path real = fs::canonical(root, error);
    if (error) return;
    for (fs::path p = real.parent_path(); !p.empty(); p = p.parent_path()) {
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0) open_.push_back({{st.st_dev, st.st_ino}, p});
      if (p == p.root_path()) break;
    }
  }

  void walk_folder(const fs::path& folder, FolderId id) {
    open_.push_back({id, folder});
    for (const Listed& entry : list(folder)) visit(folder / entry.name, entry.type);
    open_.pop_back();
  }

  // An open folder stream, closed however the walk leaves (a visitor may throw).
  struct Folder {
    explicit Folder(const fs::path& path) : dir(::opendir(path.c_str()), &::closedir) {}
    explicit operator bool() const { return dir != nullptr; }
    std::unique_ptr<DIR, int (*)(DIR*)> dir;
  };

  struct Listed {
    std::string name;
    unsigned char type;  // readdir's d_type
    bool operator<(const Listed& o) const { return name < o.name; }
  };

  // The folder's entries, sorted by name; what could be listed when listing fails part-way.
  std::vector<Listed> list(const fs::path& folder) {
    std::vector<Listed> entries;
    Folder stream(folder);
    if (!stream) {
      not_read(folder, std::string("cannot be read (") + std::strerror(errno) + ")");
      return entries;
    }
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(stream.dir.get());
      if (!e) {
        const int error = errno;
        if (error != 0) {
          const char* what = entries.empty() ? "cannot be read (" : "could not be read to the end (";
          not_read(folder, what + std::string(std::strerror(error)) + ")");
        }
        break;
      }
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) entries.push_back({e->d_name, e->d_type});
    }
    std::sort(entries.begin(), entries.end());
    return entries;
  }

  void visit(const fs::path& path, unsigned char type) {
    struct stat st {};
    if (type == DT_REG) {
      report(path, TreeEntryKind::regular_file, "");
      return;
    }
    if (type == DT_DIR) {  // its device and inode, for the loop check
      if (::stat(path.c_str(), &st) != 0) {
        not_read(path, std::string("cannot be read (") + std::strerror(errno) + ")");
      } else {
        enter(path, {st.st_dev, st.st_ino});
      }
      return;
    }
    if (::lstat(path.c_str(), &st) != 0) {
      report(path, TreeEntryKind::other, std::string("cannot be read (") + std::strerror(errno) + ")");
      return;
    }
    if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &st) != 0) {
      report(path, TreeEntryKind::broken_link, broken_link_detail(path, errno));
      return;
    }
    if (S_ISREG(st.st_mode)) {
      report(path, TreeEntryKind::regular_file, "");
    } else if (S_ISDIR(st.st_mode)) {
      enter(path, {st.st_dev, st.st_ino});
    } else {
      report(path, TreeEntryKind::other, other_kind(st.st_mode));
    }
  }

  void enter(const fs::path& path, FolderId id) {
    const auto inside = std::find_if(open_.begin(), open_.end(), [&id](const OpenFolder& f) { return f.id == id; });
    if (inside != open_.end()) {
      not_read(path, "a link back to " + in_quotes(inside->path) + ", which holds it (a loop); not entered");
      return;
    }
    if (visitor_.enter && !visitor_.enter(path)) return;
    walk_folder(path, id);
  }

  void report(const fs::path& path, TreeEntryKind kind, const std::string& detail) {
    if (visitor_.entry) visitor_.entry(path, kind, detail);
  }

  void not_read(const fs::path& path, const std::string& reason) {
    if (visitor_.folder_not_read) visitor_.folder_not_read(path, reason);
  }

  const FileTreeVisitor& visitor_;
  std::vector<OpenFolder> open_;  // the folders the walk is inside, root first
};

}  // namespace

void walk_file_tree(const fs::path& root, const FileTreeVisitor& visitor) { Walker(visitor).walk_root(root); }

bool folder_holds(const fs::path& outer, const fs::path& inner) {
  std::error_code outer_error, inner_error;
  const fs::path o = fs::weakly_canonical(outer, outer_error), i = fs::weakly_canonical(inner, inner_error);
  if (outer_error || inner_error) return false;
  return std::mismatch(o.begin(), o.end(), i.begin(), i.end()).first == o.end();
}

}  // namespace vifi::util

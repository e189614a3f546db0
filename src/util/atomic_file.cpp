// Atomic writes via temporary file + rename (POSIX rename is atomic within one filesystem).
// A failed write (disk full, a file-size limit, an exception from the writer) removes the
// temporary file and leaves `path` as it was; the data is fsync'ed before the rename, so the
// name never points at a file whose bytes are still only in the page cache.
#include "vifi/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace vifi::util {
namespace {

std::string cause(int error) {
  return error != 0 ? std::strerror(error) : "disk full or file too large";
}

// Flushes the file's data to the device; returns errno, or 0.
int sync_file(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd);
  const int error = rc != 0 ? errno : 0;
  ::close(fd);
  return error;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  // Unique per write, so two threads writing the same path never share a temporary file.
  static std::atomic<uint64_t> writes{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(writes++);
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot create " + tmp + " (" + cause(errno) + ")");
    errno = 0;
    write(out);
    out.flush();
    if (!out) throw std::runtime_error(path + ": write failed (" + cause(errno) + ")");
    errno = 0;
    out.close();
    if (out.fail()) throw std::runtime_error(path + ": write failed (" + cause(errno) + ")");
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  commit_file(tmp, path);
}

void commit_file(const std::string& tmp, const std::string& path) {
  if (const int error = sync_file(tmp)) {
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": write failed (" + cause(error) + ")");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot rename temporary file into place (" + why + ")");
  }
}

void write_file_atomic(const std::string& path, const std::string& content) {
  write_file_atomic(path, [&](std::ostream& out) { out.write(content.data(), static_cast<std::streamsize>(content.size())); });
}

}  // namespace vifi::util

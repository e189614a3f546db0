// Atomic file writes: content goes to "<path>.tmp.<pid>.<n>" (n counts the process's writes)
// and is renamed over `path`, so a reader (or a crash, or Ctrl-C) never sees a half-written
// checkpoint, result or array, and two threads writing one path never share a temporary file.
#pragma once
#include <functional>
#include <ostream>
#include <string>

namespace vifi::util {

// Calls `write` with a binary stream on a temporary file, flushes and fsyncs it, then renames it
// to `path`. Throws std::runtime_error "<path>: write failed (No space left on device)" when the
// file cannot be created, written or renamed, and rethrows what `write` throws; either way the
// temporary file is removed and an existing `path` is left untouched.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

// The last step of an atomic write done by other code (a muxer writing `tmp` itself): fsyncs
// `tmp` and renames it to `path`. On failure removes `tmp` and throws std::runtime_error naming
// `path` and the cause; an existing `path` is left untouched.
void commit_file(const std::string& tmp, const std::string& path);

// Convenience for text and small blobs.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace vifi::util

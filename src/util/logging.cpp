// Process-wide log sink. This is the one deliberate global: every thread must reach the same
// sink, and it is written once before any worker starts.
#include "vifi/util/logging.h"

#include <iostream>
#include <mutex>

namespace vifi::util {
namespace {

LogSink& sink() {
  static LogSink s;
  return s;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warning";
    case LogLevel::error: return "error";
  }
  return "?";
}

}  // namespace

void set_log_sink(LogSink s) { sink() = std::move(s); }

void log(LogLevel level, const std::string& message) {
  if (sink()) {
    sink()(level, message);
    return;
  }
  if (level == LogLevel::debug) return;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::cerr << "[" << level_name(level) << "] " << message << "\n";
}

}  // namespace vifi::util

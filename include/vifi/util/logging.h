// Logging facade for the libraries. vifi_core must build with LibTorch alone, so it cannot call
// spdlog directly: library code logs through these functions, and the CLI installs a sink that
// forwards to spdlog (console + OUTPUT/log_rank{r}.txt). Without a sink, messages go to stderr.
#pragma once
#include <functional>
#include <string>

namespace vifi::util {

enum class LogLevel { debug, info, warn, error };

using LogSink = std::function<void(LogLevel, const std::string&)>;

// Installed once at process start (before worker threads exist); not changed afterwards.
void set_log_sink(LogSink sink);

void log(LogLevel level, const std::string& message);
inline void log_debug(const std::string& m) { log(LogLevel::debug, m); }
inline void log_info(const std::string& m) { log(LogLevel::info, m); }
inline void log_warn(const std::string& m) { log(LogLevel::warn, m); }
inline void log_error(const std::string& m) { log(LogLevel::error, m); }

}  // namespace vifi::util

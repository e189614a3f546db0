// Paths shared by tests: fixtures shipped in tests/fixtures and a per-test scratch directory.
#pragma once
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace vifi::test {

inline std::string fixture(const std::string& relative) { return std::string(VIFI_FIXTURES) + "/" + relative; }

// A fresh empty directory under the system temp dir, named after the running test and process
// (ctest runs tests in parallel processes, and several checkouts may test at once). A
// parameterised test's name holds '/' ("Formats/ExportAuthors.Name/0"), written as '_' so the
// folder is a direct child of vifi-tests, where test_main.cpp removes it after a passing run.
inline std::filesystem::path scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name() + "." + std::to_string(::getpid());
  for (char& c : name) c = c == '/' ? '_' : c;
  auto dir = std::filesystem::temp_directory_path() / "vifi-tests" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs the shell command `cmd`; returns its exit code and captures stdout+stderr.
inline int run_command(const std::string& cmd, std::string* output = nullptr) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::string text;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  const int status = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs `script` with bash (for ulimit and the like).
inline int run_shell(const std::string& script, std::string* output = nullptr) {
  std::string quoted;  // one single-quoted bash argument
  for (const char c : script) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return run_command("bash -c '" + quoted + "'", output);
}

// The whole of `path` as text ("" when it cannot be read: the caller's EXPECT says what was wanted).
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes `text` to `path`, creating its parent folders.
inline void write_text(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

#ifdef VIFI_BINARY  // video-tier tests only: core tests do not depend on the CLI
// Runs the built vifi binary with `args`; returns its exit code and captures stdout+stderr.
inline int run_vifi(const std::string& args, std::string* output = nullptr) {
  return run_command(std::string(VIFI_BINARY) + " " + args, output);
}
#endif

}  // namespace vifi::test

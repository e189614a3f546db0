// libFuzzer target for config files (config/config_yaml walking yaml-cpp's nodes into
// config/config's ConfigBuilder): the file every run starts from, hand-edited and copied between
// machines. An input is one config file's text; with the first byte odd, the text after the
// first NUL is also split at NULs into --opts KEY VALUE tokens. The file lives in a scratch
// folder of its own, so BASE entries resolve against it (a BASE naming the file itself is a
// cycle). Expected answer to bad text: vifi::ConfigError (a std::runtime_error) with a message.
// Findings: any other exception, an empty message, a crash or sanitizer report, and a config that
// loads but whose to_yaml text (what OUTPUT/config.yaml and checkpoints store) does not load back
// to the same config, as config.h promises.
// Seeds (fuzz/corpus-config_yaml): the shipped configs as `vifi config show` resolves them, the
// first finding, and hand-made faults (tabs, anchors, flow maps, quoted and multi-line strings,
// BASE forms, deep nesting). Build: fuzz/CMakeLists.txt (clang).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vifi/config/config_yaml.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "config_yaml_fuzzer: %s\n", what.c_str());
  std::abort();
}

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    char name[] = "/tmp/vifi-config-fuzz-XXXXXX";
    if (!mkdtemp(name)) finding("no scratch folder");
    return std::filesystem::path(name);
  }();
  return dir;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) finding("cannot write " + path.string());
}

// The config, or nothing when it was refused the expected way.
std::optional<vifi::Config> load(const std::string& path, const std::vector<std::string>& opts) {
  try {
    return vifi::load_config(path, opts);
  } catch (const vifi::ConfigError& e) {
    if (std::string(e.what()).empty()) finding("a ConfigError without a message");
    return std::nullopt;
  } catch (const std::exception& e) {
    finding(std::string("an exception other than vifi::ConfigError: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> opts;
  if (data[0] % 2 == 1) {
    const auto nul = text.find('\0');
    if (nul != std::string::npos) {
      for (size_t begin = nul + 1;;) {
        const auto end = text.find('\0', begin);
        opts.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
        if (end == std::string::npos) break;
        begin = end + 1;
      }
      text.resize(nul);
    }
  }
  const auto file = scratch() / "config.yaml";
  write(file, text);
  const auto config = load(file.string(), opts);
  if (!config) return 0;
  // What a run stores must read back to what it ran with (resume compares them).
  const auto written = vifi::to_yaml(*config);
  const auto again_file = scratch() / "again.yaml";
  write(again_file, written);
  const auto again = load(again_file.string(), {});
  if (!again) finding("vifi's own config does not load:\n" + written);
  if (!vifi::same_config(*config, *again)) finding("a config round trip changed a value:\n" + written);
  return 0;
}

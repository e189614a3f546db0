// `vifi demo`'s fine-tuned model and its synthetic video set (5 classes, 8 validation videos
// each) for the commands that use a trained model: export, index, search, serve. ctest makes it
// once for all of them (the `demo_model` fixture, VIFI_DEMO_MODEL); a test binary run alone
// makes its own (about 20 s on 2 cores). Read-only: tests write into their scratch folders.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_paths.h"

namespace vifi::test {

struct DemoModel {
  std::filesystem::path dir;
  std::string weights() const { return (dir / "run/best.pth").string(); }
  // What `vifi demo` printed (its before/after table), kept as DIR/demo.out.
  std::string output() const {
    std::ifstream in(dir / "demo.out");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  std::string labels() const { return (dir / "data/labels.csv").string(); }
  std::string val_list() const { return (dir / "data/val.txt").string(); }
  // Class names in label order (labels.csv "id,name").
  std::vector<std::string> class_names() const {
    std::ifstream in(labels());
    std::vector<std::string> names;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line))
      if (const auto comma = line.find(','); comma != std::string::npos) names.push_back(line.substr(comma + 1));
    return names;
  }
  // The validation videos (absolute paths) and their labels.
  std::vector<std::pair<std::string, int>> val_videos() const {
    std::ifstream in(val_list());
    std::vector<std::pair<std::string, int>> out;
    std::string path;
    int label = 0;
    while (in >> path >> label) out.emplace_back((dir / "data" / path).lexically_normal().string(), label);
    return out;
  }
};

// The process's demo run; an ASSERT failure in the caller when `vifi demo` fails.
inline const DemoModel& demo_model() {
  static DemoModel demo = [] {
    DemoModel d;
    if (const char* shared = std::getenv("VIFI_DEMO_MODEL"); shared && std::filesystem::exists(std::filesystem::path(shared) / "run/best.pth")) {
      d.dir = shared;
      return d;
    }
    d.dir = std::filesystem::temp_directory_path() / "vifi-tests" / ("demo-model." + std::to_string(::getpid()));
    std::filesystem::remove_all(d.dir);
    std::string log;
    if (run_vifi("demo --out " + d.dir.string() + " --threads 2", &log) != 0) ADD_FAILURE() << "vifi demo failed:\n" << log;
    std::ofstream(d.dir / "demo.out") << log;
    return d;
  }();
  return demo;
}

}  // namespace vifi::test

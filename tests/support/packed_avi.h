// ffprobe's view of packed B-frames in an AVI (the FFmpeg CLI as the oracle): each packed run
// ends in a placeholder packet of a few bytes, an uncoded VOP.
#pragma once
#include <filesystem>
#include <sstream>
#include <string>

#include "test_paths.h"

namespace vifi::test {

// Video packets of `path` under 16 bytes, as ffprobe lists them; -1 when ffprobe fails.
inline int placeholder_packets(const std::filesystem::path& path) {
  std::string sizes;
  if (run_command("ffprobe -v error -select_streams v:0 -show_entries packet=size -of csv=p=0 '" + path.string() + "'",
                  &sizes) != 0) {
    return -1;
  }
  std::istringstream lines(sizes);
  int placeholders = 0;
  for (std::string line; std::getline(lines, line);) placeholders += !line.empty() && std::stoi(line) < 16;
  return placeholders;
}

}  // namespace vifi::test

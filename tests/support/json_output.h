// The JSON object a command printed on one line of its output (run_vifi also captures the log
// on stderr, so the object is found by how its line starts).
#pragma once
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace vifi::test {

// The line of `output` that starts with `starts_with` (e.g. "{\"query\""), parsed; an empty
// object and a test failure when there is none. A parse error throws.
inline nlohmann::json json_line(const std::string& output, const std::string& starts_with) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(starts_with, 0) == 0) return nlohmann::json::parse(line);
  ADD_FAILURE() << "no line starting with " << starts_with << " in:\n" << output;
  return nlohmann::json::object();
}

}  // namespace vifi::test

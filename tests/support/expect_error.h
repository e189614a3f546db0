// expect_error: the call throws E, and its message names every part given (a path, a key, ...).
#pragma once
#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <vector>

namespace vifi::test {

template <class E = std::exception, class Fn>
void expect_error(Fn fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an error mentioning '" << parts.front() << "'";
  } catch (const E& e) {
    for (const auto& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

}  // namespace vifi::test

// util/error_message: what users read of a caught exception.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "vifi/util/error_message.h"

namespace vifi {
namespace {

c10::Error failed_check(int64_t got) {
  try {
    TORCH_CHECK(got == 3, "clip.npy: expected 3 channels, got ", got);
  } catch (const c10::Error& e) {
    return e;
  }
  throw std::logic_error("TORCH_CHECK did not throw");
}

TEST(ErrorMessage, TorchChecksReadAsTheirMessageAlone) {
  ::unsetenv("TORCH_SHOW_CPP_STACKTRACES");
  const auto check = failed_check(4);
  EXPECT_EQ(util::error_message(check), "clip.npy: expected 3 channels, got 4");
  // LibTorch's own checks too: the message, without "Exception raised from ..." and its frames
  // (LibTorch 1.13's what() has them after the message).
  try {
    torch::zeros({2, 3}).view({4});
    FAIL();
  } catch (const std::exception& e) {
    const auto message = util::error_message(e);
    EXPECT_NE(message.find("shape '[4]' is invalid for input of size 6"), std::string::npos) << message;
    EXPECT_EQ(message.find("Exception raised from"), std::string::npos) << message;
    EXPECT_LE(message.size(), std::string(e.what()).size());
  }
  // Every other exception reads as what() says.
  EXPECT_EQ(util::error_message(std::runtime_error("labels.csv: line 3: expected 'id,name'")),
            "labels.csv: line 3: expected 'id,name'");
}

// std::bad_alloc's what() is its type name alone; a user reads what happened and what to lower.
TEST(ErrorMessage, AFailedAllocationReadsAsOutOfMemory) {
  try {
    std::vector<char> huge;
    huge.reserve(huge.max_size() / 2);
    FAIL() << "the reservation succeeded";
  } catch (const std::exception& e) {
    const auto message = util::error_message(e);
    EXPECT_EQ(message.rfind("out of memory", 0), 0u) << message;
    EXPECT_NE(message.find("fewer frames"), std::string::npos) << message;
  }
}

TEST(ErrorMessage, TorchShowCppStacktracesKeepsWhatLibTorchSays) {
  const auto check = failed_check(4);
  ::setenv("TORCH_SHOW_CPP_STACKTRACES", "1", 1);
  const auto traced = util::error_message(check);
  ::unsetenv("TORCH_SHOW_CPP_STACKTRACES");
  EXPECT_EQ(traced, check.what());
  EXPECT_EQ(traced.rfind("clip.npy: expected 3 channels, got 4", 0), 0u) << traced;
}

}  // namespace
}  // namespace vifi

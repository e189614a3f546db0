// `vifi tokenize` (src/cli/tokenize_command): the ids clip.tokenize gives, one line per text.
#include <gtest/gtest.h>

#include <string>

#include "support/test_paths.h"

namespace vifi {
namespace {

TEST(TokenizeCommand, PrintsOneLineOfIdsPerText) {
  std::string out;
  ASSERT_EQ(test::run_vifi("tokenize 'a photo of a dog.' 'Hello,   World!!'", &out), 0) << out;
  EXPECT_EQ(out, "49406 320 1125 539 320 1929 269 49407\n49406 3306 267 1002 748 49407\n");
}

}  // namespace
}  // namespace vifi

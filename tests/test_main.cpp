// Shared GoogleTest entry point: one intra-op thread per test process keeps ctest -j2 honest
// on 2 cores and makes floating-point reductions reproducible.
#include <gtest/gtest.h>
#include <torch/torch.h>

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

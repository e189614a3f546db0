// Shared GoogleTest entry point: one intra-op thread per test process keeps ctest -j2 honest
// on 2 cores and makes floating-point reductions reproducible.
//
// Every scratch folder a test makes is <tmp>/vifi-tests/<name>.<pid> (support/test_paths.h,
// demo_model.h and the suites' own). A process whose tests all passed removes its own folders
// on the way out; a failing one keeps them for inspection and says where. Without this, repeated
// local runs filled the disk (57 GB of video, model and checkpoint copies).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

namespace {

// Removes <tmp>/vifi-tests/*.<pid>: listed first, then removed, so the listing never sees its
// own removals.
void remove_own_scratch() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::temp_directory_path(ec) / "vifi-tests";
  if (ec || !fs::is_directory(root, ec)) return;
  const std::string suffix = "." + std::to_string(::getpid());
  std::vector<fs::path> own;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      own.push_back(it->path());
  }
  for (const auto& path : own) fs::remove_all(path, ec);
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  if (rc == 0) {
    remove_own_scratch();
  } else {
    std::cerr << "test scratch kept for inspection: " << (std::filesystem::temp_directory_path() / "vifi-tests").string()
              << "/*." << ::getpid() << "\n";
  }
  return rc;
}

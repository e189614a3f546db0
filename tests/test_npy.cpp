// .npy codec: round trips, headers NumPy writes, and errors naming the file.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "support/test_paths.h"
#include "vifi/util/npy.h"

namespace vifi {
namespace {

TEST(Npy, Float32RoundTrip) {
  auto dir = test::scratch_dir();
  auto t = torch::randn({3, 5, 2});
  util::save_npy((dir / "a.npy").string(), t);
  auto back = util::load_npy((dir / "a.npy").string());
  EXPECT_TRUE(torch::equal(t, back));
}

TEST(Npy, Int64AndScalarAndVectorShapes) {
  auto dir = test::scratch_dir();
  auto ints = torch::arange(7, torch::kLong);
  util::save_npy((dir / "i.npy").string(), ints);
  EXPECT_TRUE(torch::equal(util::load_npy((dir / "i.npy").string()), ints));
  util::save_npy((dir / "s.npy").string(), torch::tensor(2.5f));
  auto s = util::load_npy((dir / "s.npy").string());
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<float>(), 2.5f);
}

TEST(Npy, HeaderIsAlignedAndReadableByNumpyConventions) {
  auto dir = test::scratch_dir();
  util::save_npy((dir / "h.npy").string(), torch::zeros({2, 3}));
  std::ifstream in(dir / "h.npy", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  const size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_NE(bytes.find("'shape': (2, 3)"), std::string::npos) ;
  EXPECT_EQ(bytes.size(), 10 + header_len + 6 * 4);
}

TEST(Npy, ReadsTheFixtureWrittenByNumpy) {
  auto images = util::load_npy(test::fixture("clip_tiny/images.npy"));
  EXPECT_EQ(images.sizes(), torch::IntArrayRef({3, 3, 32, 32}));
  EXPECT_EQ(images.scalar_type(), torch::kFloat32);
}

TEST(Npy, ErrorsNameTheFile) {
  auto dir = test::scratch_dir();
  const auto missing = (dir / "missing.npy").string();
  try {
    util::load_npy(missing);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot open .npy file");
  }
  const auto text = (dir / "text.npy").string();
  std::ofstream(text) << "hello";
  try {
    util::load_npy(text);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), text + ": not a .npy file (bad magic)");
  }
}

}  // namespace
}  // namespace vifi

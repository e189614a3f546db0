// .npy codec: round trips, the files NumPy writes in each format version (tools/make_npy_fixtures.py),
// and damaged files refused naming the file, before anything is allocated.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <vector>

#include "support/test_paths.h"
#include "vifi/util/npy.h"

namespace vifi {
namespace {

using namespace std::string_literals;

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

TEST(Npy, ReadsEveryFormatVersionNumpyWrites) {
  const auto v1 = util::load_npy(test::fixture("npy/v1_uint8.npy"));
  EXPECT_TRUE(torch::equal(v1, torch::arange(6, torch::kLong).reshape({2, 3})));
  const auto v2 = util::load_npy(test::fixture("npy/v2_int32.npy"));
  EXPECT_TRUE(torch::equal(v2, torch::arange(-3, 9, torch::kLong).reshape({3, 2, 2})));
  const auto v3 = util::load_npy(test::fixture("npy/v3_float16.npy"));
  EXPECT_TRUE(torch::equal(v3, torch::tensor({-1.f, -0.5f, 0.f, 0.5f, 1.f})));
  const auto empty = util::load_npy(test::fixture("npy/v1_empty.npy"));
  EXPECT_EQ(empty.sizes(), (std::vector<int64_t>{0, 4}));
  const auto scalar = util::load_npy(test::fixture("npy/v1_scalar.npy"));
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<float>(), -2.5f);
}

// A version 1.0 file with `header` (padded as NumPy pads it) and `data` after it.
std::string npy_bytes(const std::string& header, const std::string& data, char major = 1) {
  std::string h = header;
  const size_t preamble = major == 1 ? 10 : 12;
  h += std::string((64 - (preamble + h.size() + 1) % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY"s + major + '\0';
  const auto n = static_cast<uint32_t>(h.size());
  out.append(reinterpret_cast<const char*>(&n), major == 1 ? 2 : 4);
  return out + h + data;
}

std::string error_reading(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  const auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  try {
    util::load_npy(path);
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;  // every error starts with the file
    return what.substr(path.size() + 2);
  }
  return "(read)";
}

TEST(Npy, DamagedFilesAreRefusedNamingTheFileBeforeAllocating) {
  const auto dir = test::scratch_dir();
  const std::string floats(24, '\0');
  const auto header = [](const std::string& shape, const std::string& descr = "'<f4'") {
    return "{'descr': " + descr + ", 'fortran_order': False, 'shape': " + shape + ", }";
  };
  EXPECT_EQ(error_reading(dir, "sound.npy", npy_bytes(header("(2, 3)"), floats)), "(read)");
  // Bytes after the data are ignored, as np.load ignores them.
  EXPECT_EQ(error_reading(dir, "trailing.npy", npy_bytes(header("(2, 3)"), floats + "xyz")), "(read)");
  EXPECT_EQ(error_reading(dir, "v4.npy", npy_bytes(header("(2, 3)"), floats, 4)),
            "unsupported .npy format version 4.0 (expected 1.0, 2.0 or 3.0)");
  EXPECT_EQ(error_reading(dir, "v0.npy", npy_bytes(header("(2, 3)"), floats, 0)),
            "unsupported .npy format version 0.0 (expected 1.0, 2.0 or 3.0)");
  // A header length past the end of the file: nothing of that length is allocated.
  auto long_header = npy_bytes(header("(2, 3)"), floats, 2);
  long_header[8] = long_header[9] = long_header[10] = long_header[11] = '\xff';
  EXPECT_EQ(error_reading(dir, "long_header.npy", long_header),
            "truncated .npy header (it declares 4294967295 bytes; the file has " + std::to_string(long_header.size()) +
                " in all)");
  // A shape claiming far more than the file holds, or more than 64 bits can count.
  EXPECT_EQ(error_reading(dir, "huge.npy", npy_bytes(header("(1000000000000, 1000000)"), floats)),
            "truncated .npy data: shape (1000000000000, 1000000) of <f4 needs 4000000000000000000 bytes, the file has 24 "
            "after its header");
  EXPECT_EQ(error_reading(dir, "overflow.npy", npy_bytes(header("(100000000000, 100000000000, 0)"), "")),
            "a .npy shape (100000000000, 100000000000, 0) whose size overflows 64 bits");
  EXPECT_EQ(error_reading(dir, "short.npy", npy_bytes(header("(2, 3)"), floats.substr(1))),
            "truncated .npy data: shape (2, 3) of <f4 needs 24 bytes, the file has 23 after its header");
  // Headers that are not NumPy's dict.
  const auto damaged = [&](const std::string& name, const std::string& h) {
    return error_reading(dir, name, npy_bytes(h, floats));
  };
  // The message quotes the header and points at the character: here the '-' of (-2, 3).
  EXPECT_EQ(damaged("negative.npy", header("(-2, 3)")).rfind("a damaged .npy header: expected a dimension (a non-negative "
                                                              "integer) at character 51 of '" + header("(-2, 3)"), 0), 0u);
  EXPECT_NE(damaged("letters.npy", header("(a,)")).find("expected a dimension"), std::string::npos);
  EXPECT_NE(damaged("unclosed.npy", header("(2, 3")).find("expected a dimension (a non-negative integer) at character 57"), std::string::npos);
  // A dimension past int64 is not a dimension; one within it is checked against the file's size.
  EXPECT_NE(damaged("digits.npy", header("(12345678901234567890,)")).find("expected a dimension"), std::string::npos);
  EXPECT_NE(damaged("huge.npy", header("(1234567890123456789,)")).find("shape (1234567890123456789,) of <f4 needs"), std::string::npos);
  EXPECT_NE(damaged("product.npy", header("(1234567890123456789, 8)")).find("whose size overflows 64 bits"), std::string::npos);
  EXPECT_NE(damaged("boolean.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (6,), }").find("expected True or False"),
            std::string::npos);
  EXPECT_EQ(damaged("missing.npy", "{'descr': '<f4', 'shape': (6,), }"), "the .npy header has no 'fortran_order' key");
  EXPECT_NE(damaged("twice.npy", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,), }")
                .find("the key 'descr' a second time"),
            std::string::npos);
  EXPECT_NE(damaged("unknown.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}")
                .find("an unexpected key 'x' (NumPy writes descr, fortran_order and shape)"),
            std::string::npos);
  EXPECT_NE(damaged("after.npy", header("(6,)") + " }").find("a damaged .npy header: text after the closing '}'"), std::string::npos);
  EXPECT_NE(damaged("not_a_dict.npy", "[1, 2]").find("expected '{' at character 0"), std::string::npos);
  EXPECT_EQ(damaged("big_endian.npy", header("(6,)", "'>f4'")),
            "unsupported .npy dtype '>f4' (expected <f2, <f4, <f8, <i4, <i8 or |u1)");
  EXPECT_EQ(damaged("fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"),
            "Fortran-ordered .npy arrays are not supported (save with np.ascontiguousarray)");
  EXPECT_EQ(error_reading(dir, "cut.npy", "\x93NUMPY\x01"s), "not a .npy file (bad magic)");
}

TEST(Npy, CorruptedCopiesReadOrFailWithAnErrorNamingTheFile) {
  const auto dir = test::scratch_dir();
  util::save_npy((dir / "sound.npy").string(), torch::arange(12, torch::kFloat32).reshape({3, 4}));
  std::ifstream in(dir / "sound.npy", std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), {});
  std::mt19937 rng(5);
  int read = 0, refused = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    auto bytes = original;
    if (trial % 5 == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      // Flips anywhere: in the header (128 of the 176 bytes, padding included) they are refused,
      // as NumPy's literal_eval of the header refuses them; in the data they read.
      for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k)
        bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    }
    const auto what = error_reading(dir, "mutant.npy", bytes);
    (what == "(read)" ? read : refused)++;
  }
  std::cout << read << " corrupted copies read, " << refused << " refused with an error\n";
  EXPECT_GT(refused, 1000);
  EXPECT_GT(read, 100);  // flips inside the data still read
}

}  // namespace
}  // namespace vifi

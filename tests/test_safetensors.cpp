// util/safetensors against the format's own example (the bytes of the reference
// implementation's documentation, huggingface/safetensors safetensors/src/tensor.rs), round
// trips of every dtype bit for bit, and malformed files refused by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>

#include "support/expect_error.h"
#include "vifi/util/safetensors.h"

namespace vifi {
namespace {

std::string le64(uint64_t n) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out;
}

std::string file_bytes(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

const std::string kExampleHeader = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})";

TEST(SafeTensors, ReadsTheReferenceExample) {
  // b"<\x00\x00\x00\x00\x00\x00\x00{\"test\":...}" + 16 zero bytes: 0x3c = 60 = the header's length.
  const auto bytes = std::string("<\0\0\0\0\0\0\0", 8) + kExampleHeader + std::string(16, '\0');
  ASSERT_EQ(kExampleHeader.size(), 0x3cu);
  const auto file = util::parse_safetensors(bytes, "example");
  ASSERT_EQ(file.tensors.size(), 1u);
  const auto& t = file.tensors.at("test");
  EXPECT_EQ(t.scalar_type(), torch::kInt32);
  EXPECT_EQ(t.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_TRUE(torch::equal(t, torch::zeros({2, 2}, torch::kInt32)));
  EXPECT_TRUE(file.metadata.empty());
}

TEST(SafeTensors, WritesTheReferenceLayout) {
  util::SafeTensors file;
  file.tensors["test"] = torch::tensor({1, 2, 3, -4}, torch::kInt32).view({2, 2});
  const auto bytes = util::serialize_safetensors(file);
  // The example's JSON, padded with spaces to 8-byte alignment as the reference writer does.
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.substr(8, kExampleHeader.size()), kExampleHeader);
  EXPECT_EQ(bytes.substr(8 + kExampleHeader.size(), n - kExampleHeader.size()), std::string(n - kExampleHeader.size(), ' '));
  // Little-endian int32 rows, right after the header.
  const std::string data = bytes.substr(8 + n);
  ASSERT_EQ(data.size(), 16u);
  int32_t values[4];
  std::memcpy(values, data.data(), 16);
  EXPECT_EQ(values[0], 1);
  EXPECT_EQ(values[3], -4);
  EXPECT_EQ(static_cast<unsigned char>(data[12]), 0xfc);  // -4 = fc ff ff ff
}

TEST(SafeTensors, RoundTripsEveryDtypeBitForBit) {
  torch::manual_seed(3);
  util::SafeTensors file;
  file.tensors["f32"] = torch::randn({3, 5});
  file.tensors["f32.strided"] = torch::randn({4, 6}).t();  // not contiguous: written row-major
  file.tensors["f64"] = torch::randn({2}, torch::kFloat64);
  file.tensors["f16"] = torch::randn({7}).to(torch::kHalf);
  file.tensors["bf16"] = torch::randn({2, 2}).to(torch::kBFloat16);
  file.tensors["i64"] = torch::tensor({int64_t{1} << 40, int64_t{-3}});
  file.tensors["i16"] = torch::tensor({-7, 300}, torch::kInt16);
  file.tensors["i8"] = torch::tensor({-7, 100}, torch::kInt8);
  file.tensors["u8"] = torch::tensor({0, 255}, torch::kUInt8);
  file.tensors["bool"] = torch::tensor({true, false, true});
  file.tensors["scalar"] = torch::tensor(2.5);
  file.tensors["empty"] = torch::zeros({0, 3});
  file.metadata = {{"format", "pt"}, {"note", "ünïcode"}};
  const auto back = util::parse_safetensors(util::serialize_safetensors(file), "round trip");
  ASSERT_EQ(back.tensors.size(), file.tensors.size());
  for (const auto& [key, t] : file.tensors) {
    const auto& u = back.tensors.at(key);
    EXPECT_EQ(u.scalar_type(), t.scalar_type()) << key;
    EXPECT_EQ(u.sizes(), t.sizes()) << key;
    EXPECT_TRUE(torch::equal(u, t)) << key;
  }
  EXPECT_EQ(back.metadata, file.metadata);
}

TEST(SafeTensors, RefusesMalformedFilesByName) {
  const auto header = [](const std::string& shape, const std::string& offsets, const std::string& dtype = "F32") {
    return R"({"w":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
  };
  using test::expect_error;
  const auto parse = [](const std::string& bytes) { return [bytes] { util::parse_safetensors(bytes, "bad.safetensors"); }; };
  expect_error<std::runtime_error>(parse("abc"), {"bad.safetensors", "shorter than its 8-byte header length"});
  expect_error<std::runtime_error>(parse(le64(1000) + "{}"), {"bad.safetensors", "header length 1000 passes the end"});
  expect_error<std::runtime_error>(parse(le64(uint64_t{1} << 62) + "{}"), {"exceeds 100 MB"});
  expect_error<std::runtime_error>(parse(file_bytes("[1,2]", "")), {"not a JSON object"});
  expect_error<std::runtime_error>(parse(file_bytes("{\"w\":", "")), {"header is not JSON"});
  // Data cut short: the offsets pass the end.
  expect_error<std::runtime_error>(parse(file_bytes(header("[2,2]", "[0,16]"), std::string(8, '\0'))),
                                   {"tensor 'w'", "lie outside the 8 data bytes"});
  // Size and offsets disagree.
  expect_error<std::runtime_error>(parse(file_bytes(header("[2,2]", "[0,12]"), std::string(12, '\0'))),
                                   {"tensor 'w'", "needs 16 bytes, data_offsets give 12"});
  expect_error<std::runtime_error>(parse(file_bytes(header("[2]", "[0,8]", "F8_E4M3X"), std::string(8, '\0'))),
                                   {"tensor 'w'", "dtype \"F8_E4M3X\""});
  expect_error<std::runtime_error>(parse(file_bytes(header("[-2]", "[0,8]"), std::string(8, '\0'))), {"tensor 'w'", "not a size"});
  expect_error<std::runtime_error>(
      parse(file_bytes(header("[4611686018427387904,4]", "[0,8]"), std::string(8, '\0'))), {"tensor 'w'", "larger than the file"});
  // A hole, an overlap, trailing bytes.
  expect_error<std::runtime_error>(parse(file_bytes(header("[1]", "[4,8]"), std::string(8, '\0'))), {"starts at byte 4", "hole"});
  expect_error<std::runtime_error>(
      parse(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                       std::string(8, '\0'))),
      {"tensor 'b'", "overlap"});
  expect_error<std::runtime_error>(parse(file_bytes(header("[1]", "[0,4]"), std::string(8, '\0'))), {"4 data bytes after the last tensor"});
  expect_error<std::runtime_error>(parse(file_bytes(R"({"__metadata__":{"a":1}})", "")), {"__metadata__.a is not a string"});
  // Writing: a dtype the format lacks, a reserved name.
  util::SafeTensors complex;
  complex.tensors["c"] = torch::zeros({2}, torch::kComplexFloat);
  expect_error<std::invalid_argument>([&] { util::serialize_safetensors(complex); }, {"'c'", "cannot store"});
  util::SafeTensors reserved;
  reserved.tensors["__metadata__"] = torch::zeros({1});
  expect_error<std::invalid_argument>([&] { util::serialize_safetensors(reserved); }, {"reserved"});
}

// Only "__metadata__" is the format's own key: another name starting with "__" is a tensor when
// read, so it is written back as one (the fuzzer found a file that parsed but did not write).
TEST(SafeTensors, NamesStartingWithUnderscoresOtherThanMetadataRoundTrip) {
  const auto read = util::parse_safetensors(
      file_bytes(R"({"__met":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')), "under.safetensors");
  ASSERT_EQ(read.tensors.count("__met"), 1u);
  const auto back = util::parse_safetensors(util::serialize_safetensors(read), "round trip");
  ASSERT_EQ(back.tensors.count("__met"), 1u);
  EXPECT_TRUE(torch::equal(back.tensors.at("__met"), torch::zeros({2})));
}

}  // namespace
}  // namespace vifi

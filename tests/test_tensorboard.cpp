// util/crc32c and util/tensorboard: the CRC matches the published test vector, and an event file
// written by TensorBoardWriter decodes back (framing, both masked CRCs, the Event protobuf
// fields) with the values written, by a reader written independently here.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/test_paths.h"
#include "vifi/util/crc32c.h"
#include "vifi/util/tensorboard.h"

namespace vifi {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValue) {
  EXPECT_EQ(util::crc32c("123456789"), 0xE3069283U);
  EXPECT_EQ(util::crc32c(""), 0U);
  // TFRecord's mask: rotate right by 15, add 0xa282ead8.
  EXPECT_EQ(util::mask_crc32c(0xE3069283U), ((0xE3069283U >> 15) | (0xE3069283U << 17)) + 0xa282ead8U);
}

template <typename T>
T read_le(const std::string& s, size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof(T));
  return v;
}

// The records of a TFRecord file, each CRC checked.
std::vector<std::string> read_records(const std::string& bytes) {
  std::vector<std::string> records;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size());
    const auto length = read_le<uint64_t>(bytes, at);
    EXPECT_EQ(read_le<uint32_t>(bytes, at + 8), util::mask_crc32c(util::crc32c(bytes.substr(at, 8))));
    const auto data = bytes.substr(at + 12, length);
    EXPECT_EQ(read_le<uint32_t>(bytes, at + 12 + length), util::mask_crc32c(util::crc32c(data)));
    records.push_back(data);
    at += 12 + length + 4;
  }
  return records;
}

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;
  std::string bytes;  // fixed32/64 and length-delimited payloads
};

uint64_t varint(const std::string& s, size_t& at) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<uint8_t>(s[at++]);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
}

std::vector<Field> fields(const std::string& message) {
  std::vector<Field> out;
  size_t at = 0;
  while (at < message.size()) {
    const auto key = varint(message, at);
    Field f{static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7), 0, {}};
    if (f.wire == 0) f.varint = varint(message, at);
    const size_t size = f.wire == 1 ? 8 : f.wire == 5 ? 4 : f.wire == 2 ? varint(message, at) : 0;
    f.bytes = message.substr(at, size);
    at += size;
    out.push_back(f);
  }
  return out;
}

TEST(TensorBoardWriter, EventFileDecodesBackToTheScalarsWritten) {
  const auto dir = test::scratch_dir();
  std::string path;
  {
    util::TensorBoardWriter writer(dir.string());
    writer.add_scalar("train/loss", 1.5, 3);
    writer.add_scalar("val/acc1", 77.5, 300);
    path = writer.path();
  }
  EXPECT_EQ(std::filesystem::path(path).filename().string().rfind("events.out.tfevents.", 0), 0U);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto records = read_records(bytes);
  ASSERT_EQ(records.size(), 3U);

  const auto header = fields(records[0]);  // wall_time, step, file_version
  ASSERT_EQ(header.size(), 3U);
  EXPECT_EQ(header[0].number, 1U);
  EXPECT_GT(read_le<double>(header[0].bytes, 0), 1.6e9);
  EXPECT_EQ(header[2].number, 3U);
  EXPECT_EQ(header[2].bytes, "brain.Event:2");

  const std::vector<std::tuple<std::string, float, uint64_t>> want{{"train/loss", 1.5F, 3}, {"val/acc1", 77.5F, 300}};
  for (size_t r = 0; r < want.size(); ++r) {
    const auto event = fields(records[r + 1]);
    ASSERT_EQ(event.size(), 3U);
    EXPECT_EQ(event[1].number, 2U);
    EXPECT_EQ(event[1].varint, std::get<2>(want[r]));
    ASSERT_EQ(event[2].number, 5U);  // summary
    const auto summary = fields(event[2].bytes);
    ASSERT_EQ(summary.size(), 1U);
    const auto value = fields(summary[0].bytes);
    ASSERT_EQ(value.size(), 2U);
    EXPECT_EQ(value[0].bytes, std::get<0>(want[r]));
    EXPECT_EQ(value[1].number, 2U);
    EXPECT_EQ(value[1].wire, 5U);
    EXPECT_EQ(read_le<float>(value[1].bytes, 0), std::get<1>(want[r]));
  }
}

}  // namespace
}  // namespace vifi

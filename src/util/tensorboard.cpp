// Event file writing: hand-encoded protobuf inside TFRecord frames (see header).
#include "vifi/util/tensorboard.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "vifi/util/crc32c.h"

namespace vifi::util {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, uint32_t field, uint32_t wire_type) { put_varint(out, field << 3 | wire_type); }

// Fixed-width little-endian bytes of a trivially copyable value (x86 and ARM are little-endian).
template <typename T>
void put_fixed(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_tag(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

std::string event_header(double wall_time, int64_t step) {
  std::string e;
  put_tag(e, 1, kFixed64);
  put_fixed(e, wall_time);
  put_tag(e, 2, kVarint);
  put_varint(e, static_cast<uint64_t>(step));
  return e;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

std::string scalar_event_bytes(const std::string& tag, float value, int64_t step, double wall_time) {
  std::string summary_value;
  put_bytes(summary_value, 1, tag);
  put_tag(summary_value, 2, kFixed32);
  put_fixed(summary_value, value);
  std::string summary;
  put_bytes(summary, 1, summary_value);
  auto event = event_header(wall_time, step);
  put_bytes(event, 5, summary);
  return event;
}

std::string tfrecord_frame(const std::string& data) {
  std::string length;
  put_fixed(length, static_cast<uint64_t>(data.size()));
  std::string frame = length;
  put_fixed(frame, mask_crc32c(crc32c(length)));
  frame += data;
  put_fixed(frame, mask_crc32c(crc32c(data)));
  return frame;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const auto wall = now_seconds();
  path_ = (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(wall)) + "." +
                                         host_name()))
              .string();
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw std::runtime_error(path_ + ": cannot create the TensorBoard event file");
  auto first = event_header(wall, 0);
  put_bytes(first, 3, "brain.Event:2");
  write_record(first);
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  write_record(scalar_event_bytes(tag, static_cast<float>(value), step, now_seconds()));
}

void TensorBoardWriter::write_record(const std::string& event_bytes) {
  out_ << tfrecord_frame(event_bytes);
  out_.flush();
  if (!out_) throw std::runtime_error(path_ + ": cannot write the TensorBoard event file (" + std::strerror(errno) + ")");
}

}  // namespace vifi::util

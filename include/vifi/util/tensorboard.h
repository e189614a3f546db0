// TensorBoard scalar logging without TensorFlow: writes an event file that `tensorboard --logdir
// DIR` reads. Owns the TFRecord framing and the few protobuf fields of tensorflow.Event it needs.
//
// File: DIR/events.out.tfevents.<unix seconds>.<host>, a sequence of records
//   [uint64 length][uint32 masked crc32c(length bytes)][data][uint32 masked crc32c(data)]
// (little-endian). data is a serialized tensorflow.Event: wall_time (double, field 1), step
// (int64, field 2), and either file_version "brain.Event:2" (string, field 3; the first record)
// or summary (field 5) = Summary{ value (field 1) = Value{ tag (field 1), simple_value (float,
// field 2) } }. The protobuf bytes are written by hand (tag = field << 3 | wire type).
#pragma once
#include <cstdint>
#include <fstream>
#include <string>

namespace vifi::util {

class TensorBoardWriter {
 public:
  // Creates `dir` if needed and starts a new event file there. Throws std::runtime_error naming
  // the file if it cannot be created.
  explicit TensorBoardWriter(const std::string& dir);

  // One scalar point on the curve `tag` (e.g. "train/loss"); flushed at once so a live
  // TensorBoard (or a crash) sees every point written so far.
  void add_scalar(const std::string& tag, double value, int64_t step);

  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event_bytes);
  std::string path_;
  std::ofstream out_;
};

// The serialized tensorflow.Event of one scalar (exposed for tests).
std::string scalar_event_bytes(const std::string& tag, float value, int64_t step, double wall_time);

// One TFRecord: length, masked CRC of the length, data, masked CRC of the data.
std::string tfrecord_frame(const std::string& data);

}  // namespace vifi::util

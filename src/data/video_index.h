// Private to src/data: the frame index a VideoReader builds by demuxing packets (no decoding).
// Owns the mapping between the orders a video has: decode order (packets as stored), and
// presentation order, where frame i is the packet with the i-th smallest timestamp, which is
// how a full decode numbers its output even with B-frames (reordered) and variable frame rate
// (irregular gaps). Also owns the choice of keyframe to start decoding from for any frame, and
// presentation times for containers that store none for reordered frames (AVI: MPEG-4 with
// B-frames has a dts on every packet but a pts only on B-frames).
// Pure data, no FFmpeg types, so it is cheap to build and to reason about.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace vifi::data {

// Same value as FFmpeg's AV_NOPTS_VALUE (checked where both are visible).
inline constexpr int64_t kNoTime = INT64_MIN;

struct PacketEntry {
  int64_t pts = kNoTime;   // as the demuxer gave it (stream time base)
  int64_t dts = kNoTime;   // what demuxers' seek indexes are keyed on
  bool keyframe = false;
  bool discarded = false;  // AV_PKT_FLAG_DISCARD (edit lists): decoded as a reference, never output
  int64_t time = kNoTime;  // presentation time: pts, or reconstructed when missing (FrameIndex)
};

class FrameIndex {
 public:
  FrameIndex() = default;
  explicit FrameIndex(std::vector<PacketEntry> packets);  // in decode order

  int64_t num_frames() const { return static_cast<int64_t>(frame_packet_.size()); }
  int64_t num_packets() const { return static_cast<int64_t>(packets_.size()); }
  const PacketEntry& packet(int64_t pos) const { return packets_[static_cast<size_t>(pos)]; }

  // False when some frame has no timestamp or two frames share one: then frames can only be
  // numbered by counting a decoder's output from the start of the file.
  bool has_timestamps() const { return has_timestamps_; }

  int64_t frame_at_time(int64_t time) const;           // -1 when no frame has this time
  int64_t first_frame_at_or_after(int64_t time) const;  // num_frames() when none
  // Decode position of a packet met while decoding, found by its pts, else its dts; -1 if none.
  int64_t packet_position(int64_t pts, int64_t dts) const;
  int64_t frame_time(int64_t frame) const { return packet(frame_packet_[static_cast<size_t>(frame)]).time; }
  int64_t frame_packet(int64_t frame) const { return frame_packet_[static_cast<size_t>(frame)]; }

  // Decode position of the keyframe to start from so that `frame` comes out of the decoder:
  // the last keyframe before it in decode order that is not presented after it (an open-GOP
  // frame presented before its keyframe needs the previous one). 0 without timestamps.
  int64_t start_packet(int64_t frame) const { return start_packet_[static_cast<size_t>(frame)]; }

 private:
  void assign_times();
  void number_frames();
  void choose_start_packets();

  std::vector<PacketEntry> packets_;
  std::vector<int64_t> frame_packet_;   // presentation index -> decode position
  std::vector<int64_t> frame_times_;    // presentation index -> time (sorted)
  std::vector<int64_t> start_packet_;   // presentation index -> decode position of a keyframe
  std::vector<std::pair<int64_t, int64_t>> by_pts_;  // (pts, decode position), sorted
  std::vector<std::pair<int64_t, int64_t>> by_dts_;  // (dts, decode position), sorted
  bool has_timestamps_ = false;
};

}  // namespace vifi::data

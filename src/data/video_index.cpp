// Frame numbering and keyframe choice from a demuxed packet list (see video_index.h).
#include "video_index.h"

#include <algorithm>

namespace vifi::data {

namespace {

using Lookup = std::vector<std::pair<int64_t, int64_t>>;

int64_t find(const Lookup& table, int64_t key) {
  auto it = std::lower_bound(table.begin(), table.end(), std::make_pair(key, int64_t{-1}));
  return it != table.end() && it->first == key ? it->second : -1;
}

}  // namespace

FrameIndex::FrameIndex(std::vector<PacketEntry> packets) : packets_(std::move(packets)) {
  assign_times();
  number_frames();
  choose_start_packets();
}

// A pts where the container has one. When some are missing but every packet has a dts, the
// stream reorders like MPEG with one frame of delay (AVI gives B-frames pts = dts and leaves
// I/P frames without): a reference frame is shown when the next reference frame arrives, so its
// time is that frame's dts; the last one is shown last.
void FrameIndex::assign_times() {
  bool pts_missing = false, dts_complete = true;
  for (const PacketEntry& p : packets_) {
    pts_missing |= p.pts == kNoTime;
    dts_complete &= p.dts != kNoTime;
    if (p.pts != kNoTime) by_pts_.emplace_back(p.pts, &p - packets_.data());
    if (p.dts != kNoTime) by_dts_.emplace_back(p.dts, &p - packets_.data());
  }
  std::sort(by_pts_.begin(), by_pts_.end());
  std::sort(by_dts_.begin(), by_dts_.end());
  for (PacketEntry& p : packets_) p.time = p.pts;
  if (!pts_missing || !dts_complete) return;
  int64_t latest = kNoTime;
  PacketEntry* held_reference = nullptr;
  for (PacketEntry& p : packets_) {
    latest = std::max({latest, p.dts, p.pts});
    if (p.pts != kNoTime) continue;
    if (held_reference) held_reference->time = p.dts;
    held_reference = &p;
  }
  if (held_reference) held_reference->time = latest + 1;
}

// Presentation order = sorted timestamps of the packets a decoder outputs. Without usable
// timestamps the frames keep decode order, which only fixes their count, not their order.
void FrameIndex::number_frames() {
  has_timestamps_ = true;
  for (int64_t pos = 0; pos < num_packets(); ++pos) {
    const PacketEntry& p = packet(pos);
    if (p.discarded) continue;
    frame_packet_.push_back(pos);
    if (p.time == kNoTime) has_timestamps_ = false;
  }
  if (!has_timestamps_) return;
  std::sort(frame_packet_.begin(), frame_packet_.end(),
            [this](int64_t a, int64_t b) { return packet(a).time < packet(b).time; });
  for (int64_t pos : frame_packet_) frame_times_.push_back(packet(pos).time);
  if (std::adjacent_find(frame_times_.begin(), frame_times_.end()) != frame_times_.end()) {
    has_timestamps_ = false;  // duplicate times: a time no longer names one frame
    std::sort(frame_packet_.begin(), frame_packet_.end());
    frame_times_.clear();
  }
}

void FrameIndex::choose_start_packets() {
  start_packet_.assign(frame_packet_.size(), 0);
  if (!has_timestamps_) return;
  // previous_key[pos] = last keyframe at or before pos in decode order, -1 if none.
  std::vector<int64_t> previous_key(packets_.size(), -1);
  for (int64_t pos = 0; pos < num_packets(); ++pos) {
    int64_t before = pos > 0 ? previous_key[static_cast<size_t>(pos - 1)] : -1;
    previous_key[static_cast<size_t>(pos)] = packet(pos).keyframe ? pos : before;
  }
  for (int64_t f = 0; f < num_frames(); ++f) {
    int64_t key = previous_key[static_cast<size_t>(frame_packet(f))];
    while (key >= 0 && packet(key).time > frame_time(f)) {
      key = key > 0 ? previous_key[static_cast<size_t>(key - 1)] : -1;
    }
    start_packet_[static_cast<size_t>(f)] = std::max<int64_t>(key, 0);
  }
}

int64_t FrameIndex::frame_at_time(int64_t time) const {
  auto it = std::lower_bound(frame_times_.begin(), frame_times_.end(), time);
  if (it == frame_times_.end() || *it != time) return -1;
  return it - frame_times_.begin();
}

int64_t FrameIndex::first_frame_at_or_after(int64_t time) const {
  return std::lower_bound(frame_times_.begin(), frame_times_.end(), time) - frame_times_.begin();
}

int64_t FrameIndex::packet_position(int64_t pts, int64_t dts) const {
  if (pts != kNoTime) return find(by_pts_, pts);
  return dts != kNoTime ? find(by_dts_, dts) : -1;
}

}  // namespace vifi::data

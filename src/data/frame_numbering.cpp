// Learned frame numberings and their cache (see frame_numbering.h for why).
#include "frame_numbering.h"

#include <algorithm>
#include <filesystem>
#include <chrono>
#include <string_view>

namespace vifi::data {

int64_t LearnedNumbering::frame_from_packet(int64_t pos) const {
  if (pos < 0 || pos >= static_cast<int64_t>(frame_of_packet.size())) return -1;
  return frame_of_packet[static_cast<size_t>(pos)];
}

size_t LearnedNumbering::memory_bytes() const {
  return sizeof(*this) + source_packet.capacity() * sizeof(int64_t) + picture_types.capacity() +
         frame_of_packet.capacity() * sizeof(int64_t) + keyframes.capacity() * sizeof(int64_t);
}

bool LearnedNumbering::index_packets(int64_t num_packets, const std::vector<int64_t>& flagged_keyframes) {
  frame_of_packet.assign(static_cast<size_t>(std::max<int64_t>(num_packets, 0)), -1);
  for (int64_t k = 0; k < num_frames(); ++k) {
    const int64_t pos = source_packet[static_cast<size_t>(k)];
    if (pos < 0 || pos >= num_packets || frame_of_packet[static_cast<size_t>(pos)] >= 0) return false;
    frame_of_packet[static_cast<size_t>(pos)] = k;
  }
  keyframes.clear();
  for (int64_t pos : flagged_keyframes) {
    const int64_t k = frame_from_packet(pos);
    if (k >= 0 && picture_types[static_cast<size_t>(k)] == 'I') keyframes.push_back(pos);
  }
  return true;
}

int64_t LearnedNumbering::keyframe_at_or_before(int64_t pos) const {
  auto it = std::upper_bound(keyframes.begin(), keyframes.end(), pos);
  return it == keyframes.begin() ? 0 : *(it - 1);
}

int64_t LearnedNumbering::start_packet(int64_t frame) const {
  int64_t key = keyframe_at_or_before(source_packet[static_cast<size_t>(frame)]);
  while (key > 0 && frame < first_whole_frame(key)) key = keyframe_at_or_before(key - 1);
  return key;
}

int64_t LearnedNumbering::first_whole_frame(int64_t key) const {
  const int64_t k = frame_from_packet(key);
  return key == 0 || k < 0 ? 0 : k;
}

namespace {

// "DivX" digits ("Build" | "b") digits "p", as FFmpeg's sscanf patterns read it.
bool packed_mark(std::string_view text) {
  auto digits = [&](size_t& k) {
    const size_t start = k;
    while (k < text.size() && text[k] >= '0' && text[k] <= '9') ++k;
    return k > start;
  };
  if (text.substr(0, 4) != "DivX") return false;
  size_t k = 4;
  if (!digits(k)) return false;
  if (text.substr(k, 5) == "Build") {
    k += 5;
  } else if (k < text.size() && text[k] == 'b') {
    k += 1;
  } else {
    return false;
  }
  return digits(k) && k < text.size() && text[k] == 'p';
}

bool start_code_at(const uint8_t* data, size_t size, size_t i) {
  return i + 3 < size && data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1;
}

}  // namespace

bool declares_packed_b_frames(const uint8_t* data, size_t size) {
  if (!data) return false;
  constexpr uint8_t kUserData = 0xB2, kPicture = 0xB6;
  for (size_t i = 0; i + 3 < size; ++i) {
    if (!start_code_at(data, size, i)) continue;
    if (data[i + 3] == kPicture) return false;  // the headers end at the first picture
    if (data[i + 3] != kUserData) continue;
    size_t end = i + 4;
    while (end < size && !start_code_at(data, size, end)) ++end;
    if (packed_mark(std::string_view(reinterpret_cast<const char*>(data + i + 4), end - (i + 4)))) return true;
  }
  return false;
}

FileKey file_key(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  FileKey key;
  const auto size = fs::file_size(path, error);
  if (error) return key;
  const auto time = fs::last_write_time(path, error);
  if (error) return key;
  key.path = path;
  key.size = size;
  key.modified = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  return key;
}

FrameNumberingCache& FrameNumberingCache::process() {
  static FrameNumberingCache cache;
  return cache;
}

std::shared_ptr<const LearnedNumbering> FrameNumberingCache::find(const FileKey& key) const {
  if (key.path.empty()) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key.path);
  if (it == entries_.end() || !(it->second.key == key)) return nullptr;
  return it->second.numbering;
}

void FrameNumberingCache::store(const FileKey& key, std::shared_ptr<const LearnedNumbering> numbering) {
  if (key.path.empty() || !numbering) return;
  // The path is held three times: map key, entry and eviction order.
  const size_t bytes = numbering->memory_bytes() + 3 * key.path.size() + sizeof(Entry);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key.path);
  if (it != entries_.end()) {
    bytes_ -= it->second.bytes;
    it->second = Entry{key, std::move(numbering), bytes};
  } else {
    entries_.emplace(key.path, Entry{key, std::move(numbering), bytes});
    order_.push_back(key.path);
  }
  bytes_ += bytes;
  while (bytes_ > budget_bytes_ && order_.size() > 1) evict_oldest();
}

void FrameNumberingCache::evict_oldest() {
  auto it = entries_.find(order_.front());
  if (it != entries_.end()) {
    bytes_ -= it->second.bytes;
    entries_.erase(it);
  }
  order_.pop_front();
}

void FrameNumberingCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
  order_.clear();
  bytes_ = 0;
}

int64_t FrameNumberingCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(entries_.size());
}

size_t FrameNumberingCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

}  // namespace vifi::data

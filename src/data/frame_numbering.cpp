// Learned frame numberings and their cache (see frame_numbering.h for why).
#include "frame_numbering.h"

#include <algorithm>
#include <filesystem>
#include <chrono>

namespace vifi::data {

int64_t LearnedNumbering::frame_from_packet(int64_t pos) const {
  if (pos < 0 || pos >= static_cast<int64_t>(frame_of_packet.size())) return -1;
  return frame_of_packet[static_cast<size_t>(pos)];
}

bool LearnedNumbering::index_packets(int64_t num_packets) {
  frame_of_packet.assign(static_cast<size_t>(std::max<int64_t>(num_packets, 0)), -1);
  for (int64_t k = 0; k < num_frames(); ++k) {
    const int64_t pos = source_packet[static_cast<size_t>(k)];
    if (pos < 0 || pos >= num_packets || frame_of_packet[static_cast<size_t>(pos)] >= 0) return false;
    frame_of_packet[static_cast<size_t>(pos)] = k;
  }
  return true;
}

int64_t LearnedNumbering::start_packet(int64_t frame) const {
  const int64_t sent = key_sent[static_cast<size_t>(frame)];
  auto it = std::lower_bound(keyframes.begin(), keyframes.end(), sent);
  return it == keyframes.begin() ? sent : *(it - 1);
}

int64_t LearnedNumbering::first_whole_frame(int64_t key) const {
  for (int64_t k = 0; k < num_frames(); ++k) {
    if (key_sent[static_cast<size_t>(k)] > key) return k;
  }
  return num_frames();
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
  if (it == entries_.end() || !(it->second.first == key)) return nullptr;
  return it->second.second;
}

void FrameNumberingCache::store(const FileKey& key, std::shared_ptr<const LearnedNumbering> numbering) {
  if (key.path.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const bool is_new = entries_.find(key.path) == entries_.end();
  entries_[key.path] = std::make_pair(key, std::move(numbering));
  if (!is_new) return;
  order_.push_back(key.path);
  while (order_.size() > kCapacity) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

void FrameNumberingCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
  order_.clear();
}

int64_t FrameNumberingCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(entries_.size());
}

}  // namespace vifi::data

// Private to src/data: a file's frame numbering learned from one full decode, and the
// process-wide cache that keeps it for the file's later clips.
//
// Why: some real files decode frames whose timestamps contradict their packets (MPEG-4 Part 2
// AVIs with packed B-frames, as HMDB-51 and UCF-101 ship, known by declares_packed_b_frames;
// B-frames in AVI). Their frames can only be numbered by decoding from the start. Doing that once, with every packet tagged with
// its decode position (the decoder carries the tag to the frame it codes, through reordering),
// records which packet codes frame k. Later clips then seek like any other file, naming each
// decoded frame by its packet and checking its picture type against the full decode's.
// The loader opens a file anew for every clip, so the memory lives here, shared by its workers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vifi::data {

struct LearnedNumbering {
  // Per frame, in presentation (full-decode output) order.
  std::vector<int64_t> source_packet;  // decode position of the packet that coded frame k
  std::vector<char> picture_types;     // 'I', 'P', 'B', ... of frame k, to check a seek landed right
  std::vector<int64_t> frame_of_packet;  // inverse of source_packet; -1 for a packet coding no frame
  // Decode positions of the packets flagged as keyframes that code an intra picture, in order
  // (an AVI index also flags the empty placeholder after a packed I-frame). Set by index_packets.
  std::vector<int64_t> keyframes;

  int64_t num_frames() const { return static_cast<int64_t>(source_packet.size()); }
  size_t memory_bytes() const;
  // -1 when no frame comes from packet `pos`.
  int64_t frame_from_packet(int64_t pos) const;
  // Fills frame_of_packet, and keyframes from `flagged_keyframes` (the container's keyframe
  // packets, in decode order); false (not usable) when a packet codes two frames or a frame none.
  bool index_packets(int64_t num_packets, const std::vector<int64_t>& flagged_keyframes);
  // Where to start decoding for frame k: the last keyframe at or before the packet that codes
  // it, or the one before that when k is shown before that keyframe's own picture (an open-GOP
  // leading frame, which leans on the GOP before); the first packet when there is none.
  int64_t start_packet(int64_t frame) const;
  // The first frame that decodes whole when decoding starts at `key` (start_packet's result):
  // the keyframe's own picture; frames shown before it are leading frames of another GOP.
  int64_t first_whole_frame(int64_t key) const;

 private:
  int64_t keyframe_at_or_before(int64_t pos) const;
};

// Whether MPEG-4 Part 2 data (a keyframe packet, or the stream's extradata) carries DivX 5's
// mark of a packed bitstream, the user data "DivX<version>b<build>p" (or "...Build...p") that
// DivX 5 and XviD write before the first picture. FFmpeg's decoder switches its packed-frame
// handling on by the same mark (mpeg4videodec.c, decode_user_data, FFmpeg 5.1). The index's
// times are wrong for such files in a way its checks can miss (a frame off by one), so their
// frames are numbered by a full decode from the first clip on. Reads `size` bytes at most.
bool declares_packed_b_frames(const uint8_t* data, size_t size);

// Identifies one version of a file: a rewritten file is learned again.
struct FileKey {
  std::string path;
  uintmax_t size = 0;
  int64_t modified = 0;  // mtime, nanoseconds
  bool operator==(const FileKey& o) const { return path == o.path && size == o.size && modified == o.modified; }
};

// The key of `path` now; an empty path when the file cannot be stat'ed (then nothing is cached).
FileKey file_key(const std::string& path);

// Thread-safe; bounded by memory, oldest entries first. A file takes about 17 bytes a frame:
// UCF-101's 13,320 videos (7 s at 25 fps) about 45 MB, HMDB-51's 6,766 under 15 MB, so a
// process keeps every numbering of either across epochs (a count of 8,192 files did not).
class FrameNumberingCache {
 public:
  static constexpr size_t kDefaultBudgetBytes = size_t{256} << 20;
  explicit FrameNumberingCache(size_t budget_bytes = kDefaultBudgetBytes) : budget_bytes_(budget_bytes) {}
  static FrameNumberingCache& process();
  std::shared_ptr<const LearnedNumbering> find(const FileKey& key) const;
  // Keeps the newest entry even when it alone exceeds the budget.
  void store(const FileKey& key, std::shared_ptr<const LearnedNumbering> numbering);
  void clear();
  int64_t size() const;
  size_t bytes() const;

 private:
  struct Entry {
    FileKey key;
    std::shared_ptr<const LearnedNumbering> numbering;
    size_t bytes = 0;
  };
  void evict_oldest();
  const size_t budget_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // insertion order, for eviction
  size_t bytes_ = 0;
};

}  // namespace vifi::data

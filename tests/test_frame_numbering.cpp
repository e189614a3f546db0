// data/frame_numbering on hand-made inputs: where a learned read starts, DivX 5's packed mark,
// and the cache's memory bound. The files that need all this are tested end to end, against a
// full decode and the FFmpeg CLI, in test_messy_videos.cpp.
#include "../src/data/frame_numbering.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace vifi::data {
namespace {

// An open GOP in packed form, in decode order (packet: picture, frame shown):
//   0: I f0 | 1: P f3 | 2: B f1 | 3: B f2 | 4: I f6 | 5: B f4 | 6: B f5 | 7: P f9 | 8: B f7 | 9: B f8
// f4 and f5 are leading frames (coded after the I-frame f6, shown before it, leaning on f3).
// The container flags packets 0, 4 and 6 as keyframes: 6 is the placeholder-like B an AVI index
// flags after a packed I-frame.
LearnedNumbering open_gop() {
  LearnedNumbering n;
  n.source_packet = {0, 2, 3, 1, 5, 6, 4, 8, 9, 7};
  n.picture_types = {'I', 'B', 'B', 'P', 'B', 'B', 'I', 'B', 'B', 'P'};
  EXPECT_TRUE(n.index_packets(10, {0, 4, 6}));
  return n;
}

TEST(FrameNumbering, KeepsOnlyKeyframesThatCodeAnIntraPicture) {
  const LearnedNumbering n = open_gop();
  EXPECT_EQ(n.keyframes, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(n.frame_from_packet(4), 6);
  EXPECT_EQ(n.frame_from_packet(10), -1);
}

TEST(FrameNumbering, StartsAtTheIntraKeyframeBeforeTheFramesPacket) {
  const LearnedNumbering n = open_gop();
  const std::vector<int64_t> expected = {0, 0, 0, 0, 0, 0, 4, 4, 4, 4};  // leading f4, f5: the GOP before
  for (int64_t f = 0; f < n.num_frames(); ++f) EXPECT_EQ(n.start_packet(f), expected[static_cast<size_t>(f)]) << "frame " << f;
  EXPECT_EQ(n.first_whole_frame(0), 0);
  EXPECT_EQ(n.first_whole_frame(4), 6);
}

TEST(FrameNumbering, RefusesAPacketCodingTwoFrames) {
  LearnedNumbering n;
  n.source_packet = {0, 1, 1};
  n.picture_types = {'I', 'P', 'P'};
  EXPECT_FALSE(n.index_packets(3, {0}));
}

// DivX 5's packed-bitstream mark in MPEG-4 user data, read as FFmpeg's decoder reads it.
TEST(FrameNumbering, PackedBitstreamMarkIsReadFromUserData) {
  auto declares = [](const std::string& bytes) {
    return declares_packed_b_frames(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  };
  const std::string user_data("\0\0\1\xB2", 4), vol("\0\0\1\x20\x08\xC8", 6), picture("\0\0\1\xB6\x10", 5);
  EXPECT_TRUE(declares(vol + user_data + "DivX501b481p" + picture));  // XviD's packed mode
  EXPECT_TRUE(declares(user_data + "DivX503Build1393p" + user_data + "XviD0050"));
  EXPECT_FALSE(declares(vol + user_data + "DivX503b1393" + picture));  // DivX 5, not packed
  EXPECT_FALSE(declares(vol + user_data + "XviD0050" + picture));
  EXPECT_FALSE(declares(picture + user_data + "DivX501b481p"));  // inside picture data
  EXPECT_FALSE(declares(user_data + "DivXb481p"));
  EXPECT_FALSE(declares(user_data + "DivX501b481"));  // cut short
  EXPECT_FALSE(declares(user_data + "DivX501"));
  EXPECT_FALSE(declares(std::string("\0\0\1", 3)));
  EXPECT_FALSE(declares_packed_b_frames(nullptr, 16));
}

// Bounded by memory: the oldest files go first, a file stored again replaces its entry.
TEST(FrameNumbering, CacheKeepsTheNewestWithinItsBudget) {
  auto numbering = [] {
    auto n = std::make_shared<LearnedNumbering>();
    n->source_packet.assign(1000, 0);
    n->picture_types.assign(1000, 'P');
    n->frame_of_packet.assign(1000, 0);
    return n;
  };
  const size_t one = numbering()->memory_bytes();
  FrameNumberingCache cache(3 * one + 3 * 1024);
  auto key = [](int i) { return FileKey{"/videos/" + std::to_string(i) + ".avi", 100, 1}; };
  for (int i = 0; i < 5; ++i) cache.store(key(i), numbering());
  EXPECT_EQ(cache.size(), 3);
  EXPECT_EQ(cache.find(key(0)), nullptr);
  EXPECT_EQ(cache.find(key(1)), nullptr);
  for (int i = 2; i < 5; ++i) EXPECT_NE(cache.find(key(i)), nullptr) << i;
  EXPECT_LE(cache.bytes(), 3 * one + 3 * 1024);
  const size_t before = cache.bytes();
  cache.store(key(4), numbering());
  EXPECT_EQ(cache.size(), 3);
  EXPECT_EQ(cache.bytes(), before);
  FileKey rewritten = key(3);
  rewritten.modified = 2;  // the file changed on disk: its old numbering no longer applies
  EXPECT_EQ(cache.find(rewritten), nullptr);
  FrameNumberingCache tiny(1);
  tiny.store(key(7), numbering());
  EXPECT_NE(tiny.find(key(7)), nullptr) << "the newest entry stays even alone over the budget";
}

}  // namespace
}  // namespace vifi::data

// data/frame_numbering and data/numbering_store on hand-made inputs: where a learned read
// starts, DivX 5's packed mark, the cache's memory bound, and the store's entries (every damaged
// or foreign entry refused). The files that need all this are tested end to end, against a full
// decode and the FFmpeg CLI, in test_messy_videos.cpp.
#include "../src/data/frame_numbering.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../src/data/numbering_store.h"
#include "support/test_paths.h"
#include "vifi/data/video_reader.h"
#include "vifi/util/crc32c.h"
#include "vifi/util/logging.h"

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

// ---- the store on disk ----------------------------------------------------------------------

EntryIdentity identity_of(const LearnedNumbering& n) {
  EntryIdentity id;
  id.key = FileKey{"/videos/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi", 123456, 1700000000123456789};
  id.version = DecoderVersion{(59u << 16) | (37u << 8) | 100u, (59u << 16) | (27u << 8) | 100u};
  id.num_frames = n.num_frames();
  id.num_packets = static_cast<int64_t>(n.frame_of_packet.size());
  return id;
}

EntryState decode(const std::string& bytes, const EntryIdentity& id, LearnedNumbering* out = nullptr) {
  LearnedNumbering n;
  std::string why;
  const EntryState state = decode_numbering(bytes, id, n, why);
  EXPECT_EQ(why.empty(), state == EntryState::usable) << "a refusal says why, and only a refusal: " << why;
  if (out) *out = n;
  return state;
}

// Collects the messages of one level logged while it lives.
struct Logged {
  std::vector<std::string> lines;
  explicit Logged(util::LogLevel wanted = util::LogLevel::warn) {
    util::set_log_sink([this, wanted](util::LogLevel level, const std::string& m) {
      if (level == wanted) lines.push_back(m);
    });
  }
  ~Logged() { util::set_log_sink(nullptr); }
};

TEST(NumberingStore, EntryGivesBackTheNumbering) {
  const LearnedNumbering n = open_gop();
  const EntryIdentity id = identity_of(n);
  LearnedNumbering back;
  ASSERT_EQ(decode(encode_numbering(id, n), id, &back), EntryState::usable);
  EXPECT_EQ(back.source_packet, n.source_packet);
  EXPECT_EQ(back.picture_types, n.picture_types);
  EXPECT_EQ(back.frame_of_packet, n.frame_of_packet);
  EXPECT_EQ(back.keyframes, (std::vector<int64_t>{0, 4}));
  for (int64_t f = 0; f < n.num_frames(); ++f) EXPECT_EQ(back.start_packet(f), n.start_packet(f)) << "frame " << f;
}

// Every cut, every extra byte and every single-byte change of an entry is refused as damaged,
// never used (the CRC, the length the counts need, the mark).
TEST(NumberingStore, EveryCutOrChangedByteIsRefused) {
  const LearnedNumbering n = open_gop();
  const EntryIdentity id = identity_of(n);
  const std::string entry = encode_numbering(id, n);
  for (size_t len = 0; len < entry.size(); ++len) {
    EXPECT_EQ(decode(entry.substr(0, len), id), EntryState::damaged) << "cut to " << len << " bytes";
  }
  EXPECT_EQ(decode(entry + '\0', id), EntryState::damaged);
  for (size_t i = 0; i < entry.size(); ++i) {
    for (unsigned flip : {0x01u, 0x80u, 0xFFu}) {
      std::string changed = entry;
      changed[i] = static_cast<char>(static_cast<unsigned char>(changed[i]) ^ flip);
      EXPECT_EQ(decode(changed, id), EntryState::damaged) << "byte " << i << " ^ " << flip;
    }
  }
}

// Sound entries whose values cannot be a numbering: refused although their checksum holds.
TEST(NumberingStore, EntriesThatCannotBeANumberingAreRefused) {
  const LearnedNumbering good = open_gop();
  const EntryIdentity id = identity_of(good);
  auto with = [&](auto change) {
    LearnedNumbering n = good;
    change(n);
    return decode(encode_numbering(id, n), id);
  };
  EXPECT_EQ(with([](LearnedNumbering& n) { n.picture_types[3] = 'Z'; }), EntryState::damaged);
  EXPECT_EQ(with([](LearnedNumbering& n) { n.source_packet[2] = n.source_packet[1]; }), EntryState::damaged);
  EXPECT_EQ(with([](LearnedNumbering& n) { n.source_packet[0] = 10; }), EntryState::damaged);  // past the packets
  EXPECT_EQ(with([](LearnedNumbering& n) { n.source_packet[0] = -1; }), EntryState::damaged);
  EXPECT_EQ(with([](LearnedNumbering& n) { n.keyframes = {4, 0}; }), EntryState::damaged);
  EXPECT_EQ(with([](LearnedNumbering& n) { n.keyframes = {0, 5}; }), EntryState::damaged);  // packet 5 codes a B-frame
  EXPECT_EQ(with([](LearnedNumbering& n) { n.keyframes = {0, 4, 12}; }), EntryState::damaged);
}

// Counts that would need more memory than the entry holds, or than the file's own index has, are
// refused before anything is allocated (the sanitizer tier runs this too: a huge allocation would
// be its finding).
TEST(NumberingStore, HugeCountsAreRefusedBeforeAllocating) {
  const LearnedNumbering n = open_gop();
  const EntryIdentity id = identity_of(n);
  const std::string entry = encode_numbering(id, n);
  const size_t frames_at = 8 + 4 * 4 + 8 * 2, packets_at = frames_at + 8, keyframes_at = packets_at + 8;
  for (size_t at : {frames_at, packets_at, keyframes_at}) {
    for (uint64_t value : {uint64_t{1} << 40, ~uint64_t{0}, uint64_t{1} << 62}) {
      std::string changed = entry.substr(0, entry.size() - 4);
      for (int b = 0; b < 8; ++b) changed[at + static_cast<size_t>(b)] = static_cast<char>((value >> (8 * b)) & 0xFF);
      const uint32_t crc = util::crc32c(changed);
      for (int b = 0; b < 4; ++b) changed.push_back(static_cast<char>((crc >> (8 * b)) & 0xFF));
      EXPECT_NE(decode(changed, id), EntryState::usable) << "field at " << at << " = " << value;
    }
  }
}

// A sound entry for another file, version of it, FFmpeg build or index is stale, not damaged.
TEST(NumberingStore, EntryForAnotherIdentityIsStale) {
  const LearnedNumbering n = open_gop();
  const EntryIdentity id = identity_of(n);
  const std::string entry = encode_numbering(id, n);
  std::vector<std::pair<const char*, EntryIdentity>> others(6, {"", id});
  others[0].first = "path";
  others[0].second.key.path += "x";
  others[1].first = "size";
  others[1].second.key.size += 1;
  others[2].first = "mtime";
  others[2].second.key.modified += 1;
  others[3].first = "libavcodec";
  others[3].second.version.avcodec += 1;
  others[4].first = "frames";
  others[4].second.num_frames += 1;
  others[5].first = "packets";
  others[5].second.num_packets -= 1;
  for (const auto& [what, other] : others) EXPECT_EQ(decode(entry, other), EntryState::stale) << what;
}

// What one process keeps, another finds; a rewritten file (new mtime) is not served the old one.
TEST(NumberingStore, WhatOneProcessKeepsTheNextFinds) {
  const auto dir = test::scratch_dir();
  const std::string video = (dir / "clip.avi").string();
  test::write_text(video, "not decoded here");
  const FileKey key = file_key(video);
  auto n = std::make_shared<const LearnedNumbering>(open_gop());
  const std::string store = (dir / "store").string();
  FrameNumberingCache::process().clear();
  {
    Logged info(util::LogLevel::info);
    keep_numbering(key, n, store);
    keep_numbering(key, n, store);
    ASSERT_EQ(info.lines.size(), 1u) << "where the store is, said once";
    EXPECT_NE(info.lines[0].find("kept in " + store), std::string::npos) << info.lines[0];
  }
  ASSERT_TRUE(std::filesystem::exists(entry_path(store, absolute_key(key))));
  EXPECT_EQ(std::filesystem::directory_iterator(store)->path().extension(), ".numbering") << "no temporary file left";
  FrameNumberingCache::process().clear();  // a new process
  EXPECT_EQ(find_numbering(key, 10, 10, ""), nullptr) << "memory only: nothing";
  bool from_store = false;
  auto found = find_numbering(key, 10, 10, store, &from_store);
  ASSERT_NE(found, nullptr);
  EXPECT_TRUE(from_store);
  EXPECT_EQ(found->source_packet, n->source_packet);
  EXPECT_EQ(find_numbering(key, 10, 10, "", &from_store), found) << "now in memory too";
  EXPECT_FALSE(from_store);
  FrameNumberingCache::process().clear();
  EXPECT_EQ(find_numbering(key, 10, 11, store), nullptr) << "the file indexes another packet count";
  FileKey rewritten = key;
  rewritten.modified += 1;
  EXPECT_EQ(find_numbering(rewritten, 10, 10, store), nullptr);
  // The same file named by a relative path is the same entry.
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  FrameNumberingCache::process().clear();
  EXPECT_NE(find_numbering(file_key("clip.avi"), 10, 10, store), nullptr);
  std::filesystem::current_path(cwd);
}

// A damaged entry is reported once, naming itself and the video, and replaced by the next keep.
TEST(NumberingStore, DamagedEntryIsReportedOnceAndReplaced) {
  const auto dir = test::scratch_dir();
  const std::string video = (dir / "clip.avi").string();
  test::write_text(video, "not decoded here");
  const FileKey key = file_key(video);
  const std::string store = (dir / "store").string();
  const std::string entry = entry_path(store, absolute_key(key));
  test::write_text(entry, "VIFINUMB and then garbage");
  Logged warnings;
  FrameNumberingCache::process().clear();
  EXPECT_EQ(find_numbering(key, 10, 10, store), nullptr);
  EXPECT_EQ(find_numbering(key, 10, 10, store), nullptr);
  ASSERT_EQ(warnings.lines.size(), 1u);
  EXPECT_NE(warnings.lines[0].find(entry), std::string::npos) << warnings.lines[0];
  EXPECT_NE(warnings.lines[0].find(video), std::string::npos) << warnings.lines[0];
  keep_numbering(key, std::make_shared<const LearnedNumbering>(open_gop()), store);
  FrameNumberingCache::process().clear();
  EXPECT_NE(find_numbering(key, 10, 10, store), nullptr);
  // A sound entry with 4 MiB after it: longer than any entry of this file could be.
  FrameNumberingCache::process().clear();
  test::write_text(entry, test::read_text(entry) + std::string(4 << 20, 'x'));
  EXPECT_EQ(find_numbering(key, 10, 10, store), nullptr);
}

// A store that cannot be written (here: its folder would be inside a file) costs one warning
// and nothing else: the numbering stays in memory, nothing throws.
TEST(NumberingStore, UnwritableStoreWarnsOnceAndKeepsTheNumberingInMemory) {
  const auto dir = test::scratch_dir();
  test::write_text(dir / "a-file", "x");
  const std::string store = (dir / "a-file" / "store").string();
  Logged warnings;
  FrameNumberingCache::process().clear();
  for (int i = 0; i < 3; ++i) {
    const FileKey key{(dir / ("v" + std::to_string(i) + ".avi")).string(), 10, 1};
    EXPECT_NO_THROW(keep_numbering(key, std::make_shared<const LearnedNumbering>(open_gop()), store));
    EXPECT_NE(FrameNumberingCache::process().find(key), nullptr);
  }
  ASSERT_EQ(warnings.lines.size(), 1u);
  EXPECT_NE(warnings.lines[0].find("memory only"), std::string::npos) << warnings.lines[0];
}

// DATA.NUMBERING_CACHE's values: the folder given, 'none', or the user's cache folder.
TEST(NumberingStore, ConfiguredFolderResolves) {
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto xdg = env("XDG_CACHE_HOME"), home = env("HOME");
  EXPECT_EQ(numbering_store_dir("/data/numberings"), "/data/numberings");
  EXPECT_EQ(numbering_store_dir("none"), "");
  ::setenv("XDG_CACHE_HOME", "/scratch/cache", 1);
  EXPECT_EQ(numbering_store_dir(""), "/scratch/cache/vifi/frame-numbering");
  ::setenv("XDG_CACHE_HOME", "relative/cache", 1);  // the XDG spec: ignored
  ::setenv("HOME", "/home/researcher", 1);
  EXPECT_EQ(numbering_store_dir(""), "/home/researcher/.cache/vifi/frame-numbering");
  ::unsetenv("XDG_CACHE_HOME");
  ::unsetenv("HOME");
  EXPECT_EQ(numbering_store_dir(""), "") << "no cache folder known: memory only";
  xdg ? ::setenv("XDG_CACHE_HOME", xdg->c_str(), 1) : ::unsetenv("XDG_CACHE_HOME");
  if (home) ::setenv("HOME", home->c_str(), 1);
}

}  // namespace
}  // namespace vifi::data

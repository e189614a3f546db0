// Learned numberings on disk (see numbering_store.h for why and the format).
#include "numbering_store.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "vifi/data/video_reader.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/crc32c.h"
#include "vifi/util/logging.h"

namespace vifi::data {
namespace {

constexpr std::string_view kMagic = "VIFINUMB";
constexpr uint32_t kFormat = 1;
constexpr size_t kHeaderBytes = 8 + 4 * 4 + 8 * 5;
constexpr size_t kChecksumBytes = 4;
// A path longer than any filesystem allows means damage, not a file.
constexpr uint32_t kMaxPathBytes = 1 << 16;

// av_get_picture_type_char's letters.
bool picture_type_letter(char c) {
  return c == 'I' || c == 'P' || c == 'B' || c == 'S' || c == 'i' || c == 'p' || c == 'b' || c == '?';
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// Reads fixed-size little-endian fields; the caller checks the length before.
class Fields {
 public:
  explicit Fields(std::string_view bytes) : bytes_(bytes) {}
  uint32_t u32() { return static_cast<uint32_t>(take(4)); }
  uint64_t u64() { return take(8); }
  int64_t i64() { return static_cast<int64_t>(take(8)); }
  std::string_view text(size_t n) {
    const std::string_view s = bytes_.substr(at_, n);
    at_ += n;
    return s;
  }

 private:
  uint64_t take(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t{static_cast<unsigned char>(bytes_[at_ + static_cast<size_t>(i)])} << (8 * i);
    at_ += static_cast<size_t>(n);
    return v;
  }
  std::string_view bytes_;
  size_t at_ = 0;
};

// FNV-1a, 64 bits: the same name in every process and build (std::hash promises neither).
uint64_t path_hash(std::string_view path) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : path) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Logs `message` the first time `what` comes up in this process.
void log_once(util::LogLevel level, const std::string& what, const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> logged;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!logged.insert(what).second) return;
  }
  util::log(level, message);
}

void warn_once(const std::string& what, const std::string& message) { log_once(util::LogLevel::warn, what, message); }

// The entry's bytes; empty when there is none (or it cannot be read: then it is not there).
// Of an entry longer than `most` bytes only `most` + 1 are read: it cannot be the entry sought
// (decode_numbering refuses its length), and a huge file under that name stays on disk.
std::string read_entry(const std::string& file, uint64_t most) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const std::streamoff size = in.tellg();
  if (size <= 0) return {};
  std::string bytes(static_cast<size_t>(std::min<uint64_t>(static_cast<uint64_t>(size), most + 1)), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

}  // namespace

std::optional<EntryHeader> read_entry_header(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes || bytes.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  Fields f(bytes);
  f.text(kMagic.size());
  EntryHeader h;
  h.format = f.u32();
  h.identity.version.avcodec = f.u32();
  h.identity.version.avformat = f.u32();
  h.path_bytes = f.u32();
  h.identity.key.size = f.u64();
  h.identity.key.modified = f.i64();
  h.identity.num_frames = f.i64();
  h.identity.num_packets = f.i64();
  h.num_keyframes = f.i64();
  if (h.path_bytes <= bytes.size() - kHeaderBytes) h.identity.key.path = std::string(f.text(h.path_bytes));
  return h;
}

DecoderVersion decoder_version() {
  DecoderVersion v;
  v.avcodec = avcodec_version();
  v.avformat = avformat_version();
  return v;
}

FileKey absolute_key(const FileKey& key) {
  FileKey out = key;
  if (out.path.empty()) return out;
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(key.path, error);
  if (!error) out.path = absolute.lexically_normal().string();
  return out;
}

std::string entry_path(const std::string& store_dir, const FileKey& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t h = path_hash(key.path);
  std::string name(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) name[static_cast<size_t>(i)] = kHex[h & 0xF];
  return (std::filesystem::path(store_dir) / (name + ".numbering")).string();
}

std::string encode_numbering(const EntryIdentity& identity, const LearnedNumbering& numbering) {
  const std::string& path = identity.key.path;
  std::string out;
  out.reserve(kHeaderBytes + path.size() + 9 * numbering.source_packet.size() + 8 * numbering.keyframes.size() + 4);
  out.append(kMagic);
  put_u32(out, kFormat);
  put_u32(out, identity.version.avcodec);
  put_u32(out, identity.version.avformat);
  put_u32(out, static_cast<uint32_t>(path.size()));
  put_u64(out, static_cast<uint64_t>(identity.key.size));
  put_u64(out, static_cast<uint64_t>(identity.key.modified));
  put_u64(out, static_cast<uint64_t>(numbering.num_frames()));
  put_u64(out, static_cast<uint64_t>(numbering.frame_of_packet.size()));
  put_u64(out, static_cast<uint64_t>(numbering.keyframes.size()));
  out.append(path);
  for (int64_t p : numbering.source_packet) put_u64(out, static_cast<uint64_t>(p));
  out.append(numbering.picture_types.begin(), numbering.picture_types.end());
  for (int64_t p : numbering.keyframes) put_u64(out, static_cast<uint64_t>(p));
  put_u32(out, util::crc32c(out));
  return out;
}

EntryState decode_numbering(std::string_view bytes, const EntryIdentity& identity, LearnedNumbering& out,
                            std::string& why) {
  auto damaged = [&](std::string reason) {
    why = std::move(reason);
    return EntryState::damaged;
  };
  auto stale = [&](std::string reason) {
    why = std::move(reason);
    return EntryState::stale;
  };
  if (bytes.size() < kHeaderBytes + kChecksumBytes) return damaged("shorter than its header");
  const std::optional<EntryHeader> header = read_entry_header(bytes);
  if (!header) return damaged("not a frame-numbering entry (no VIFINUMB mark)");
  const EntryIdentity& claimed = header->identity;
  const int64_t num_frames = claimed.num_frames, num_packets = claimed.num_packets;
  const int64_t num_keyframes = header->num_keyframes;
  const uint64_t path_bytes = header->path_bytes;
  if (path_bytes > kMaxPathBytes) return damaged("a path of " + std::to_string(path_bytes) + " bytes");
  // Each count is bounded by the bytes it needs before any size is computed from it.
  const uint64_t room = bytes.size();
  if (num_frames < 1 || static_cast<uint64_t>(num_frames) > room / 9 || num_keyframes < 0 ||
      static_cast<uint64_t>(num_keyframes) > room / 8 || num_packets < num_frames) {
    return damaged("counts out of range (frames " + std::to_string(num_frames) + ", packets " +
                   std::to_string(num_packets) + ", keyframes " + std::to_string(num_keyframes) + ")");
  }
  const uint64_t expected = kHeaderBytes + path_bytes + 9 * static_cast<uint64_t>(num_frames) +
                            8 * static_cast<uint64_t>(num_keyframes) + kChecksumBytes;
  if (expected != room) {
    return damaged(std::to_string(room) + " bytes where its counts need " + std::to_string(expected));
  }
  const uint32_t stored_crc = Fields(bytes.substr(bytes.size() - kChecksumBytes)).u32();
  if (stored_crc != util::crc32c(bytes.substr(0, bytes.size() - kChecksumBytes))) return damaged("checksum mismatch");
  if (header->format != kFormat) return stale("format " + std::to_string(header->format));
  if (claimed.key.path != identity.key.path) return stale("another path");
  if (claimed.key.size != identity.key.size || claimed.key.modified != identity.key.modified) {
    return stale("another version of the file");
  }
  if (!(claimed.version == identity.version)) return stale("other FFmpeg libraries");
  if (num_frames != identity.num_frames || num_packets != identity.num_packets) {
    return stale("the file now indexes other frame or packet counts");
  }
  Fields f(bytes.substr(kHeaderBytes + path_bytes));
  LearnedNumbering n;
  n.source_packet.resize(static_cast<size_t>(num_frames));
  for (auto& p : n.source_packet) p = f.i64();
  const std::string_view types = f.text(static_cast<size_t>(num_frames));
  if (!std::all_of(types.begin(), types.end(), picture_type_letter)) return damaged("a picture type that is no letter FFmpeg uses");
  n.picture_types.assign(types.begin(), types.end());
  std::vector<int64_t> keyframes(static_cast<size_t>(num_keyframes));
  for (auto& p : keyframes) p = f.i64();
  for (size_t i = 0; i < keyframes.size(); ++i) {
    if (keyframes[i] < 0 || keyframes[i] >= num_packets || (i > 0 && keyframes[i] <= keyframes[i - 1])) {
      return damaged("keyframe packets out of order or range");
    }
  }
  // index_packets checks every frame's packet is in range and codes one frame, and keeps the
  // keyframes that code an intra picture: all of them, in a sound entry.
  if (!n.index_packets(num_packets, keyframes) || n.keyframes != keyframes) {
    return damaged("frames and packets that do not pair up");
  }
  out = std::move(n);
  return EntryState::usable;
}

std::shared_ptr<const LearnedNumbering> find_numbering(const FileKey& key, int64_t num_frames, int64_t num_packets,
                                                       const std::string& store_dir, bool* from_store) {
  if (from_store) *from_store = false;
  if (key.path.empty()) return nullptr;
  if (auto known = FrameNumberingCache::process().find(key)) return known;
  if (store_dir.empty()) return nullptr;
  EntryIdentity identity;
  identity.key = absolute_key(key);
  identity.version = decoder_version();
  identity.num_frames = num_frames;
  identity.num_packets = num_packets;
  const std::string file = entry_path(store_dir, identity.key);
  // The longest entry this file could have: every packet a keyframe.
  const uint64_t most = kHeaderBytes + kMaxPathBytes + 9 * static_cast<uint64_t>(std::max<int64_t>(num_frames, 0)) +
                        8 * static_cast<uint64_t>(std::max<int64_t>(num_packets, 0)) + kChecksumBytes;
  const std::string bytes = read_entry(file, most);
  if (bytes.empty()) return nullptr;
  LearnedNumbering numbering;
  std::string why;
  const EntryState state = decode_numbering(bytes, identity, numbering, why);
  if (state == EntryState::damaged) {
    warn_once(file, file + ": damaged frame-numbering entry (" + why + "); " + key.path +
                        " is numbered by a full decode again and the entry replaced");
  }
  if (state != EntryState::usable) return nullptr;
  auto shared = std::make_shared<const LearnedNumbering>(std::move(numbering));
  FrameNumberingCache::process().store(key, shared);
  if (from_store) *from_store = true;
  return shared;
}

void keep_numbering(const FileKey& key, std::shared_ptr<const LearnedNumbering> numbering,
                    const std::string& store_dir) {
  if (key.path.empty() || !numbering) return;
  FrameNumberingCache::process().store(key, numbering);
  if (store_dir.empty()) return;
  EntryIdentity identity;
  identity.key = absolute_key(key);
  identity.version = decoder_version();
  try {
    util::write_file_atomic(entry_path(store_dir, identity.key), encode_numbering(identity, *numbering));
    // Where the files go, once, and only for runs that learn any: most sets never need to.
    log_once(util::LogLevel::info, "kept in " + store_dir,
             "frame numberings learned by full decodes are kept in " + store_dir +
                 " for other processes (DATA.NUMBERING_CACHE; 'none' keeps them in memory)");
  } catch (const std::exception& e) {
    warn_once(store_dir, std::string("frame-numbering store not written (") + e.what() +
                             "); learned numberings stay in this process's memory only");
  }
}

std::string numbering_store_dir(const std::string& configured) {
  if (configured == "none") return {};
  if (!configured.empty()) return configured;
  const char* cache = std::getenv("XDG_CACHE_HOME");  // the XDG spec: relative values are ignored
  if (cache && cache[0] == '/') return (std::filesystem::path(cache) / "vifi" / "frame-numbering").string();
  const char* home = std::getenv("HOME");
  if (home && home[0] != '\0') return (std::filesystem::path(home) / ".cache" / "vifi" / "frame-numbering").string();
  return {};
}

}  // namespace vifi::data

// Private to src/data: learned frame numberings kept on disk (DATA.NUMBERING_CACHE), one small
// file per version of a video, so that a numbering learned by one full decode serves every
// process: the other ranks of a multi-GPU run (each rank reads other videos every epoch, so
// without this each would decode most of HMDB-51 whole once), evaluations, later runs, and the
// runs after `vifi data check --decode`, which learns every file it decodes.
//
// Why a format of our own: the entry is a few arrays of integers, and the reader must check it
// completely before trusting it (a wrong numbering returns wrong frames). An entry is, in
// little-endian order:
//   "VIFINUMB", u32 format, u32 libavcodec version, u32 libavformat version, u32 path bytes,
//   u64 file size, i64 mtime (ns), i64 frames, i64 packets, i64 keyframes, the absolute path,
//   i64 source packet per frame, u8 picture type per frame, i64 keyframe packets, u32 CRC-32C
//   of everything before it.
// An entry for another version of the file (size, mtime), another path (a hash collision of
// names), other FFmpeg libraries (whose demuxer may index other packets, whose decoder may emit
// other frames) or other frame and packet counts than the file's index now gives is stale: not
// used, and replaced when the file is learned again. A damaged one is reported once, then
// treated so.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "frame_numbering.h"

namespace vifi::data {

// The FFmpeg libraries an entry was learned with; an entry serves only the same ones.
struct DecoderVersion {
  uint32_t avcodec = 0;
  uint32_t avformat = 0;
  bool operator==(const DecoderVersion& o) const { return avcodec == o.avcodec && avformat == o.avformat; }
};

// The libraries loaded at run time (avcodec_version(), avformat_version()).
DecoderVersion decoder_version();

// What an entry must match besides its bytes being whole: the file (key.path absolute, see
// absolute_key), the libraries, and the file's frame and packet counts as indexed now (which
// also bound every allocation a damaged entry could ask for).
struct EntryIdentity {
  FileKey key;
  DecoderVersion version;
  int64_t num_frames = 0;
  int64_t num_packets = 0;
};

// `key` with its path absolute and normalised: the identity an entry stores.
FileKey absolute_key(const FileKey& key);

// The entry for `numbering` (its frame and packet counts are its own; identity.num_* unused).
std::string encode_numbering(const EntryIdentity& identity, const LearnedNumbering& numbering);

// An entry's header: what it claims to be, before anything behind it is checked.
struct EntryHeader {
  uint32_t format = 0;
  EntryIdentity identity;   // key.path: the stored path, empty when the bytes end before it
  uint32_t path_bytes = 0;  // the stored path's length, as the header gives it
  int64_t num_keyframes = 0;
};

// The header of `bytes`; nullopt when they are shorter than one or lack the entry's mark.
// Nothing behind the header is checked (decode_numbering does that).
std::optional<EntryHeader> read_entry_header(std::string_view bytes);

enum class EntryState { usable, stale, damaged };

// Reads an entry for `identity` into `out` (usable only). damaged: not a whole, consistent entry
// (`why` says what is wrong: length, checksum, a value out of range); stale: a sound entry for
// another identity. Never reads outside `bytes`; allocates only after the counts match identity's.
EntryState decode_numbering(std::string_view bytes, const EntryIdentity& identity, LearnedNumbering& out,
                            std::string& why);

// Learned numberings: the process's memory cache first, then the store in `store_dir` (when not
// empty), whose entries fill the memory cache. `from_store` (optional) is set when the store
// served it. nullptr when neither holds one for this version of the file.
// `num_frames` and `num_packets`: the file's counts as indexed now (EntryIdentity).
std::shared_ptr<const LearnedNumbering> find_numbering(const FileKey& key, int64_t num_frames, int64_t num_packets,
                                                       const std::string& store_dir, bool* from_store = nullptr);

// Keeps a numbering learned now in the memory cache and, when `store_dir` is not empty, in the
// store: written atomically (temporary file, rename), so a concurrent reader sees the old entry
// or the new one. Never throws: a store that cannot be written (read-only, full) is reported
// once per folder and the numbering stays in memory.
void keep_numbering(const FileKey& key, std::shared_ptr<const LearnedNumbering> numbering,
                    const std::string& store_dir);

// The store's file for `key` (absolute): "<store_dir>/<16 hex digits of the path's hash>.numbering".
std::string entry_path(const std::string& store_dir, const FileKey& key);

}  // namespace vifi::data

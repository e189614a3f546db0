// libFuzzer target for data/numbering_store's entries, the files DATA.NUMBERING_CACHE reads back
// from disk. An input is an entry without its checksum: the harness appends the right CRC-32C
// (libFuzzer could never forge one) and takes the identity to match from the entry's own header,
// so every input reaches the checks behind the checksum. The file's packet count is capped as a
// real index caps it. An entry found usable must encode back to the same bytes; a crash, a
// sanitizer report, an exception or a round trip that differs is a finding. Seeds
// (fuzz/corpus-numbering_entry): entries `vifi bench loader --videos SET --numbering-cache DIR` wrote
// for `vifi data synth --codec xvid` sets, without their last 4 bytes. Build:
// fuzz/CMakeLists.txt (clang).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "frame_numbering.h"
#include "numbering_store.h"
#include "vifi/util/crc32c.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "numbering_entry_fuzzer: %s\n", what.c_str());
  std::abort();
}

uint64_t field(const std::string& bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= uint64_t{static_cast<unsigned char>(bytes[at + static_cast<size_t>(i)])} << (8 * i);
  return v;
}

// The header's layout (numbering_store.h), read only to build a matching identity.
vifi::data::EntryIdentity identity_in(const std::string& entry) {
  vifi::data::EntryIdentity id;
  if (entry.size() < 64) return id;
  id.version.avcodec = static_cast<uint32_t>(field(entry, 12, 4));
  id.version.avformat = static_cast<uint32_t>(field(entry, 16, 4));
  const uint64_t path_bytes = field(entry, 20, 4);
  id.key.size = field(entry, 24, 8);
  id.key.modified = static_cast<int64_t>(field(entry, 32, 8));
  id.num_frames = static_cast<int64_t>(field(entry, 40, 8));
  const auto packets = static_cast<int64_t>(field(entry, 48, 8));
  constexpr int64_t kMostPackets = int64_t{1} << 20;  // what a real file's index could hold here
  id.num_packets = packets >= 0 && packets <= kMostPackets ? packets : kMostPackets;
  if (path_bytes <= entry.size() - 64) id.key.path = entry.substr(64, static_cast<size_t>(path_bytes));
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string entry(reinterpret_cast<const char*>(data), size);
  const uint32_t crc = vifi::util::crc32c(entry);
  for (int b = 0; b < 4; ++b) entry.push_back(static_cast<char>((crc >> (8 * b)) & 0xFF));
  const vifi::data::EntryIdentity id = identity_in(entry);
  vifi::data::LearnedNumbering numbering;
  std::string why;
  const auto state = vifi::data::decode_numbering(entry, id, numbering, why);
  if (state != vifi::data::EntryState::usable) {
    if (why.empty()) finding("a refused entry without a reason");
    return 0;
  }
  if (vifi::data::encode_numbering(id, numbering) != entry) finding("a usable entry does not encode back to its bytes");
  for (int64_t f = 0; f < numbering.num_frames(); ++f) {
    const int64_t start = numbering.start_packet(f);
    if (start < 0 || start >= static_cast<int64_t>(numbering.frame_of_packet.size())) finding("a read would start outside the file");
  }
  return 0;
}

// libFuzzer target for data/numbering_store's entries, the files DATA.NUMBERING_CACHE reads back
// from disk. An input is an entry without its checksum: the harness appends the right CRC-32C
// (libFuzzer could never forge one) and takes the identity to match from the entry's own header
// (read_entry_header), so every input reaches the checks behind the checksum. The file's packet
// count is capped as a real index caps it. An entry found usable must encode back to the same
// bytes; a crash, a sanitizer report, an exception or a round trip that differs is a finding.
// Seeds (fuzz/corpus-numbering_entry): entries `vifi bench loader --videos SET
// --numbering-cache DIR` wrote for `vifi data synth --codec xvid` sets, without their last 4
// bytes. Build: fuzz/CMakeLists.txt (clang).
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

// The identity the entry claims, as the reader of a real file would bring it: its packet count
// capped as a real file's index caps it.
vifi::data::EntryIdentity identity_in(const std::string& entry) {
  const auto header = vifi::data::read_entry_header(entry);
  if (!header) return {};
  vifi::data::EntryIdentity id = header->identity;
  constexpr int64_t kMostPackets = int64_t{1} << 20;
  if (id.num_packets < 0 || id.num_packets > kMostPackets) id.num_packets = kMostPackets;
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

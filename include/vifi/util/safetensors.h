// The safetensors format (huggingface/safetensors, the layout its README specifies): an 8-byte
// little-endian header length N, N bytes of UTF-8 JSON {name: {"dtype", "shape", "data_offsets":
// [begin, end]}, "__metadata__": {string: string}}, then the tensors' bytes, row-major and
// little-endian, offsets relative to the end of the header, with no gap and no overlap.
//
// Why vifi has its own reader and writer: Debian packages no C++ implementation, and the format
// is small enough that a strict one here (every offset and size checked before a byte is
// trusted, errors naming the file and tensor) costs less than vendoring one.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

#include "vifi/util/state_dict.h"

namespace vifi::util {

struct SafeTensors {
  StateDict tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// The file's bytes: tensors in key order, the header padded with spaces to a multiple of 8 bytes
// (as the reference writer does, so the data is 8-byte aligned). Throws std::invalid_argument
// naming the key for a dtype the format lacks (complex, quantised) or a name starting "__".
std::string serialize_safetensors(const SafeTensors& file);

// Parses bytes written by any conforming writer. Throws std::runtime_error "<source>: ..." naming
// the tensor for: a header length beyond the file or over 100 MB, JSON that is not an object,
// an unknown dtype, a shape whose size does not match its offsets, offsets that overlap, leave
// a hole or pass the end of the data.
SafeTensors parse_safetensors(const std::string& bytes, const std::string& source);

// serialize_safetensors written atomically (util/atomic_file).
void write_safetensors(const std::string& path, const SafeTensors& file);
// parse_safetensors of a file; throws naming `path` when it cannot be read.
SafeTensors read_safetensors(const std::string& path);
// True when `path` starts like a safetensors file (a plausible length then '{').
bool is_safetensors(const std::string& path);

}  // namespace vifi::util

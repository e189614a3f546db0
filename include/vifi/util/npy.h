// NumPy .npy reading and writing (format 1.0/2.0/3.0 read, 1.0 written; little-endian, C order).
// Features, embeddings and fixture inputs travel as .npy so Python tools read them directly.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <istream>
#include <string>

namespace vifi::util {

// Reads float16/32/64, int32/64 and uint8 arrays; floats come back as float32, integers as int64.
// Throws std::runtime_error naming the file on a missing file, an unknown format version, a
// damaged header (what was expected where), an unsupported dtype or Fortran order, or data
// shorter than the shape needs (checked before allocating). Bytes after the data are ignored,
// as np.load ignores them.
torch::Tensor load_npy(const std::string& path);
// The same from `size` bytes of `in`; `source` names them in errors. For load_npy and the fuzzer.
torch::Tensor read_npy(std::istream& in, uint64_t size, const std::string& source);

// Writes a contiguous CPU copy of `t` (float32 stays float32, float64 is narrowed to float32,
// integer types are written as int64). The write is atomic: temporary file, then rename.
void save_npy(const std::string& path, const torch::Tensor& t);

}  // namespace vifi::util

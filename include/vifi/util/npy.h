// NumPy .npy reading and writing (format 1.0/2.0, little-endian, C order).
// Features, embeddings and fixture inputs travel as .npy so Python tools read them directly.
#pragma once
#include <torch/torch.h>

#include <string>

namespace vifi::util {

// Reads float16/32/64 and int32/64 arrays; floats come back as float32, ints as int64.
// Throws std::runtime_error naming the file on a missing file, bad header or unsupported dtype.
torch::Tensor load_npy(const std::string& path);

// Writes a contiguous CPU copy of `t` (float32 stays float32, float64 is narrowed to float32,
// integer types are written as int64). The write is atomic: temporary file, then rename.
void save_npy(const std::string& path, const torch::Tensor& t);

}  // namespace vifi::util

// CRC-32C (Castagnoli), the checksum of TFRecord framing that TensorBoard event files use, and
// TFRecord's "masked" form of it (rotated and offset so that a CRC of data holding CRCs does not
// degenerate). Table-driven, byte at a time: event files are small.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vifi::util {

// CRC-32C of `data` (reflected polynomial 0x82F63B78); crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view data);

// TFRecord's masking: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t mask_crc32c(uint32_t crc);

// A checksum as 8 lower-case hex digits, as vifi's model identities show it.
std::string hex32(uint32_t value);

}  // namespace vifi::util

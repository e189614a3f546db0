// Whole-string numbers: the one reader of numbers typed by users or written in their files
// (flags, query parameters, torchrun's variables, annotation labels, file names, headers).
// Why one: std::stoll/stoi/stod and strtod read a prefix ("8x" as 8), skip leading spaces,
// accept '+', follow the C locale's decimal point, and throw std::invalid_argument("stoll") or
// std::out_of_range with no word of which value was wrong; each caller wrapped them its own
// way. These return nullopt instead, and the caller names the value and what it expected.
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vifi::util {

// An optional '-' then decimal digits, nothing else (no spaces, '+', '_', exponent or trailing
// text), within int64: "-12" -> -12; "", "8x", " 8", "+8", "9223372036854775808" -> nullopt.
inline std::optional<int64_t> parse_int64(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Decimal digits only, within int64 (a label, an epoch number, a dimension, an index):
// "007" -> 7; "-0", "-3", "" -> nullopt.
inline std::optional<int64_t> parse_non_negative(std::string_view text) {
  if (text.empty() || text.front() == '-') return std::nullopt;
  return parse_int64(text);
}

// A finite decimal number ("0.25", "-3", "1e-4", ".5"), nothing else: no spaces, '+', hex,
// "nan" or "inf", whatever the locale; nullopt otherwise and on overflow.
inline std::optional<double> parse_double(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace vifi::util

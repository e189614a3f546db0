// CLI11 validators for the floating-point flags (seconds, frame rates, megabytes, rates).
// Why not CLI::Range / CLI::PositiveNumber: they compare with < and >, which NaN passes, and
// CLI11 reads "nan", "inf" and hex floats; a NaN or an overflowing value that reaches a
// static_cast to an integer (a timeout in milliseconds, an upload limit in bytes) is undefined
// behaviour. These read the text with util::parse_double (finite decimals only).
#pragma once
#include <CLI/CLI.hpp>

namespace vifi::cli {

// A finite decimal number in [min, max]; otherwise "expected a number in [min, max], got 'x'".
CLI::Validator finite_in(double min, double max);

}  // namespace vifi::cli

// util/parse_number: the whole-string integer reader behind flags, query parameters, torchrun's
// variables, labels, epoch file names, .npy shapes and pickle memo indices.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "vifi/util/parse_number.h"

namespace vifi {
namespace {

TEST(ParseInteger, ReadsWholeDecimalStringsWithinInt64) {
  EXPECT_EQ(util::parse_int64("0"), 0);
  EXPECT_EQ(util::parse_int64("42"), 42);
  EXPECT_EQ(util::parse_int64("-17"), -17);
  EXPECT_EQ(util::parse_int64("0007"), 7);
  EXPECT_EQ(util::parse_int64("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(util::parse_int64("-9223372036854775808"), std::numeric_limits<int64_t>::min());
}

TEST(ParseInteger, RefusesPrefixesSpacesSignsAndOverflowThatStollAccepted) {
  // Each of these std::stoll read as a number (or threw a bare "stoll"/out_of_range).
  for (const std::string text : {"", "-", "8x", "5 ", " 5", "+5", "1e3", "0x10", "1_000", "3.0",
                                 "9223372036854775808", "-9223372036854775809", "99999999999999999999"})
    EXPECT_EQ(util::parse_int64(text), std::nullopt) << "'" << text << "'";
  // A string_view that stops before the text does: only the view is read.
  const std::string line = "12345";
  EXPECT_EQ(util::parse_int64(std::string_view(line).substr(1, 3)), 234);
}

TEST(ParseInteger, NonNegativeTakesDigitsOnly) {
  EXPECT_EQ(util::parse_non_negative("0"), 0);
  EXPECT_EQ(util::parse_non_negative("30"), 30);
  EXPECT_EQ(util::parse_non_negative("9223372036854775807"), std::numeric_limits<int64_t>::max());
  for (const std::string text : {"", "-0", "-3", "+3", "3 ", "9223372036854775808", "12a"})
    EXPECT_EQ(util::parse_non_negative(text), std::nullopt) << "'" << text << "'";
}

TEST(ParseNumber, DoublesAreFiniteDecimalsAndNothingElse) {
  EXPECT_EQ(util::parse_double("0.25"), 0.25);
  EXPECT_EQ(util::parse_double("-3"), -3.0);
  EXPECT_EQ(util::parse_double("1e-4"), 1e-4);
  EXPECT_EQ(util::parse_double(".5"), 0.5);
  // strtod took "0.5x" as 0.5, " 0.5" and "0x1p-1" as 0.5, and "nan"; stod threw a bare "stod".
  for (const std::string text : {"", ".", "0.5x", " 0.5", "0.5 ", "+0.5", "0x1p-1", "nan", "inf", "-inf", "1e999", "0,5"})
    EXPECT_EQ(util::parse_double(text), std::nullopt) << "'" << text << "'";
}

}  // namespace
}  // namespace vifi

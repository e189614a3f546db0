// Unicode and HTML data behind the tokenizer's text cleaning, private to src/clip. The tables in
// unicode_categories.cpp are generated from Python (the generator is at the end of that file), so
// the C++ cleaning agrees with what CLIP's Python reference (ftfy, html, `regex`, str.lower) does.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace vifi::clip::unicode {

// Which alternative of CLIP's pre-tokenisation pattern (compiled with IGNORECASE by the `regex`
// module) accepts a code point: [\p{L}]+, [\p{N}], \s, or [^\s\p{L}\p{N}]+. kUnmatched is
// U+0345, which under IGNORECASE is neither a letter nor in the negated class.
enum class CharClass : uint8_t { kOther, kLetter, kNumber, kSpace, kUnmatched };
CharClass char_class(char32_t cp);

// Python's str.isspace(), which str.strip() uses (it includes U+001C..U+001F, unlike \s).
bool is_python_space(char32_t cp);

// Python's str.lower() for one code point. The two cases that need more than one code point in
// or out (U+0130 -> "i" U+0307, and the final sigma) are the caller's: here U+0130 is unchanged
// and U+03A3 maps to U+03C3.
char32_t simple_lowercase(char32_t cp);

// What Python's str.lower() checks around U+03A3 to choose the final sigma: Case_Ignorable
// (e.g. apostrophe, marks), else Cased.
enum class CaseKind : uint8_t { kNone, kCased, kIgnorable };
CaseKind case_kind(char32_t cp);

// Canonical combining class (0 for starters).
uint8_t combining_class(char32_t cp);

// One level of canonical decomposition: cp -> first [second]; second is 0 for singletons.
// Hangul syllables are algorithmic and not in the table.
struct Decomposition {
  char32_t cp, first, second;
};
const Decomposition* canonical_decomposition(char32_t cp);

// The primary composite of a starter and a following character (NFC), or 0 if none. Hangul is
// algorithmic and not in the table.
char32_t primary_composite(char32_t first, char32_t second);

// Python's html.entities.html5: name (e.g. "amp;" or "amp") -> UTF-8 value.
std::optional<std::string_view> html5_entity(std::string_view name);

// ftfy decodes all-uppercase forms of lowercase entity names (e.g. "&EACUTE;" -> "É") with the
// value uppercased; this returns that value where it differs from html5_entity(lowercase_name).
std::optional<std::string_view> ftfy_uppercase_entity_value(std::string_view lowercase_name);

// html.unescape's replacements for numeric references it treats as invalid (0, CR, 0x80..0x9F).
std::optional<char32_t> html_invalid_charref(uint32_t number);

// Code points html.unescape drops when written as numeric references (controls, nonchars).
bool html_dropped_codepoint(uint32_t number);

// ftfy's fix_character_width: NFKC of a full-/half-width form, and U+3000 -> " "; empty if none.
std::string_view fullwidth_replacement(char32_t cp);

// ftfy's "sloppy-windows-1252" for bytes 0x80..0x9F (undefined bytes map to themselves).
char32_t windows1252_high(uint8_t byte);

}  // namespace vifi::clip::unicode

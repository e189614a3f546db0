// CLIP's tokenizer: the same cleaning, splitting and merging as OpenAI's simple_tokenizer.py.
//   clean:  ftfy.fix_text (the subset below), html.unescape twice, strip, collapse \s+ to one
//           space, strip, str.lower()
//   split:  <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
//           [^\s\p{L}\p{N}]+ with IGNORECASE, scanned by hand over code points
//   merge:  byte-level BPE of each piece's UTF-8 bytes, lowest merge rank first
// ftfy subset, per "\n"-terminated segment and repeated until nothing changes, as ftfy does:
// HTML entities (off once a segment contains '<'), mojibake of UTF-8 read as Latin-1/Windows-1252
// (whole-segment only; ftfy's badness heuristics and partial fixes are not ported), C1 controls
// as Windows-1252, Latin ligatures, full/half-width forms, curly quotes, line breaks, terminal
// escapes, control characters, NFC.
#include "vifi/clip/tokenizer.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "unicode_categories.h"

namespace vifi::clip {
namespace {

using unicode::CharClass;

constexpr char32_t kReplacementChar = 0xFFFD;

// ---- UTF-8 -------------------------------------------------------------------------------------

// Well-formed UTF-8 (Unicode Table 3-7): the number of continuation bytes after a lead byte and
// the range its first continuation byte must fall in (the others are 0x80..0xBF).
struct Utf8Lead {
  size_t continuations;
  unsigned char lo, hi;
};
Utf8Lead utf8_lead(unsigned char b) {
  if (b >= 0xC2 && b <= 0xDF) return {1, 0x80, 0xBF};
  if (b == 0xE0) return {2, 0xA0, 0xBF};
  if (b == 0xED) return {2, 0x80, 0x9F};  // no surrogates
  if (b >= 0xE1 && b <= 0xEF) return {2, 0x80, 0xBF};
  if (b == 0xF0) return {3, 0x90, 0xBF};
  if (b == 0xF4) return {3, 0x80, 0x8F};  // nothing above U+10FFFF
  if (b >= 0xF1 && b <= 0xF3) return {3, 0x80, 0xBF};
  return {0, 0, 0};  // continuation byte, overlong lead or invalid byte
}

// Decodes one code point at s[i]; ill-formed input yields U+FFFD for each maximal subpart (what
// Python's errors="replace" does), and `len` is the number of bytes consumed.
char32_t decode_utf8_at(std::string_view s, size_t i, size_t& len) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  len = 1;
  if (byte(i) < 0x80) return byte(i);
  const Utf8Lead lead = utf8_lead(byte(i));
  if (lead.continuations == 0) return kReplacementChar;
  char32_t cp = byte(i) & (0x3F >> lead.continuations);
  for (size_t k = 1; k <= lead.continuations; ++k) {
    const unsigned char lo = k == 1 ? lead.lo : 0x80, hi = k == 1 ? lead.hi : 0xBF;
    if (i + k >= s.size() || byte(i + k) < lo || byte(i + k) > hi) {
      len = k;
      return kReplacementChar;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  len = lead.continuations + 1;
  return cp;
}

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0, len = 0; i < s.size(); i += len) out.push_back(decode_utf8_at(s, i, len));
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) append_utf8(out, cp);
  return out;
}

// Rewrites each code point through `f(cp, out)`, which appends its replacement.
template <typename F>
std::u32string map_chars(const std::u32string& s, F f) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t cp : s) f(cp, out);
  return out;
}

bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_ascii_hex(char32_t c) { return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ascii_alnum(char32_t c) { return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// ---- html.unescape (Python's, exactly) ---------------------------------------------------------

// The value of a numeric character reference, with html.unescape's substitutions.
std::u32string numeric_charref(uint32_t number) {
  if (auto sub = unicode::html_invalid_charref(number)) return std::u32string(1, *sub);
  if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) return std::u32string(1, kReplacementChar);
  if (unicode::html_dropped_codepoint(number)) return {};
  return std::u32string(1, static_cast<char32_t>(number));
}

// Parses "#123;" / "#x7B;" (';' optional) at s[i] (just after '&'); returns the end or i on no match.
size_t parse_numeric_ref(const std::u32string& s, size_t i, uint32_t& number) {
  size_t j = i + 1;
  const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
  if (hex) ++j;
  const size_t digits = j;
  uint64_t value = 0;
  for (; j < s.size() && (hex ? is_ascii_hex(s[j]) : is_ascii_digit(s[j])); ++j) {
    const uint32_t d = is_ascii_digit(s[j]) ? s[j] - '0' : (s[j] | 0x20) - 'a' + 10;
    value = std::min<uint64_t>(value * (hex ? 16 : 10) + d, 0x110000);  // saturate: all too large
  }
  if (j == digits) return i;
  number = static_cast<uint32_t>(value);
  return (j < s.size() && s[j] == ';') ? j + 1 : j;
}

// A named reference "name[;]" (up to 32 code points outside "\t\n\f <&#;"): the html5 value of the
// whole, else of its longest prefix of at least 2 characters followed by the rest, else itself.
std::u32string named_charref(const std::u32string& name) {
  std::string ascii;  // html5 names are ASCII, so only an ASCII prefix can match
  for (char32_t c : name) {
    if (c >= 0x80) break;
    ascii.push_back(static_cast<char>(c));
  }
  if (ascii.size() == name.size())
    if (auto v = unicode::html5_entity(ascii)) return decode_utf8(*v);
  for (size_t x = std::min(ascii.size(), name.size() - 1); x >= 2; --x)
    if (auto v = unicode::html5_entity(std::string_view(ascii).substr(0, x))) return decode_utf8(*v) + name.substr(x);
  return U"&" + name;
}

size_t parse_named_ref(const std::u32string& s, size_t i) {
  static constexpr std::u32string_view kStop = U"\t\n\f <&#;";
  size_t j = i;
  while (j < s.size() && j - i < 32 && kStop.find(s[j]) == std::u32string_view::npos) ++j;
  if (j == i) return i;
  return (j < s.size() && s[j] == ';') ? j + 1 : j;
}

std::u32string html_unescape(const std::u32string& s) {
  if (s.find(U'&') == std::u32string::npos) return s;
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    uint32_t number = 0;
    const bool numeric = i + 1 < s.size() && s[i + 1] == '#';
    const size_t end = numeric ? parse_numeric_ref(s, i + 1, number) : parse_named_ref(s, i + 1);
    if (end == i + 1) {
      out.push_back(s[i++]);
      continue;
    }
    out += numeric ? numeric_charref(number) : named_charref(s.substr(i + 1, end - i - 1));
    i = end;
  }
  return out;
}

// ---- ftfy.fix_text subset ----------------------------------------------------------------------

// ftfy's unescape_html: only "&name;" (1-24 ASCII letters/digits, ';' required) and "&#...;",
// plus all-uppercase names of lowercase entities ("&EACUTE;" -> "É").
std::u32string ftfy_entity(const std::u32string& ref) {  // ref = "&...;"
  const std::u32string body = ref.substr(1);
  const std::string name = encode_utf8(body);
  if (auto v = unicode::html5_entity(name)) return decode_utf8(*v);
  if (body[0] == '#') {
    std::u32string decoded = html_unescape(ref);
    return decoded.find(U';') == std::u32string::npos ? decoded : ref;  // must consume the ';'
  }
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  const bool all_upper = std::none_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  auto value = unicode::html5_entity(lower);
  if (!all_upper || lower == name || !value || html_unescape(ref) != ref) return ref;
  return decode_utf8(unicode::ftfy_uppercase_entity_value(lower).value_or(*value));
}

std::u32string ftfy_unescape_html(const std::u32string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i + 1;
    if (s[i] == '&') {
      if (j < s.size() && s[j] == '#') ++j;
      const size_t start = j;
      while (j < s.size() && j - start < 24 && is_ascii_alnum(s[j])) ++j;
      if (j > start && j < s.size() && s[j] == ';') {
        out += ftfy_entity(s.substr(i, j + 1 - i));
        i = j + 1;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

bool is_latin1_lead(char32_t c) { return c >= 0xC2 && c <= 0xF4; }

// The byte a code point has in Latin-1 or sloppy Windows-1252, or -1 if it has none.
int latin_byte(char32_t c, bool windows1252) {
  if (c < 0x80 || (c >= 0xA0 && c <= 0xFF)) return static_cast<int>(c);
  for (int b = 0x80; b < 0xA0; ++b)
    if ((windows1252 ? unicode::windows1252_high(static_cast<uint8_t>(b)) : static_cast<char32_t>(b)) == c) return b;
  return -1;
}

// UTF-8 that was decoded as Latin-1 or Windows-1252 ("cafÃ©"): if the segment shows a lead-byte
// character followed by a continuation-byte character, and the whole segment re-encodes to
// well-formed UTF-8, take the decoded text.
std::u32string fix_mojibake(const std::u32string& s) {
  bool suspicious = false;
  for (size_t i = 0; i + 1 < s.size() && !suspicious; ++i) {
    if (!is_latin1_lead(s[i])) continue;
    const int next = latin_byte(s[i + 1], true);
    suspicious = next >= 0x80 && next <= 0xBF;
  }
  if (!suspicious) return s;
  for (bool windows1252 : {false, true}) {
    std::string bytes;
    for (char32_t c : s) {
      const int b = latin_byte(c, windows1252);
      if (b < 0) break;
      bytes.push_back(static_cast<char>(b));
    }
    if (bytes.size() != s.size()) continue;
    std::u32string fixed = decode_utf8(bytes);
    if (fixed.find(kReplacementChar) == std::u32string::npos) return fixed;
  }
  return s;
}

// ftfy's one-code-point fixes in its order: C1 controls read as Windows-1252, Latin ligatures,
// character width, curly quotes.
void fix_char(char32_t c, std::u32string& out) {
  static const std::unordered_map<char32_t, std::u32string_view> kLigatures = {
      {0x132, U"IJ"},  {0x133, U"ij"},  {0x149, U"\u02BCn"}, {0x1F1, U"DZ"}, {0x1F2, U"Dz"},
      {0x1F3, U"dz"},  {0x1C4, U"D\u017D"}, {0x1C5, U"D\u017E"}, {0x1C6, U"d\u017E"}, {0x1C7, U"LJ"},
      {0x1C8, U"Lj"},  {0x1C9, U"lj"},  {0x1CA, U"NJ"},  {0x1CB, U"Nj"},  {0x1CC, U"nj"},
      {0xFB00, U"ff"}, {0xFB01, U"fi"}, {0xFB02, U"fl"}, {0xFB03, U"ffi"}, {0xFB04, U"ffl"},
      {0xFB05, U"\u017Ft"}, {0xFB06, U"st"}};
  if (c >= 0x80 && c < 0xA0) c = unicode::windows1252_high(static_cast<uint8_t>(c));
  std::u32string_view piece(&c, 1);
  if (auto it = kLigatures.find(c); it != kLigatures.end()) piece = it->second;
  for (char32_t p : piece) {
    const std::string_view wide = unicode::fullwidth_replacement(p);
    if (!wide.empty()) {
      out += decode_utf8(wide);
    } else if (p == 0x2BC || (p >= 0x2018 && p <= 0x201B)) {
      out.push_back('\'');
    } else if (p >= 0x201C && p <= 0x201F) {
      out.push_back('"');
    } else {
      out.push_back(p);
    }
  }
}

// "\r\n", "\r", U+2028, U+2029, U+0085 -> "\n".
std::u32string fix_line_breaks(const std::u32string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back((c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) ? U'\n' : c);
  }
  return out;
}

// ANSI terminal escapes "\x1b[" digits/';' letter are removed.
std::u32string remove_terminal_escapes(const std::u32string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && (is_ascii_digit(s[j]) || s[j] == ';')) ++j;
      const bool letter = j < s.size() && s[j] < 0x80 && ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z');
      if (letter) {
        i = j;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Controls ftfy drops: C0 except \t \n \f \r, DEL, deprecated Arabic format characters,
// interlinear annotations, the object replacement character and the byte-order mark.
bool is_unwanted_control(char32_t c) {
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r') || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// ---- NFC (unicodedata.normalize("NFC")) --------------------------------------------------------

constexpr char32_t kHangulBase = 0xAC00, kHangulL = 0x1100, kHangulV = 0x1161, kHangulT = 0x11A7;
constexpr char32_t kHangulVCount = 21, kHangulTCount = 28, kHangulCount = 11172;

void decompose(char32_t c, std::u32string& out) {
  if (c >= kHangulBase && c < kHangulBase + kHangulCount) {
    const char32_t index = c - kHangulBase;
    out.push_back(kHangulL + index / (kHangulVCount * kHangulTCount));
    out.push_back(kHangulV + (index % (kHangulVCount * kHangulTCount)) / kHangulTCount);
    if (index % kHangulTCount) out.push_back(kHangulT + index % kHangulTCount);
  } else if (const auto* d = unicode::canonical_decomposition(c)) {
    decompose(d->first, out);
    if (d->second) decompose(d->second, out);
  } else {
    out.push_back(c);
  }
}

// Canonical ordering: each run of non-starters is stably sorted by combining class.
void reorder_marks(std::u32string& s) {
  const auto by_class = [](char32_t a, char32_t b) {
    return unicode::combining_class(a) < unicode::combining_class(b);
  };
  for (auto run = s.begin(); run != s.end();) {
    auto end = std::find_if(run, s.end(), [](char32_t c) { return unicode::combining_class(c) == 0; });
    std::stable_sort(run, end, by_class);
    run = end == s.end() ? end : end + 1;
  }
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kHangulL && a < kHangulL + 19 && b >= kHangulV && b < kHangulV + kHangulVCount)
    return kHangulBase + ((a - kHangulL) * kHangulVCount + (b - kHangulV)) * kHangulTCount;
  const bool lv = a >= kHangulBase && a < kHangulBase + kHangulCount && (a - kHangulBase) % kHangulTCount == 0;
  if (lv && b > kHangulT && b < kHangulT + kHangulTCount) return a + (b - kHangulT);
  return unicode::primary_composite(a, b);
}

// The canonical composition of UAX #15 over a decomposed, reordered string: a character joins
// the last starter unless a character between them has class 0 or a class >= its own.
std::u32string compose(const std::u32string& s) {
  std::u32string out;
  size_t starter = std::u32string::npos;  // none yet: leading marks compose with nothing
  int last_class = 0;                     // class of the last character kept (0: the starter)
  for (char32_t c : s) {
    const int cls = unicode::combining_class(c);
    if (starter != std::u32string::npos && (last_class == 0 || last_class < cls)) {
      if (const char32_t composite = compose_pair(out[starter], c)) {
        out[starter] = composite;
        continue;
      }
    }
    if (cls == 0) starter = out.size();
    last_class = cls;
    out.push_back(c);
  }
  return out;
}

std::u32string nfc(const std::u32string& s) {
  if (std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x300; })) return s;  // already NFC
  std::u32string decomposed;
  for (char32_t c : s) decompose(c, decomposed);
  reorder_marks(decomposed);
  return compose(decomposed);
}

// ---- ftfy driver -------------------------------------------------------------------------------

std::u32string fix_segment_once(std::u32string s, bool unescape) {
  if (unescape) s = ftfy_unescape_html(s);
  s = fix_mojibake(s);
  s = map_chars(s, fix_char);
  s = fix_line_breaks(s);
  s = remove_terminal_escapes(s);
  s = map_chars(s, [](char32_t c, std::u32string& out) {
    if (!is_unwanted_control(c)) out.push_back(c);
  });
  return nfc(s);
}

// ftfy.fix_text: segments end at "\n"; each is fixed until stable. HTML unescaping is on until a
// segment contains '<' (ftfy's "auto": that text is probably HTML) and stays off after it.
std::u32string ftfy_fix_text(const std::u32string& text) {
  constexpr int kMaxRounds = 32;  // ftfy loops until stable; every fix here converges in a few
  std::u32string out;
  bool unescape = true;
  for (size_t pos = 0; pos < text.size();) {
    const size_t newline = text.find(U'\n', pos);
    const size_t end = newline == std::u32string::npos ? text.size() : newline + 1;
    std::u32string segment = text.substr(pos, end - pos);
    if (segment.find(U'<') != std::u32string::npos) unescape = false;
    for (int round = 0; round < kMaxRounds; ++round) {
      std::u32string fixed = fix_segment_once(segment, unescape);
      if (fixed == segment) break;
      segment = std::move(fixed);
    }
    out += segment;
    pos = end;
  }
  return out;
}

// ---- whitespace and case -----------------------------------------------------------------------

std::u32string python_strip(const std::u32string& s) {
  size_t b = 0, e = s.size();
  while (b < e && unicode::is_python_space(s[b])) ++b;
  while (e > b && unicode::is_python_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// re.sub(r"\s+", " ", s).strip()
std::u32string whitespace_clean(const std::u32string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    if (unicode::char_class(s[i]) != CharClass::kSpace) {
      out.push_back(s[i++]);
      continue;
    }
    while (i < s.size() && unicode::char_class(s[i]) == CharClass::kSpace) ++i;
    out.push_back(' ');
  }
  return python_strip(out);
}

// CPython's Final_Sigma: a cased character, then case-ignorables, then U+03A3, and no cased
// character after it (case-ignorables skipped).
bool is_final_sigma(const std::u32string& s, size_t i) {
  using unicode::CaseKind;
  size_t j = i;
  while (j > 0 && unicode::case_kind(s[j - 1]) == CaseKind::kIgnorable) --j;
  if (j == 0 || unicode::case_kind(s[j - 1]) != CaseKind::kCased) return false;
  size_t k = i + 1;
  while (k < s.size() && unicode::case_kind(s[k]) == CaseKind::kIgnorable) ++k;
  return k == s.size() || unicode::case_kind(s[k]) != CaseKind::kCased;
}

std::u32string python_lower(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 0x130) {
      out += U"i\u0307";
    } else if (s[i] == 0x3A3) {
      out.push_back(is_final_sigma(s, i) ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(unicode::simple_lowercase(s[i]));
    }
  }
  return out;
}

// whitespace_clean(basic_clean(text)).lower()
std::u32string clean_text(const std::string& text) {
  std::u32string s = ftfy_fix_text(decode_utf8(text));
  s = python_strip(html_unescape(html_unescape(s)));
  return python_lower(whitespace_clean(s));
}

// ---- pre-tokenisation --------------------------------------------------------------------------

// Does `lit` (lowercase ASCII) occur at s[i] under the pattern's IGNORECASE? Besides ASCII case,
// U+017F (long s) matches 's' and U+212A (Kelvin) matches 'k'.
bool matches_at(const std::u32string& s, size_t i, std::string_view lit) {
  if (i + lit.size() > s.size()) return false;
  for (size_t k = 0; k < lit.size(); ++k) {
    const char32_t c = s[i + k], want = static_cast<unsigned char>(lit[k]);
    const char32_t folded = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (folded != want && !(want == 's' && c == 0x17F) && !(want == 'k' && c == 0x212A)) return false;
  }
  return true;
}

// Length of the match of CLIP's pattern at s[i], or 0 where the scan just moves on.
size_t match_length(const std::u32string& s, size_t i) {
  static constexpr std::string_view kLiterals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re",
                                                   "'ve", "'m", "'ll", "'d"};
  for (std::string_view lit : kLiterals)
    if (matches_at(s, i, lit)) return lit.size();
  const CharClass cls = unicode::char_class(s[i]);
  if (cls == CharClass::kNumber) return 1;
  if (cls != CharClass::kLetter && cls != CharClass::kOther) return 0;
  size_t j = i;
  while (j < s.size() && unicode::char_class(s[j]) == cls) ++j;
  return j - i;
}

// re.findall(pattern, text), each piece as UTF-8.
std::vector<std::string> split_words(const std::u32string& s) {
  std::vector<std::string> words;
  for (size_t i = 0; i < s.size();) {
    const size_t n = match_length(s, i);
    if (n == 0) {
      ++i;
      continue;
    }
    words.push_back(encode_utf8(std::u32string_view(s).substr(i, n)));
    i += n;
  }
  return words;
}

// ---- vocabulary file ---------------------------------------------------------------------------

constexpr int64_t kMergeCount = 49152 - 256 - 2;  // merges[1:49152-256-2+1]
constexpr int64_t kVocabSize = 256 * 2 + kMergeCount + 2;

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes for
// U+0100.. in byte order, so every byte is a visible character. Index = byte.
std::array<char32_t, 256> bytes_to_unicode() {
  std::array<char32_t, 256> table{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    table[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
  }
  return table;
}

// The reference's order of the 256 byte tokens: printable bytes first, then the rest.
std::vector<int> byte_order() {
  std::vector<int> order;
  const auto table = bytes_to_unicode();
  for (int b = 0; b < 256; ++b)
    if (table[static_cast<size_t>(b)] == static_cast<char32_t>(b)) order.push_back(b);
  for (int b = 0; b < 256; ++b)
    if (table[static_cast<size_t>(b)] != static_cast<char32_t>(b)) order.push_back(b);
  return order;
}

std::runtime_error vocab_error(const std::string& path, const std::string& what) {
  return std::runtime_error("CLIP BPE vocabulary " + path + ": " + what);
}

// The first `count` lines of the gzipped file (zlib reads an uncompressed file as is too).
std::vector<std::string> read_gz_lines(const std::string& path, size_t count) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw vocab_error(path, "file not found (expected bpe_simple_vocab_16e6.txt.gz; set VIFI_BPE_PATH)");
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw vocab_error(path, "cannot open");
  std::vector<std::string> lines(1);
  char buf[1 << 16];
  int n = 0;
  while (lines.size() <= count && (n = gzread(file, buf, sizeof buf)) > 0) {
    for (int k = 0; k < n; ++k) {
      if (buf[k] == '\n') lines.emplace_back();
      else lines.back().push_back(buf[k]);
    }
  }
  int err = Z_OK;
  const std::string message = n < 0 ? gzerror(file, &err) : "";
  gzclose(file);
  if (n < 0) throw vocab_error(path, "corrupt gzip data (" + message + ")");
  if (lines.size() > count) lines.resize(count);
  return lines;
}

}  // namespace

// ---- Tokenizer ---------------------------------------------------------------------------------

struct Tokenizer::Vocabulary {
  std::vector<std::string> tokens;                    // id -> token (UTF-8 in the byte alphabet)
  std::array<int32_t, 256> byte_id{};                 // byte -> id of its character
  std::array<int32_t, 256> byte_end_id{};             // byte -> id of its character + "</w>"
  std::unordered_map<uint64_t, int32_t> merge_rank;   // (left id << 32 | right id) -> rank
  std::vector<int32_t> merge_result;                  // rank -> id of the merged token
  std::array<int, 0x144> byte_of_char{};              // byte-alphabet code point -> byte

  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  explicit Vocabulary(const std::string& path);
  void add_byte_tokens();
  void add_merges(const std::string& path, const std::vector<std::string>& lines);
  std::vector<int32_t> merge_word(const std::string& word) const;
};

Tokenizer::Vocabulary::Vocabulary(const std::string& path) {
  const auto lines = read_gz_lines(path, static_cast<size_t>(kMergeCount) + 1);
  if (static_cast<int64_t>(lines.size()) < kMergeCount + 1)
    throw vocab_error(path, "expected a '#version' line and at least " + std::to_string(kMergeCount) +
                                " merge lines, found " + std::to_string(lines.size()) + " lines");
  tokens.reserve(static_cast<size_t>(kVocabSize));
  add_byte_tokens();
  add_merges(path, lines);
}

void Tokenizer::Vocabulary::add_byte_tokens() {
  const auto table = bytes_to_unicode();
  const auto order = byte_order();
  for (const char* suffix : {"", "</w>"}) {
    for (int b : order) {
      const auto ub = static_cast<size_t>(b);
      std::string token;
      append_utf8(token, table[ub]);
      (*suffix ? byte_end_id : byte_id)[ub] = static_cast<int32_t>(tokens.size());
      tokens.push_back(token + suffix);
      byte_of_char[table[ub]] = b;
    }
  }
}

void Tokenizer::Vocabulary::add_merges(const std::string& path, const std::vector<std::string>& lines) {
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(static_cast<size_t>(kMergeCount));
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= line.size() || line.find(' ', space + 1) != line.npos)
      throw vocab_error(path, "line " + std::to_string(i + 1) + " is not a merge \"left right\": '" + line + "'");
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    tokens.push_back(merges.back().first + merges.back().second);
  }
  tokens.push_back("<|startoftext|>");
  tokens.push_back("<|endoftext|>");
  // The reference's encoder is dict(zip(vocab, ids)): for a repeated string the last id wins.
  std::unordered_map<std::string_view, int32_t> id_of;
  id_of.reserve(tokens.size());
  for (size_t id = 0; id < tokens.size(); ++id) id_of[tokens[id]] = static_cast<int32_t>(id);
  const auto find = [&](const std::string& token, size_t line) {
    auto it = id_of.find(token);
    if (it == id_of.end())
      throw vocab_error(path, "line " + std::to_string(line + 1) + " merges an unknown token '" + token + "'");
    return it->second;
  };
  merge_rank.reserve(merges.size());
  merge_result.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    merge_rank[pair_key(find(merges[r].first, r + 1), find(merges[r].second, r + 1))] = static_cast<int32_t>(r);
    merge_result.push_back(find(merges[r].first + merges[r].second, r + 1));
  }
}

// Byte-level BPE of one word: start from its bytes (the last one marked "</w>"), then merge the
// lowest-ranked adjacent pair everywhere it occurs, until no pair has a rank.
std::vector<int32_t> Tokenizer::Vocabulary::merge_word(const std::string& word) const {
  std::vector<int32_t> w;
  w.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    const auto b = static_cast<unsigned char>(word[i]);
    w.push_back(i + 1 < word.size() ? byte_id[b] : byte_end_id[b]);
  }
  std::vector<int32_t> next;
  while (w.size() > 1) {
    int32_t best = INT32_MAX;
    size_t at = 0;
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      auto it = merge_rank.find(pair_key(w[i], w[i + 1]));
      if (it != merge_rank.end() && it->second < best) best = it->second, at = i;
    }
    if (best == INT32_MAX) break;
    const int32_t left = w[at], right = w[at + 1], merged = merge_result[static_cast<size_t>(best)];
    next.assign(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(at));
    for (size_t i = at; i < w.size(); ++i) {
      const bool pair = i + 1 < w.size() && w[i] == left && w[i + 1] == right;
      next.push_back(pair ? merged : w[i]);
      if (pair) ++i;
    }
    w.swap(next);
  }
  return w;
}

struct Tokenizer::Cache {
  static constexpr size_t kMaxEntries = 1 << 20;  // bounds memory on endless distinct input
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<int64_t>> words;
};

std::string default_bpe_path() {
  // The tree the binary was built from wins over an installed copy, which may be older.
  if (const char* env = std::getenv("VIFI_BPE_PATH"); env && *env) return env;
  const std::string source = std::string(VIFI_SOURCE_DIR) + "/third_party/clip_bpe/bpe_simple_vocab_16e6.txt.gz";
  std::error_code ec;
  if (std::filesystem::exists(source, ec)) return source;
  return std::string(VIFI_INSTALL_DATADIR) + "/clip_bpe/bpe_simple_vocab_16e6.txt.gz";
}

Tokenizer::Tokenizer(const std::string& bpe_path)
    : vocab_(std::make_unique<const Vocabulary>(bpe_path)), cache_(std::make_unique<Cache>()) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

int64_t Tokenizer::vocab_size() const { return static_cast<int64_t>(vocab_->tokens.size()); }

std::vector<int64_t> Tokenizer::bpe(const std::string& word) const {
  if (word == "<|startoftext|>") return {kStartOfText};  // the reference pre-seeds its cache
  if (word == "<|endoftext|>") return {kEndOfText};
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (auto it = cache_->words.find(word); it != cache_->words.end()) return it->second;
  }
  const auto merged = vocab_->merge_word(word);
  std::vector<int64_t> ids(merged.begin(), merged.end());
  std::lock_guard<std::mutex> lock(cache_->mutex);
  if (cache_->words.size() >= Cache::kMaxEntries) cache_->words.clear();
  cache_->words.emplace(word, ids);
  return ids;
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const std::string& word : split_words(clean_text(text))) {
    const auto piece = bpe(word);
    ids.insert(ids.end(), piece.begin(), piece.end());
  }
  return ids;
}

std::vector<int64_t> Tokenizer::encode_with_specials(const std::string& text, int64_t context_length) const {
  TORCH_CHECK(context_length >= 2, "Tokenizer: context_length must leave room for start and end of text (>= 2), got ",
              context_length);
  std::vector<int64_t> ids{kStartOfText};
  const auto body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.push_back(kEndOfText);
  if (static_cast<int64_t>(ids.size()) > context_length) {
    ids.resize(static_cast<size_t>(context_length));
    ids.back() = kEndOfText;
  }
  return ids;
}

torch::Tensor Tokenizer::tokenize(const std::vector<std::string>& texts, int64_t context_length) const {
  TORCH_CHECK(context_length >= 2, "Tokenizer: context_length must be >= 2, got ", context_length);
  auto result = torch::zeros({static_cast<int64_t>(texts.size()), context_length}, torch::kLong);  // [N, L]
  auto rows = result.accessor<int64_t, 2>();
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ids = encode_with_specials(texts[i], context_length);
    for (size_t k = 0; k < ids.size(); ++k) rows[static_cast<int64_t>(i)][static_cast<int64_t>(k)] = ids[k];
  }
  return result;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string bytes;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size())
      throw std::out_of_range("Tokenizer::decode: id " + std::to_string(id) + " outside [0, " +
                              std::to_string(vocab_size()) + ")");
    for (char32_t c : decode_utf8(vocab_->tokens[static_cast<size_t>(id)]))
      bytes.push_back(static_cast<char>(vocab_->byte_of_char[c]));
  }
  std::string text = encode_utf8(decode_utf8(bytes));  // invalid UTF-8 -> U+FFFD, as errors="replace"
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 4, "</w>") == 0) {
      out.push_back(' ');
      i += 4;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

}  // namespace vifi::clip

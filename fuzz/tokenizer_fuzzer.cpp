// libFuzzer target for clip/tokenizer, vifi's own text cleaning (ftfy subset, html.unescape,
// Unicode categories), pre-tokenisation and BPE: it reads class names from users' files and
// search queries from the network (`vifi serve`). One input is one text, any bytes. Findings: a
// crash, a sanitizer report, an exception, an id outside the vocabulary, a row that is not
// start-of-text ... end-of-text within the context, decoded text that is not valid
// UTF-8, or an encoding that changes between two calls (the word cache must not alter results).
// Seeds (fuzz/corpus-tokenizer): every 80th text of tests/fixtures/tokenizer_golden.tsv (class names
// and prompts of the datasets), its non-ASCII and punctuation cases, and by hand: HTML entities,
// mojibake, special tokens, control whitespace, a long word, five scripts, invalid UTF-8. Build:
// fuzz/CMakeLists.txt (clang, LibTorch, zlib).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "vifi/clip/tokenizer.h"

namespace {

using vifi::clip::Tokenizer;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "tokenizer_fuzzer: %s\n", what.c_str());
  std::abort();
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

const Tokenizer& tokenizer() {
  static const Tokenizer instance(VIFI_FUZZ_BPE_PATH);
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& tok = tokenizer();
  try {
    const auto ids = tok.encode(text);
    // Special-token ids are no finding: the reference's cleaning (control characters dropped,
    // HTML unescaped) can spell "<|endoftext|>" from text that does not, and its pattern then
    // matches the special token, as vifi's does (the fuzzer's first finding was that).
    for (const auto id : ids)
      if (id < 0 || id >= tok.vocab_size()) finding("id " + std::to_string(id) + " outside the vocabulary");
    if (tok.encode(text) != ids) finding("a second encoding differs from the first");
    if (!valid_utf8(tok.decode(ids))) finding("decoded text that is not valid UTF-8");
    const auto row = tok.encode_with_specials(text);
    if (row.size() > static_cast<size_t>(Tokenizer::kContextLength) || row.front() != Tokenizer::kStartOfText ||
        row.back() != Tokenizer::kEndOfText)
      finding("a row that is not <start> ... <end> within the context");
  } catch (const std::exception& e) {
    finding(std::string("an exception: ") + e.what());
  }
  return 0;
}

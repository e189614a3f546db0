// clip::Tokenizer against ids from OpenAI's clip.tokenize (tests/fixtures/tokenizer_golden.tsv:
// "text<TAB>ids", ids with start/end-of-text and no padding; "\t", "\n", "\\" escaped in text),
// plus truncation, batching, the cache under threads, errors, and `vifi tokenize`.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_paths.h"
#include "vifi/clip/tokenizer.h"

namespace vifi {
namespace {

using clip::Tokenizer;

struct GoldenCase {
  std::string text;
  std::vector<int64_t> ids;
};

std::string unescape_tsv(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out.push_back(field[i]);
      continue;
    }
    const char c = field[++i];
    out.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c);
  }
  return out;
}

std::vector<GoldenCase> read_golden() {
  const std::string path = test::fixture("tokenizer_golden.tsv");
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<GoldenCase> cases;
  for (std::string line; std::getline(in, line);) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    GoldenCase c{unescape_tsv(line.substr(0, tab)), {}};
    std::istringstream ids(line.substr(tab + 1));
    for (int64_t id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string join(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

// One tokenizer for the whole suite: construction reads the vocabulary.
const Tokenizer& tokenizer() {
  static const Tokenizer t;
  return t;
}

TEST(Tokenizer, VocabularyHasClipSize) {
  EXPECT_EQ(tokenizer().vocab_size(), 49408);
  EXPECT_EQ(tokenizer().decode({Tokenizer::kStartOfText, Tokenizer::kEndOfText}), "<|startoftext|><|endoftext|>");
}

TEST(Tokenizer, MatchesEveryGoldenLine) {
  const auto cases = read_golden();
  ASSERT_EQ(cases.size(), 1938u);
  int mismatches = 0;
  for (const auto& c : cases) {
    std::vector<int64_t> got{Tokenizer::kStartOfText};
    for (int64_t id : tokenizer().encode(c.text)) got.push_back(id);
    got.push_back(Tokenizer::kEndOfText);
    if (got == c.ids) continue;
    if (++mismatches <= 20)
      ADD_FAILURE() << "text: '" << c.text << "'\n  expected: " << join(c.ids) << "\n  got:      " << join(got);
  }
  EXPECT_EQ(mismatches, 0) << "of " << cases.size() << " golden lines";
}

TEST(Tokenizer, BatchRowsArePaddedGoldenIds) {
  const auto cases = read_golden();
  std::vector<std::string> texts;
  for (const auto& c : cases) texts.push_back(c.text);
  const auto tokens = tokenizer().tokenize(texts);  // [N, 77]
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{static_cast<int64_t>(cases.size()), 77}));
  ASSERT_EQ(tokens.scalar_type(), torch::kLong);
  const auto eot_at = tokens.argmax(1);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto n = static_cast<int64_t>(cases[i].ids.size());
    const auto row = tokens[static_cast<int64_t>(i)];
    EXPECT_TRUE(row.slice(0, 0, n).equal(torch::tensor(cases[i].ids))) << cases[i].text;
    EXPECT_EQ(row.slice(0, n).count_nonzero().item<int64_t>(), 0) << cases[i].text;
    EXPECT_EQ(eot_at[static_cast<int64_t>(i)].item<int64_t>(), n - 1) << cases[i].text;
  }
}

TEST(Tokenizer, TruncatesLongTextAndEndsWithEndOfText) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "a photo of a dog. ";
  const auto full = tokenizer().encode(text);
  ASSERT_GT(full.size(), 80u);
  const auto ids = tokenizer().encode_with_specials(text);
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids.front(), Tokenizer::kStartOfText);
  EXPECT_EQ(ids.back(), Tokenizer::kEndOfText);
  EXPECT_TRUE(std::equal(ids.begin() + 1, ids.end() - 1, full.begin()));
  const auto row = tokenizer().tokenize({text}, 77);
  EXPECT_TRUE(row[0].equal(torch::tensor(ids)));
  EXPECT_EQ(tokenizer().encode_with_specials(text, 5), (std::vector<int64_t>{49406, 320, 1125, 539, 49407}));
  EXPECT_THROW(tokenizer().encode_with_specials(text, 1), c10::Error);
}

TEST(Tokenizer, CleansTextLikeTheReference) {
  const auto& t = tokenizer();
  // html.unescape twice; whitespace collapsed; case folded; NFC composes "e" + U+0301 to "é".
  EXPECT_EQ(t.encode("&amp;amp; html &lt;tag&gt;"), t.encode("& html <tag>"));
  EXPECT_EQ(t.encode("  A\tPHOTO\n\nof  a DOG. "), t.encode("a photo of a dog."));
  EXPECT_EQ(t.encode("cafe\xcc\x81"), t.encode("caf\xc3\xa9"));
  // ftfy: curly quotes, ligatures, full-width forms, mojibake of UTF-8 read as Windows-1252.
  EXPECT_EQ(t.encode("don\xe2\x80\x99t"), t.encode("don't"));
  EXPECT_EQ(t.encode("\xef\xac\x81ne"), t.encode("fine"));
  EXPECT_EQ(t.encode("\xef\xbc\xa4\xef\xbd\x8f\xef\xbd\x87"), t.encode("dog"));
  EXPECT_EQ(t.encode("caf\xc3\x83\xc2\xa9"), t.encode("caf\xc3\xa9"));
  // Special tokens written in the text are kept whole, as in the reference.
  EXPECT_EQ(t.encode("<|endoftext|>"), (std::vector<int64_t>{Tokenizer::kEndOfText}));
}

TEST(Tokenizer, DecodeInvertsEncode) {
  EXPECT_EQ(tokenizer().decode(tokenizer().encode("a photo of a dog.")), "a photo of a dog . ");
  EXPECT_EQ(tokenizer().decode(tokenizer().encode("na\xc3\xafve caf\xc3\xa9")), "na\xc3\xafve caf\xc3\xa9 ");
  EXPECT_THROW(tokenizer().decode({49408}), std::out_of_range);
}

TEST(Tokenizer, CacheGivesTheSameIdsAcrossCallsAndThreads) {
  const Tokenizer fresh;  // empty cache
  const auto cases = read_golden();
  std::vector<std::vector<int64_t>> first;
  for (const auto& c : cases) first.push_back(fresh.encode(c.text));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t w = 0; w < mismatches.size(); ++w) {
    threads.emplace_back([&, w] {
      for (size_t i = w; i < cases.size(); i += 2)
        if (fresh.encode(cases[i].text) != first[i]) ++mismatches[w];
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(Tokenizer, MissingVocabularyNamesThePath) {
  const std::string path = (test::scratch_dir() / "no_such_vocab.txt.gz").string();
  try {
    Tokenizer t(path);
    FAIL() << "expected an error for " << path;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, TruncatedVocabularyIsRefused) {
  const std::string path = (test::scratch_dir() / "short.txt.gz").string();
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzputs(f, "\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\nt h\n");
  gzclose(f);
  try {
    Tokenizer t(path);
    FAIL() << "expected an error for " << path;
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("48894"), std::string::npos) << what;
  }
}

TEST(Tokenizer, DefaultPathHonoursEnvironment) {
  ::setenv("VIFI_BPE_PATH", "/somewhere/vocab.txt.gz", 1);
  EXPECT_EQ(clip::default_bpe_path(), "/somewhere/vocab.txt.gz");
  ::unsetenv("VIFI_BPE_PATH");
  EXPECT_NE(clip::default_bpe_path().find("clip_bpe/bpe_simple_vocab_16e6.txt.gz"), std::string::npos);
}

// Template for the next case: a text, and the ids clip.tokenize gives for it (from Python:
// `clip.tokenize([text])[0]` up to and including 49407).
// TEST(Tokenizer, MyCase) {
//   EXPECT_EQ(tokenizer().encode_with_specials("my text"), (std::vector<int64_t>{49406, ..., 49407}));
// }

}  // namespace
}  // namespace vifi

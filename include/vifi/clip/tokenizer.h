// CLIP's byte-level BPE tokenizer, id for id the same as OpenAI's clip/simple_tokenizer.py with
// clip.tokenize(..., truncate=True): text cleaning (a subset of ftfy.fix_text, html.unescape
// twice, whitespace collapse, lowercase), CLIP's pre-tokenisation pattern, the byte-to-unicode
// table, and the merges of bpe_simple_vocab_16e6.txt.gz (49,408 ids).
// defines: default_bpe_path, Tokenizer (encode, encode_with_specials, tokenize, decode)
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vifi::clip {

// The vocabulary file: $VIFI_BPE_PATH if set, else the source tree's third_party/clip_bpe copy
// if it exists, else the installed one (<prefix>/share/vifi/clip_bpe/bpe_simple_vocab_16e6.txt.gz).
std::string default_bpe_path();

// Immutable after construction except for a per-word BPE cache guarded by a mutex, so one
// Tokenizer can serve several threads.
class Tokenizer {
 public:
  static constexpr int64_t kStartOfText = 49406;
  static constexpr int64_t kEndOfText = 49407;
  static constexpr int64_t kContextLength = 77;

  // Reads the gzipped merges; throws std::runtime_error naming the path if it is missing or is
  // not a CLIP merges file.
  explicit Tokenizer(const std::string& bpe_path = default_bpe_path());
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // BPE ids of `text` (UTF-8; invalid bytes read as U+FFFD), without start/end-of-text.
  std::vector<int64_t> encode(const std::string& text) const;

  // kStartOfText, encode(text), kEndOfText; longer than context_length is cut to
  // context_length ids with the last set to kEndOfText (clip.tokenize(truncate=True)).
  std::vector<int64_t> encode_with_specials(const std::string& text, int64_t context_length = kContextLength) const;

  // [N, context_length] int64: encode_with_specials per row, zero padded. The end-of-text token
  // has the largest id, so argmax(dim=1) finds it, which is where CLIP's text encoder pools.
  torch::Tensor tokenize(const std::vector<std::string>& texts, int64_t context_length = kContextLength) const;

  // Text of `ids` for debugging: each word ends in a space ("</w>"), special tokens appear as
  // "<|startoftext|>"/"<|endoftext|>", and invalid UTF-8 comes out as U+FFFD. Throws
  // std::out_of_range for an id outside [0, vocab_size()).
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t vocab_size() const;

 private:
  struct Vocabulary;  // merges and id <-> token tables, read-only after construction
  struct Cache;       // word -> ids, with its own mutex

  std::vector<int64_t> bpe(const std::string& word) const;  // ids of one pre-token

  std::unique_ptr<const Vocabulary> vocab_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace vifi::clip

// `vifi tokenize TEXT...`: CLIP token ids of each text on its own line, space separated, with
// start/end-of-text and without padding (the rows of clip.tokenize up to the end-of-text id).
#include <iostream>
#include <memory>

#include "commands.h"
#include "vifi/clip/tokenizer.h"

namespace vifi::cli {
namespace {

struct TokenizeOptions {
  std::vector<std::string> texts;
  std::string bpe_path;
  int64_t context_length = clip::Tokenizer::kContextLength;
};

void run_tokenize(const TokenizeOptions& o) {
  const clip::Tokenizer tokenizer(o.bpe_path.empty() ? clip::default_bpe_path() : o.bpe_path);
  for (const std::string& text : o.texts) {
    const auto ids = tokenizer.encode_with_specials(text, o.context_length);
    for (size_t k = 0; k < ids.size(); ++k) std::cout << (k ? " " : "") << ids[k];
    std::cout << "\n";
  }
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto options = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Print the CLIP BPE token ids of each text, one line per text");
  cmd->add_option("text", options->texts, "Texts to tokenize (quote each one)")->required();
  cmd->add_option("--bpe", options->bpe_path, "Vocabulary (default: $VIFI_BPE_PATH or the bundled copy)");
  cmd->add_option("--context-length", options->context_length,
                  "Longer texts are cut to this many ids, the last one end-of-text")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  cmd->callback([options] { run_tokenize(*options); });
}

}  // namespace vifi::cli

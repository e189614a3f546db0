// `vifi config keys` and `vifi config show` as a user runs them: the key table's every key listed
// once with its default and help, a section selected by whole dotted parts, an unknown prefix
// refused with a suggestion, and `show` printing what a run would use (BASE and --opts applied),
// which reads back to the same config.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/test_paths.h"
#include "vifi/config/config.h"
#include "vifi/config/config_yaml.h"

namespace vifi {
namespace {

// The lines of `text` that start a key's entry ("NAME = ...").
std::vector<std::string> key_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ') lines.push_back(line);
  }
  return lines;
}

TEST(ConfigCommand, KeysListsEveryKeyWithItsDefaultAndHelp) {
  std::string out;
  ASSERT_EQ(test::run_vifi("config keys", &out), 0) << out;
  const auto lines = key_lines(out);
  ASSERT_EQ(lines.size(), config_keys().size()) << out;
  const Config defaults;
  for (size_t i = 0; i < lines.size(); ++i) {
    const ConfigKey& key = config_keys()[i];
    EXPECT_EQ(lines[i].rfind(key.name + " = ", 0), 0u) << lines[i];
    EXPECT_NE(out.find("    " + key.help + "\n"), std::string::npos) << key.name;
  }
  EXPECT_NE(out.find("DATA.NUM_FRAMES = 8   [int]"), std::string::npos) << out;
  EXPECT_NE(out.find("DATA.PASSED_FRAMES = skip_deblocking   [one of skip_unreferenced|decode|skip_deblocking]"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("TEST.PASSED_FRAMES = skip_unreferenced   [one of skip_unreferenced|decode|skip_deblocking]"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("DATA.NUMBERING_CACHE = \"\"   [string]"), std::string::npos) << out;
}

TEST(ConfigCommand, KeysOfOneSectionOnly) {
  std::string out;
  ASSERT_EQ(test::run_vifi("config keys train", &out), 0) << out;
  const auto lines = key_lines(out);
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) EXPECT_EQ(line.rfind("TRAIN.", 0), 0u) << line << " (TRAINER.* is another section)";
  ASSERT_EQ(test::run_vifi("config keys DATA.NUM_FRAMES", &out), 0) << out;
  EXPECT_EQ(key_lines(out).size(), 1u) << out;
  EXPECT_NE(test::run_vifi("config keys DAT", &out), 0);
  EXPECT_NE(out.find("no key starts with 'DAT' (did you mean DATA?)"), std::string::npos) << out;
  EXPECT_NE(test::run_vifi("config keys DATA.NUM_FRAME", &out), 0);
  EXPECT_NE(out.find("did you mean DATA.NUM_FRAMES?"), std::string::npos) << out;
}

TEST(ConfigCommand, ShowPrintsTheResolvedConfig) {
  const auto dir = test::scratch_dir();
  test::write_text(dir / "base.yaml", "DATA:\n  NUM_FRAMES: 16\n  INPUT_SIZE: 160\n");
  test::write_text(dir / "run.yaml", "BASE: ['base.yaml']\nDATA:\n  INPUT_SIZE: 192\nTRAIN:\n  EPOCHS: 3\n");
  std::string out;
  ASSERT_EQ(test::run_vifi("config show --config " + (dir / "run.yaml").string() + " --opts TRAIN.LR 0.0005", &out), 0)
      << out;
  test::write_text(dir / "shown.yaml", out);
  const Config shown = load_config((dir / "shown.yaml").string());
  EXPECT_EQ(shown.data.num_frames, 16);   // from BASE
  EXPECT_EQ(shown.data.input_size, 192);  // the file over its BASE
  EXPECT_EQ(shown.train.epochs, 3);
  EXPECT_DOUBLE_EQ(shown.train.lr, 0.0005);  // --opts last
  EXPECT_EQ(to_yaml(shown), out) << "show prints what reads back to the same config";
  EXPECT_NE(test::run_vifi("config show --config " + (dir / "run.yaml").string() + " --opts DATA.NUM_FRAME 4", &out), 0);
  EXPECT_NE(out.find("did you mean DATA.NUM_FRAMES"), std::string::npos) << out;
}

}  // namespace
}  // namespace vifi

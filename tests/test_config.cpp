// Config: key table, YAML reading with BASE inheritance, --opts and flags, every error by its
// message, the to_yaml round trip, and the shipped configs under configs/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vifi/config/config_yaml.h"
#include "support/test_paths.h"
#include "vifi/config/config.h"

namespace {
namespace fs = std::filesystem;
using vifi::load_config;
using vifi::Config;
using vifi::ConfigError;

const fs::path kFixtures = fs::path(VIFI_FIXTURES) / "configs";

std::string fixture(const std::string& name) { return vifi::test::fixture("configs/" + name); }

// The message of the ConfigError that `fn` throws ("" if it throws none).
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string load_error(const std::string& path, const std::vector<std::string>& opts = {}) {
  return error_of([&] { load_config(path, opts); });
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(ConfigKeys, DefaultsAreTheReferences) {
  const Config c;
  EXPECT_EQ(c.model.arch, "ViT-B/32");
  EXPECT_EQ(c.data.num_frames, 8);
  EXPECT_EQ(c.train.epochs, 30);
  EXPECT_EQ(c.train.warmup_epochs, 5);
  EXPECT_DOUBLE_EQ(c.train.lr, 8e-6);
  EXPECT_DOUBLE_EQ(c.train.weight_decay, 0.001);
  EXPECT_DOUBLE_EQ(c.aug.label_smooth, 0.1);
  EXPECT_DOUBLE_EQ(c.aug.mixup, 0.8);
  EXPECT_DOUBLE_EQ(c.aug.cutmix, 1.0);
  EXPECT_EQ(c.trainer.ctx_init, "a photo of a");
  EXPECT_EQ(c.trainer.prompt_depth_text, 1);
  EXPECT_EQ(c.trainer.use, vifi::EncoderUse::both);
  EXPECT_EQ(c.seed, 1024);
  EXPECT_EQ(c.print_freq, 50);
}

TEST(ConfigKeys, TableIsUniqueAndSectionsContiguous) {
  std::set<std::string> names, closed_sections;
  std::string previous_section = "<start>";
  for (const auto& k : vifi::config_keys()) {
    EXPECT_TRUE(names.insert(k.name).second) << k.name;
    const auto dot = k.name.rfind('.');
    const std::string section = dot == std::string::npos ? "" : k.name.substr(0, dot);
    if (section != previous_section) {
      EXPECT_FALSE(closed_sections.count(section)) << "section split: " << section;
      closed_sections.insert(previous_section);
      previous_section = section;
    }
  }
  EXPECT_TRUE(vifi::is_config_section("TRAINER.ViFi_CLIP"));
  EXPECT_TRUE(vifi::is_config_section("TRAINER"));
  EXPECT_FALSE(vifi::is_config_section("TRAIN.LR"));
  EXPECT_FALSE(vifi::is_config_section("TRAI"));
}

TEST(ConfigKeys, ClosestKeyByEditDistance) {
  using vifi::closest_config_key;
  EXPECT_EQ(closest_config_key("DATA.NUM_FRAME"), "DATA.NUM_FRAMES");
  EXPECT_EQ(closest_config_key("data.num_frames"), "DATA.NUM_FRAMES");
  EXPECT_EQ(closest_config_key("TRAIN.LRR"), "TRAIN.LR");
  EXPECT_EQ(closest_config_key("TRAINER.VIFI_CLIP.USE"), "TRAINER.ViFi_CLIP.USE");
}

TEST(ConfigKeys, EnumsFromString) {
  using namespace vifi;
  EXPECT_EQ(from_string<Fusion>("decision"), Fusion::decision);
  EXPECT_EQ(to_string(EncoderUse::text), "text");
  try {
    from_string<EncoderUse>("video");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "unknown value 'video'; valid: both|image|text");
  }
}

TEST(ConfigYaml, BaseInheritanceOverrideOrder) {
  const Config c = load_config(fixture("child.yaml"));
  EXPECT_EQ(c.data.num_frames, 16);    // from base.yaml
  EXPECT_DOUBLE_EQ(c.train.lr, 3e-5);  // base2.yaml, listed after base.yaml, wins
  EXPECT_EQ(c.train.epochs, 7);        // the file itself overrides its bases
  EXPECT_EQ(c.trainer.use, vifi::EncoderUse::image);
  EXPECT_EQ(c.trainer.fusion, vifi::Fusion::decision);
  EXPECT_EQ(c.data.num_classes, 400);  // untouched default
  EXPECT_EQ(fs::path(c.data.label_list), fs::absolute(kFixtures / "labels.csv").lexically_normal());
}

TEST(ConfigYaml, BaseIsRelativeToTheIncludingFile) {
  const Config c = load_config(fixture("nested/grandchild.yaml"));
  EXPECT_EQ(c.data.num_classes, 51);
  EXPECT_EQ(c.train.epochs, 7);
  EXPECT_EQ(fs::path(c.data.train_file),
            fs::absolute(kFixtures / "nested" / "train.txt").lexically_normal());
  EXPECT_EQ(fs::path(c.data.label_list), fs::absolute(kFixtures / "labels.csv").lexically_normal());
}

TEST(ConfigYaml, OptsOverrideFilesAndFlagsOverrideOpts) {
  vifi::ConfigFlags flags;
  flags.batch_size = 3;
  flags.only_test = true;
  flags.output = "run_dir";
  const Config c = load_config(fixture("child.yaml"),
                               {"TRAIN.LR", "1e-5", "TRAIN.BATCH_SIZE", "32",
                                "TRAINER.ViFi_CLIP.USE", "\"text\"", "TEST.NUM_CROP", "3"},
                               flags);
  EXPECT_DOUBLE_EQ(c.train.lr, 1e-5);
  EXPECT_EQ(c.train.batch_size, 3);  // --batch-size after --opts, as the reference
  EXPECT_EQ(c.trainer.use, vifi::EncoderUse::text);
  EXPECT_EQ(c.test.num_crop, 3);
  EXPECT_TRUE(c.test.only_test);
  EXPECT_EQ(fs::path(c.output), fs::absolute("run_dir").lexically_normal());
}

TEST(ConfigErrors, UnknownKeyNamesFileKeyAndSuggestion) {
  const std::string msg = load_error(fixture("unknown_key.yaml"));
  EXPECT_NE(msg.find(fixture("unknown_key.yaml") + ":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'DATA.NUM_FRAME'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean DATA.NUM_FRAMES?"), std::string::npos) << msg;
}

TEST(ConfigErrors, MisspeltSectionSuggestsTheFullKey) {
  const fs::path file = vifi::test::scratch_dir() / "section.yaml";
  write(file, "TRAIN:\n  EPOCHS: 3\nTRAINR:\n  EPOCHS: 3\n");
  EXPECT_EQ(load_error(file.string()),
            file.string() + ":4: unknown key 'TRAINR.EPOCHS' (did you mean TRAIN.EPOCHS?)");
}

TEST(ConfigErrors, UnknownOptsKey) {
  EXPECT_EQ(load_error(fixture("child.yaml"), {"TRAIN.LRR", "1"}),
            "--opts: unknown key 'TRAIN.LRR' (did you mean TRAIN.LR?)");
  EXPECT_NE(load_error(fixture("child.yaml"), {"TRAIN.LR"}).find("KEY VALUE pairs"),
            std::string::npos);
}

TEST(ConfigErrors, WrongTypeNamesFileKeyTypeAndValue) {
  EXPECT_EQ(load_error(fixture("wrong_type.yaml")),
            fixture("wrong_type.yaml") + ":2: TRAIN.EPOCHS: expected int, got 'ten'");
  EXPECT_EQ(load_error(fixture("bad_choice.yaml")),
            fixture("bad_choice.yaml") +
                ":3: TRAINER.ViFi_CLIP.USE: expected one of both|image|text, got 'video'");
  EXPECT_EQ(load_error(fixture("leaf_list.yaml")),
            fixture("leaf_list.yaml") + ":2: TRAIN.LR: expected float, got a list");
  EXPECT_EQ(load_error(fixture("child.yaml"), {"TRAIN.LR", "fast"}),
            "--opts: TRAIN.LR: expected float, got 'fast'");
  EXPECT_EQ(load_error(fixture("child.yaml"), {"TEST.ONLY_TEST", "1"}),
            "--opts: TEST.ONLY_TEST: expected bool (true/false), got '1'");
  EXPECT_NE(load_error(fixture("section_scalar.yaml")).find("DATA: expected a mapping"),
            std::string::npos);
}

TEST(ConfigErrors, MissingFileAndMissingBase) {
  EXPECT_EQ(load_error(fixture("nope.yaml")), "config file not found: " + fixture("nope.yaml"));
  const std::string msg = load_error(fixture("missing_base.yaml"));
  EXPECT_NE(msg.find(fixture("missing_base.yaml") + ":1: BASE: file not found: "),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("does_not_exist.yaml"), std::string::npos) << msg;
}

// Paths the system refuses are config errors naming the file, not filesystem_errors (found by
// fuzz/config_yaml_fuzzer: a BASE of 300 characters).
TEST(ConfigErrors, APathTheSystemRefusesIsNamed) {
  const auto dir = vifi::test::scratch_dir();
  const std::string long_name(300, 'b');
  vifi::test::write_text(dir / "long_base.yaml", "BASE: \"" + long_name + ".yaml\"\n");
  std::string msg = load_error((dir / "long_base.yaml").string());
  EXPECT_NE(msg.find("long_base.yaml:1: BASE: file cannot be read (File name too long): "), std::string::npos) << msg;
  EXPECT_NE(msg.find(long_name), std::string::npos) << msg;
  msg = load_error((dir / (long_name + ".yaml")).string());
  EXPECT_EQ(msg.rfind("config file cannot be read (File name too long): ", 0), 0u) << msg;
  // A folder in the path that is a file.
  msg = load_error((dir / "long_base.yaml" / "child.yaml").string());
  EXPECT_EQ(msg, "config file cannot be read (Not a directory): " + (dir / "long_base.yaml" / "child.yaml").string());
}

TEST(ConfigErrors, BaseCycle) {
  const std::string msg = load_error(fixture("cycle_a.yaml"));
  EXPECT_NE(msg.find("BASE cycle: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("cycle_a.yaml -> "), std::string::npos) << msg;
  EXPECT_NE(msg.find("cycle_b.yaml -> "), std::string::npos) << msg;
}

TEST(ConfigErrors, InvalidValueNamesTheFileThatSetIt) {
  const std::string msg = load_error(fixture("invalid_value.yaml"));
  EXPECT_NE(msg.find(fixture("invalid_value.yaml") + ":2: TRAIN.BATCH_SIZE: must be >= 1, got 0"),
            std::string::npos)
      << msg;
  EXPECT_NE(load_error(fixture("child.yaml"), {"TEST.NUM_CROP", "2"})
                .find("--opts: TEST.NUM_CROP: must be 1 or 3, got 2"),
            std::string::npos);
}

// The config fuzzer's first finding: with GLOBAL_BATCH set, validation took GLOBAL_BATCH modulo
// BATCH_SIZE before knowing BATCH_SIZE >= 1, and a BATCH_SIZE of 0 killed vifi with SIGFPE.
TEST(ConfigErrors, GlobalBatchWithABatchSizeBelowOneIsAnErrorNotACrash) {
  const fs::path dir = vifi::test::scratch_dir();
  write(dir / "global.yaml", "TRAIN:\n  GLOBAL_BATCH: 512\n  BATCH_SIZE: 0\n");
  const std::string msg = load_error((dir / "global.yaml").string());
  EXPECT_NE(msg.find("global.yaml:3: TRAIN.BATCH_SIZE: must be >= 1, got 0"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("multiple"), std::string::npos) << msg;
  EXPECT_NE(load_error((dir / "global.yaml").string(), {"TRAIN.BATCH_SIZE", "-3"})
                .find("--opts: TRAIN.BATCH_SIZE: must be >= 1, got -3"),
            std::string::npos);
  // The multiple rule itself still holds for a valid BATCH_SIZE.
  EXPECT_NE(load_error((dir / "global.yaml").string(), {"TRAIN.BATCH_SIZE", "5"})
                .find("TRAIN.GLOBAL_BATCH: must be a multiple of TRAIN.BATCH_SIZE 5, got 512"),
            std::string::npos)
      << load_error((dir / "global.yaml").string(), {"TRAIN.BATCH_SIZE", "5"});
}

// Found by a sweep of large values: 100000 workers failed in thread creation with only
// "Resource temporarily unavailable", and the int64 key was narrowed to int on the way.
TEST(ConfigErrors, NumWorkersIsBoundedByWhatThreadsCanDo) {
  EXPECT_NE(load_error(fixture("child.yaml"), {"DATA.NUM_WORKERS", "100000"})
                .find("--opts: DATA.NUM_WORKERS: must be in [0, 1024], got 100000"),
            std::string::npos)
      << load_error(fixture("child.yaml"), {"DATA.NUM_WORKERS", "100000"});
  EXPECT_NE(load_error(fixture("child.yaml"), {"DATA.NUM_WORKERS", "4294967297"}).find("DATA.NUM_WORKERS"), std::string::npos);
  EXPECT_EQ(load_error(fixture("child.yaml"), {"DATA.NUM_WORKERS", "1024"}), "");
}

TEST(ConfigErrors, YamlSyntaxErrorNamesFileAndLine) {
  const std::string msg = load_error(fixture("syntax_error.yaml"));
  EXPECT_EQ(msg.rfind(fixture("syntax_error.yaml") + ":", 0), 0u) << msg;
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
}

// yaml-cpp stops at its depth guard, but its message was "YAML syntax error: bad file".
TEST(ConfigErrors, DeepNestingIsNamedAsSuch) {
  const fs::path dir = vifi::test::scratch_dir();
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"flow.yaml", "DATA: " + std::string(100000, '[')},
           {"maps.yaml", "DATA: " + [] { std::string t; for (int i = 0; i < 20000; ++i) t += "{a: "; return t; }()}}) {
    std::ofstream(dir / name) << text << "\n";
    const std::string msg = load_error((dir / name).string());
    EXPECT_EQ(msg.rfind((dir / name).string() + ":", 0), 0u) << msg;
    EXPECT_NE(msg.find(": YAML nested more than "), std::string::npos) << msg;
    EXPECT_NE(msg.find(" levels deep (a config needs three)"), std::string::npos) << msg;
  }
}

TEST(ConfigYaml, ToYamlRoundTripsExactly) {
  const fs::path dir = vifi::test::scratch_dir();
  Config c = load_config(fixture("nested/grandchild.yaml"),
                         {"TRAIN.LR", "0.1", "AUG.LABEL_SMOOTH", "0.3", "SEED", "-7",
                          "TRAIN.WEIGHT_DECAY", "1", "TRAINER.ViFi_CLIP.ZS_EVAL", "True"});
  c.trainer.ctx_init = "quote \" back\\slash\ttab\nnewline: # not a comment";
  c.data.dataset = "";
  c.model.drop_path_rate = 1.0 / 3.0;
  write(dir / "resolved.yaml", vifi::to_yaml(c));
  const Config back = load_config((dir / "resolved.yaml").string());
  EXPECT_TRUE(vifi::same_config(c, back)) << vifi::to_yaml(back);
  EXPECT_EQ(back.trainer.ctx_init, c.trainer.ctx_init);
  EXPECT_EQ(back.model.drop_path_rate, c.model.drop_path_rate);
  EXPECT_EQ(vifi::to_yaml(back), vifi::to_yaml(c));
  // Defaults too (relative default LABEL_LIST becomes absolute once, then stays).
  write(dir / "empty.yaml", "");
  const Config defaults = load_config((dir / "empty.yaml").string());
  write(dir / "defaults.yaml", vifi::to_yaml(defaults));
  EXPECT_TRUE(vifi::same_config(defaults, load_config((dir / "defaults.yaml").string())));
  fs::remove_all(dir);
}

TEST(ConfigYaml, ToYamlLayout) {
  const std::string text = vifi::to_yaml(Config{});
  EXPECT_NE(text.find("TRAINER:\n  ViFi_CLIP:\n    PROMPT_MODEL: false\n"), std::string::npos);
  EXPECT_NE(text.find("  LR: 8e-06\n"), std::string::npos);
  EXPECT_NE(text.find("  WEIGHT_DECAY: 0.001\n"), std::string::npos);
  EXPECT_NE(text.find("\nSEED: 1024\n"), std::string::npos);
  EXPECT_NE(text.find("  ARCH: \"ViT-B/32\"\n"), std::string::npos);
}

// Every YAML shipped under configs/ parses, and every file it names exists (DATA.ROOT is the
// user's; OUTPUT/RESUME/PRETRAINED are not data files of the repository).
TEST(ShippedConfigs, ParseAndNameExistingFiles) {
  const fs::path configs = fs::path(VIFI_SOURCE_DIR) / "configs";
  // Not shipped (the reference's K400 train list was not available): datasets/k400.yaml says so.
  const std::set<fs::path> known_missing = {configs / "splits" / "k400_splits" / "train.txt"};
  int parsed = 0;
  for (const auto& entry : fs::recursive_directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    const Config c = load_config(entry.path().string());
    ++parsed;
    for (const auto* file : {&c.data.train_file, &c.data.val_file, &c.data.label_list}) {
      ASSERT_FALSE(file->empty());
      const fs::path p = fs::path(*file).lexically_normal();
      if (known_missing.count(p)) continue;
      EXPECT_TRUE(fs::is_regular_file(p)) << p;
    }
  }
  EXPECT_GE(parsed, 49);  // k400 train/fully supervised, zero-shot eval, base2novel, few-shot, datasets
  const Config full = load_config((configs / "k400_fullft.yaml").string());
  EXPECT_EQ(full.model.arch, "ViT-B/16");
  EXPECT_EQ(full.data.num_frames, 16);
  EXPECT_DOUBLE_EQ(full.train.lr, 2.2e-5);
  EXPECT_EQ(full.train.global_batch, 512);  // the reference's 8 GPUs x 4 x accumulation 16
  EXPECT_EQ(full.train.accumulation_steps, 1);
  EXPECT_TRUE(full.test.multi_view_inference);
  const Config zs_text =
      load_config((configs / "zero_shot/train/k400/16_32_text_tuned_clip.yaml").string());
  EXPECT_EQ(zs_text.trainer.use, vifi::EncoderUse::text);
  EXPECT_EQ(zs_text.data.num_frames, 32);
  EXPECT_EQ(zs_text.train.epochs, 10);
}

}  // namespace

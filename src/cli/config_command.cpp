// `vifi config keys [PREFIX]`: every config key with its type, default and one-line help (the key
// table of config/config, the one place they are defined). `vifi config show --config C.yaml
// [--opts KEY VALUE ...]`: the config a run would use, BASE files and --opts applied, as the YAML
// a run writes to OUTPUT/config.yaml.
#include <cctype>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "vifi/config/config.h"
#include "vifi/config/config_yaml.h"

namespace vifi::cli {
namespace {

struct ConfigCommandOptions {
  std::string prefix;             // keys: only names starting with it ("DATA", "TRAIN.LR")
  std::string config;             // show: the YAML file
  std::vector<std::string> opts;  // show: KEY VALUE pairs
};

// Whether `text` begins with `prefix`, any case.
bool begins_with(const std::string& text, const std::string& prefix) {
  if (prefix.size() > text.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != std::toupper(static_cast<unsigned char>(prefix[i]))) return false;
  }
  return true;
}

// Whether `name` is `prefix` itself or inside it, matched by whole dotted parts, any case:
// "TRAIN" selects TRAIN.EPOCHS but not TRAINER.*.
bool within(const std::string& name, const std::string& prefix) {
  return begins_with(name, prefix) && (prefix.empty() || prefix.size() == name.size() || name[prefix.size()] == '.');
}

// For a prefix that selects nothing: the shortest section or key it begins ("DAT" -> DATA), else
// the key nearest by edit distance.
std::string suggestion(const std::string& prefix) {
  std::string best;
  for (const ConfigKey& key : config_keys()) {
    for (size_t end = key.name.find('.');; end = key.name.find('.', end + 1)) {
      const std::string part = key.name.substr(0, end);
      if (begins_with(part, prefix) && (best.empty() || part.size() < best.size())) best = part;
      if (end == std::string::npos) break;
    }
  }
  return best.empty() ? closest_config_key(prefix) : best;
}

void run_keys(const ConfigCommandOptions& o) {
  const Config defaults;
  int shown = 0;
  for (const ConfigKey& key : config_keys()) {
    if (!within(key.name, o.prefix)) continue;
    const std::string value = key.format(defaults);
    std::cout << key.name << " = " << (value.empty() ? "\"\"" : value) << "   [" << expected_type(key) << "]\n"
              << "    " << key.help << "\n";
    ++shown;
  }
  if (shown == 0) {
    throw std::runtime_error("config keys: no key starts with '" + o.prefix + "' (did you mean " + suggestion(o.prefix) +
                             "?)");
  }
}

void run_show(const ConfigCommandOptions& o) { std::cout << to_yaml(load_config(o.config, o.opts)); }

}  // namespace

void add_config_command(CLI::App& app) {
  auto o = std::make_shared<ConfigCommandOptions>();
  auto* config_app = app.add_subcommand("config", "Config keys with their defaults and meaning, and the config a run would use");
  config_app->require_subcommand(1);
  auto* keys = config_app->add_subcommand("keys", "Every config key: default, type and what it does");
  keys->add_option("prefix", o->prefix, "Only keys in this section or key, e.g. DATA or TRAIN.LR (any case)");
  keys->callback([o] { run_keys(*o); });
  auto* show = config_app->add_subcommand("show", "The resolved config (BASE files, then --opts) as a run writes it");
  show->add_option("--config", o->config, "YAML config")->required()->check(CLI::ExistingFile);
  show->add_option("--opts", o->opts, "KEY VALUE pairs applied after the file, as train takes them");
  show->callback([o] { run_show(*o); });
}

}  // namespace vifi::cli

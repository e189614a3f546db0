// YAML walking for config files: BASE inheritance with cycle detection, nested sections to dotted
// keys, node-kind errors. Values are set through vifi::ConfigBuilder.
#include "vifi/config/config_yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace vifi {
namespace fs = std::filesystem;
using vifi::ConfigError;

namespace {

std::string where(const std::string& file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? file : file + ":" + std::to_string(mark.line + 1);
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "null";
  return "'" + node.Scalar() + "'";
}

YAML::Node parse_file(const std::string& file) {
  try {
    return YAML::LoadFile(file);
  } catch (const YAML::DeepRecursion& e) {  // a ParserException whose message says only "bad file"
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": YAML nested more than " +
                      std::to_string(e.depth() - 1) + " levels deep (a config needs three)");
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) +
                      ": YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ": cannot read: " + e.what());
  }
}

class YamlMerger {
 public:
  explicit YamlMerger(vifi::ConfigBuilder& builder) : builder_(builder) {}

  // referrer: "a.yaml:3" for a BASE entry, empty for the file named on the command line.
  // The filesystem calls use error codes: a path the system refuses (a name too long, a
  // component that is a file) is a config error naming the file, not a filesystem_error.
  void merge_file(const std::string& file, const std::string& referrer) {
    const std::string what = referrer.empty() ? "config file" : referrer + ": BASE: file";
    std::error_code error;
    if (!fs::is_regular_file(file, error)) {
      const bool missing = !error || error == std::errc::no_such_file_or_directory;
      throw ConfigError(what + (missing ? " not found: " : " cannot be read (" + error.message() + "): ") + file);
    }
    const fs::path canonical = fs::weakly_canonical(file, error);
    const fs::path absolute = error ? fs::path() : fs::absolute(file, error);
    if (error) throw ConfigError(what + " cannot be resolved (" + error.message() + "): " + file);
    if (std::find(stack_.begin(), stack_.end(), canonical) != stack_.end())
      throw ConfigError(referrer + ": BASE cycle: " + cycle_text(canonical));
    stack_.push_back(canonical);
    dirs_.push_back(absolute.parent_path());
    const YAML::Node root = parse_file(file);
    if (!root.IsNull() && !root.IsMap())
      throw ConfigError(file + ": expected a mapping of config keys, got " + describe(root));
    if (root.IsMap()) {
      merge_bases(file, root);
      merge_section(file, "", root);
    }
    stack_.pop_back();
    dirs_.pop_back();
  }

 private:
  std::string cycle_text(const fs::path& again) const {
    std::string text;
    auto it = std::find(stack_.begin(), stack_.end(), again);
    for (; it != stack_.end(); ++it) text += it->string() + " -> ";
    return text + again.string();
  }

  void merge_bases(const std::string& file, const YAML::Node& root) {
    const YAML::Node bases = root["BASE"];
    if (!bases || bases.IsNull()) return;
    if (!bases.IsSequence() && !bases.IsScalar())
      throw ConfigError(where(file, bases) + ": BASE: expected a list of paths, got " +
                        describe(bases));
    const fs::path dir = fs::path(file).parent_path();
    auto merge_one = [&](const YAML::Node& entry) {
      if (!entry.IsScalar())
        throw ConfigError(where(file, entry) + ": BASE: expected a path, got " + describe(entry));
      if (entry.Scalar().empty()) return;  // the reference's default BASE is ['']
      merge_file((dir / entry.Scalar()).lexically_normal().string(), where(file, entry));
    };
    if (bases.IsScalar()) return merge_one(bases);
    for (const auto& entry : bases) merge_one(entry);
  }

  void merge_section(const std::string& file, const std::string& prefix, const YAML::Node& map) {
    for (const auto& item : map) {
      const std::string name = item.first.Scalar();
      if (prefix.empty() && name == "BASE") continue;
      merge_entry(where(file, item.first), prefix.empty() ? name : prefix + "." + name,
                  item.second, file);
    }
  }

  // origin: "file:line" of the key.
  void merge_entry(const std::string& origin, const std::string& name, const YAML::Node& value,
                   const std::string& file) {
    if (const vifi::ConfigKey* key = vifi::find_config_key(name))
      return merge_leaf(origin, *key, value);
    const bool section = vifi::is_config_section(name);
    // A misspelt section: report its first key in full ("TRAINR.EPOCHS" -> TRAIN.EPOCHS).
    if (!section && (!value.IsMap() || value.size() == 0))
      throw ConfigError(vifi::unknown_key_message(origin, name));
    if (value.IsNull()) return;  // "TEST:" with nothing under it
    if (!value.IsMap())
      throw ConfigError(origin + ": " + name + ": expected a mapping of " + name + ".* keys, got " +
                        describe(value));
    merge_section(file, name, value);
  }

  void merge_leaf(const std::string& origin, const vifi::ConfigKey& key, const YAML::Node& value) {
    const bool textual = key.type == vifi::ValueType::string || key.type == vifi::ValueType::path;
    if (value.IsNull() && textual) return builder_.set(key, "", source(origin));
    if (!value.IsScalar())
      throw ConfigError(vifi::type_error_message(origin, key, describe(value)));
    builder_.set(key, value.Scalar(), source(origin));
  }

  vifi::ConfigSource source(const std::string& origin) const { return {origin, dirs_.back()}; }

  vifi::ConfigBuilder& builder_;
  std::vector<fs::path> stack_;  // files being merged, outermost first (cycle detection)
  std::vector<fs::path> dirs_;   // their directories as named: relative paths resolve here
};

}  // namespace

void merge_yaml_file(vifi::ConfigBuilder& builder, const std::string& path) {
  YamlMerger(builder).merge_file(path, "");
}

vifi::Config load_config(const std::string& path, const std::vector<std::string>& opts,
                          const vifi::ConfigFlags& flags) {
  vifi::ConfigBuilder builder;
  merge_yaml_file(builder, path);
  builder.apply_opts(opts);
  builder.apply_flags(flags);
  return builder.finish();
}

}  // namespace vifi

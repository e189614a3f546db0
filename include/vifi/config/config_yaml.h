// Reading YAML config files (yaml-cpp) into vifi::Config, the reference's way:
// `BASE: [paths]` files first (relative to the including file, recursively, in order; a cycle is
// an error), then the file's own keys (later overrides earlier), then --opts KEY VALUE pairs, then
// the command-line flags. Keys, types, suggestions and validation come from config/config's key
// table; this file only walks YAML nodes. Errors name the file and line, the full dotted key, and
// what was expected.
#pragma once
#include <string>
#include <vector>

#include "vifi/config/config.h"

namespace vifi {

// Merges `path` and its BASE files into `builder`. Throws vifi::ConfigError.
void merge_yaml_file(vifi::ConfigBuilder& builder, const std::string& path);

// defaults <- path (with BASE) <- opts <- flags, then validated.
vifi::Config load_config(const std::string& path, const std::vector<std::string>& opts = {},
                          const vifi::ConfigFlags& flags = {});

}  // namespace vifi

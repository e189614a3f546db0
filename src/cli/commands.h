// One registration function per subcommand; each lives in src/cli/<name>_command.cpp and
// attaches its options and callback to the root app. Only implemented commands are registered,
// so --help lists exactly what exists.
#pragma once
#include <CLI/CLI.hpp>

namespace vifi::cli {

void add_embed_command(CLI::App& app);


}  // namespace vifi::cli

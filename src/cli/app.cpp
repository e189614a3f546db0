// Root of the CLI: global flags, subcommand registration, error reporting.
#include "app.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

#include "commands.h"

namespace vifi::cli {

int run(int argc, char** argv) {
  CLI::App app{"vifi: fine-tune CLIP on videos (ViFi-CLIP, CVPR 2023) with LibTorch"};
  app.set_version_flag("--version", std::string("vifi ") + VIFI_VERSION);
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "vifi: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace vifi::cli

// Root of the CLI: global flags, subcommand registration, error reporting.
#include "app.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <exception>
#include <iostream>

#include "commands.h"
#include "vifi/util/error_message.h"
#include "vifi/util/logging.h"

namespace vifi::cli {
namespace {

// Library code logs through util::log; the CLI routes it to spdlog on stderr, so stdout carries
// only results (token ids, tables, JSON) that scripts can parse.
void install_log_sink() {
  if (!spdlog::get("vifi")) spdlog::set_default_logger(spdlog::stderr_color_mt("vifi"));
  spdlog::set_pattern("[%H:%M:%S] [%^%l%$] %v");
  util::set_log_sink([](util::LogLevel level, const std::string& message) {
    switch (level) {
      case util::LogLevel::debug: spdlog::debug(message); break;
      case util::LogLevel::info: spdlog::info(message); break;
      case util::LogLevel::warn: spdlog::warn(message); break;
      case util::LogLevel::error: spdlog::error(message); break;
    }
  });
}

}  // namespace

int run(int argc, char** argv) {
  install_log_sink();
  // Past a file-size limit (ulimit -f) a write fails with EFBIG, reported like a full disk,
  // instead of SIGXFSZ killing the run mid-checkpoint.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"vifi: fine-tune CLIP on videos (ViFi-CLIP, CVPR 2023) with LibTorch"};
  app.set_version_flag("--version", std::string("vifi ") + VIFI_VERSION);
  app.require_subcommand(1);
  add_demo_command(app);
  add_train_command(app);
  add_embed_command(app);
  add_tokenize_command(app);
  add_data_command(app);
  add_bench_command(app);
  add_eval_command(app);
  add_launch_command(app);
  add_predict_command(app);
  add_explain_command(app);
  add_plot_command(app);
  add_prompt_command(app);
  add_export_command(app);
  add_search_index_command(app);
  add_search_command(app);
  add_serve_command(app);
  add_config_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "vifi: error: " << util::error_message(e) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace vifi::cli

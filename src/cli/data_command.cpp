// `vifi data ...`: dataset utilities.
//   fewshot  K videos per class from an annotation list, seeded, written atomically
//   check    open every video of a list and report each bad one (exit 1 if any)
//   synth    synthetic videos (registered by add_data_synth_command, data/synthetic)
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "vifi/config/config_yaml.h"
#include "vifi/data/check.h"
#include "vifi/data/dataset.h"
#include "vifi/data/labels.h"

namespace vifi::cli {
namespace {

struct FewshotOptions {
  std::string list;
  std::string labels;
  std::string out;
  int64_t shots = 0;
  uint64_t seed = 0;
};

void run_fewshot(const FewshotOptions& o) {
  const auto records = data::load_annotation_list(o.list);
  const int64_t num_classes = o.labels.empty() ? 0 : static_cast<int64_t>(data::load_class_names(o.labels).size());
  if (num_classes > 0) data::check_labels(records, num_classes, o.list);
  const auto subset = data::fewshot_subset(records, o.shots, o.seed, num_classes);
  data::write_annotation_list(o.out, subset);
  std::cout << "wrote " << subset.size() << " videos (" << o.shots << " per class, "
            << subset.size() / static_cast<size_t>(o.shots) << " classes, seed " << o.seed << ") to " << o.out << "\n";
}

void add_fewshot_command(CLI::App& data_app) {
  auto o = std::make_shared<FewshotOptions>();
  auto* cmd = data_app.add_subcommand("fewshot", "Write a K-shot subset of an annotation list (K videos per class)");
  cmd->add_option("--list", o->list, "Annotation list to draw from (\"relative/path label\" lines)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--shots", o->shots, "Videos per class (K)")
      ->required()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--seed", o->seed, "Seed of the draw; the same seed gives the same subset")->capture_default_str();
  cmd->add_option("--out", o->out, "Output list (written atomically)")->required();
  cmd->add_option("--labels", o->labels,
                  "Label CSV or class-name list: every one of its classes must have K videos (default: classes "
                  "0..max label)")
      ->check(CLI::ExistingFile);
  cmd->callback([o] { run_fewshot(*o); });
}

struct CheckCommandOptions {
  std::string list;
  std::string config;
  std::string root;
  std::string labels;
  int threads = 4;
  bool decode = false;
};

// Checks one list; returns the number of bad videos.
size_t check_list(const std::string& list, const std::string& root, const data::CheckOptions& options) {
  const auto records = data::load_annotation_list(list, root);
  const data::CheckReport report = data::check_videos(records, options);
  for (const auto& p : report.problems) {
    std::cout << "BAD " << p.path << " (" << list << " video " << p.index + 1 << "): " << p.reason << "\n";
  }
  std::cout << list << ": checked " << report.num_videos << " videos: " << report.num_ok << " ok, "
            << report.problems.size() << " bad; " << report.total_frames << " frames in the readable ones\n";
  return report.problems.size();
}

void run_check(const CheckCommandOptions& o) {
  data::CheckOptions options;
  options.num_threads = o.threads;
  options.decode_ends = o.decode;
  size_t bad = 0;
  if (!o.config.empty()) {
    // The lists a run would read, under its DATA.ROOT, labels checked against NUM_CLASSES.
    const auto config = load_config(o.config);
    options.num_classes = config.data.num_classes;
    for (const auto& list : {config.data.train_file, config.data.val_file})
      if (!list.empty()) bad += check_list(list, config.data.root, options);
  } else {
    if (o.list.empty()) throw std::runtime_error("data check: give --config or --list");
    if (!o.labels.empty()) options.num_classes = static_cast<int64_t>(data::load_class_names(o.labels).size());
    bad += check_list(o.list, o.root, options);
  }
  if (bad > 0) throw CLI::RuntimeError(1);  // exit code 1, nothing more printed
}

void add_check_command(CLI::App& data_app) {
  auto o = std::make_shared<CheckCommandOptions>();
  auto* cmd = data_app.add_subcommand("check", "Open every video of a list and report each bad one (exit 1 if any)");
  cmd->add_option("--config", o->config, "Run config: check DATA.TRAIN_FILE and DATA.VAL_FILE under DATA.ROOT")
      ->check(CLI::ExistingFile);
  cmd->add_option("--list", o->list, "Annotation list (\"relative/path label\" lines), instead of --config")
      ->check(CLI::ExistingFile);
  cmd->add_option("--root", o->root, "DATA.ROOT: directory the list's paths are relative to");
  cmd->add_option("--labels", o->labels, "Label CSV or class-name list: labels must be below its class count")
      ->check(CLI::ExistingFile);
  cmd->add_option("--threads", o->threads, "Videos opened in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--decode", o->decode, "Also decode each video's first and last frame (slower, catches truncation)");
  cmd->callback([o] { run_check(*o); });
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* data_app = app.add_subcommand("data", "Dataset utilities: few-shot subsets, health checks, synthetic videos");
  data_app->require_subcommand(1);
  add_fewshot_command(*data_app);
  add_check_command(*data_app);
  add_data_synth_command(*data_app);
}

}  // namespace vifi::cli

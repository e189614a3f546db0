// `vifi data ...`: dataset utilities.
//   index    labels.csv, train.txt, val.txt from a class-per-folder tree (data/class_folders)
//   frames   a video's sampled frames as PNGs and a contact sheet (data/clip_frames, viz/contact_sheet)
//   fewshot  K videos per class from an annotation list, seeded, written atomically
//   check    open every video of a list and report each bad one (exit 1 if any)
//   synth    synthetic videos (registered by add_data_synth_command, data/synthetic)
//   prepare  re-encode a dataset for fast decoding (add_data_prepare_command, data/prepare)
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "vifi/config/config_yaml.h"
#include "vifi/data/check.h"
#include "vifi/data/class_folders.h"
#include "vifi/data/clip_frames.h"
#include "vifi/data/dataset.h"
#include "vifi/data/labels.h"
#include "vifi/data/video_reader.h"
#include "vifi/experiment/adapters.h"
#include "vifi/util/logging.h"
#include "vifi/util/parse_number.h"
#include "vifi/viz/contact_sheet.h"

namespace vifi::cli {
namespace {

// A path as a shell word: quoted when it holds anything but plain path characters.
std::string shell_word(const std::string& text) {
  const bool plain = !text.empty() && text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                             "0123456789_-./+:=,@%") == std::string::npos;
  if (plain) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A run folder name for the printed train command: ROOT's last component ("/data/ucf101/" -> "ucf101").
std::string run_name(const std::string& root) {
  auto p = std::filesystem::path(root).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string name = p.filename().string();
  return name.empty() || name == "." || name == ".." ? "mine" : name;
}

struct IndexOptions {
  std::string root;
  std::string out;
  double val_fraction = 0.2;
  uint64_t seed = 0;
};

// A skip that is the tree's layout, counted by kind; any other (a broken link, a loop, a folder
// that cannot be read) is a problem to fix and is listed by name.
bool ordinary_skip(const std::string& reason) {
  return reason == "hidden file" || reason == "hidden folder" || reason == "no extension" ||
         reason == "outside a class folder" || reason == "video outside a class folder" ||
         reason == "the output folder" || reason.rfind("not a video extension", 0) == 0;
}

// "12 files skipped: 8 not a video extension (.txt), 4 hidden file; e.g. A/notes.txt, ..." and
// then one line per problem.
void print_skipped(const std::vector<data::SkippedFile>& skipped) {
  if (skipped.empty()) return;
  std::map<std::string, size_t> by_reason;
  std::vector<const data::SkippedFile*> problems;
  for (const auto& s : skipped) {
    if (ordinary_skip(s.reason)) {
      ++by_reason[s.reason];
    } else {
      problems.push_back(&s);
    }
  }
  std::cout << "  skipped " << skipped.size() << " files or folders:";
  std::string sep = " ";
  for (const auto& [reason, n] : by_reason) {
    std::cout << sep << n << " " << reason;
    sep = ", ";
  }
  if (!problems.empty()) std::cout << sep << problems.size() << " that need a look (below)";
  std::cout << "\n    e.g.";
  for (size_t i = 0; i < skipped.size() && i < 5; ++i) std::cout << (i ? ", " : " ") << skipped[i].relative;
  std::cout << (skipped.size() > 5 ? ", ..." : "") << "\n";
  for (const auto* p : problems) std::cout << "  SKIPPED " << p->relative << ": " << p->reason << "\n";
}

void run_index(const IndexOptions& o) {
  data::ClassFolderOptions options;
  options.val_fraction = o.val_fraction;
  options.seed = o.seed;
  options.exclude_dir = o.out;
  const auto index = data::index_class_folders(o.root, options);
  for (const auto& w : index.warnings) util::log_warn(w);
  const auto paths = data::write_class_folder_index(o.out, index);

  const auto [fewest, most] = std::minmax_element(index.videos_per_class.begin(), index.videos_per_class.end());
  const size_t classes = index.class_names.size();
  const std::string per_class =
      *fewest == *most ? std::to_string(*most) : std::to_string(*fewest) + " to " + std::to_string(*most);
  std::cout << o.root << ": " << classes << " classes, " << index.train.size() + index.val.size() << " videos ("
            << per_class << " per class)\n"
            << "  train.txt " << index.train.size() << " videos, val.txt " << index.val.size()
            << " videos (stratified: val fraction " << o.val_fraction << " of each class, seed " << o.seed << ")\n"
            << "  classes: 0 '" << index.class_names.front() << "'"
            << (classes > 1 ? " ... " + std::to_string(classes - 1) + " '" + index.class_names.back() + "'" : "")
            << "\n";
  print_skipped(index.skipped);
  std::cout << "wrote " << paths[0] << ", " << paths[1] << ", " << paths[2] << "\n";
  const std::string labels = shell_word(paths[0]), train = shell_word(paths[1]), val = shell_word(paths[2]);
  const std::string root = shell_word(o.root);
  std::cout << "next:\n"
            << "  vifi data check --list " << train << " --root " << root << " --labels " << labels << "\n"
            << "  vifi data check --list " << val << " --root " << root << " --labels " << labels << "\n"
            << "  vifi train --config configs/k400_fullft.yaml --pretrained ViT-B-16.pt --output runs/"
            << shell_word(run_name(o.root))
            << " --opts DATA.ROOT " << root << " DATA.TRAIN_FILE " << train << " DATA.VAL_FILE " << val
            << " DATA.LABEL_LIST " << labels << " DATA.NUM_CLASSES " << classes << "\n";
}

void add_index_command(CLI::App& data_app) {
  auto o = std::make_shared<IndexOptions>();
  auto* cmd = data_app.add_subcommand(
      "index", "Write labels.csv, train.txt and val.txt from a class-per-folder tree (ROOT/<class>/<videos>)");
  cmd->add_option("root", o->root,
                  "DATA.ROOT: each immediate subfolder is a class ('_' reads as a space), every video below it "
                  "(any depth) one of its videos")
      ->required();
  cmd->add_option("--out", o->out, "Folder for labels.csv, train.txt and val.txt (created if missing)")->required();
  cmd->add_option("--val-fraction", o->val_fraction,
                  "Share of each class's videos that goes to val.txt (at least 1 of a class with 2 or more)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) {
            const auto v = util::parse_double(text);
            return v && *v >= 0.0 && *v < 1.0 ? std::string() : "expected a number in [0, 1), got " + text;
          },
          "in [0, 1)"));
  cmd->add_option("--seed", o->seed, "Seed of the split; the same seed and files give the same lists")
      ->capture_default_str();
  cmd->callback([o] { run_index(*o); });
}

struct FramesOptions {
  std::string video;
  std::string out;
  std::vector<int64_t> indices;
  std::string sample;
  std::optional<int64_t> frames;
  std::optional<uint64_t> seed;
  std::string config;
  bool transformed = false;
};

data::ClipFramesRequest frames_request(const FramesOptions& o) {
  const Config config = o.config.empty() ? Config{} : load_config(o.config);
  data::ClipFramesRequest request;
  request.clip = experiment::clip_config(config);
  if (o.frames) request.clip.num_frames = *o.frames;
  request.seed = o.seed ? *o.seed : static_cast<uint64_t>(config.seed);
  request.stage = o.transformed ? data::FrameStage::transformed : data::FrameStage::decoded;
  if (!o.indices.empty()) {
    request.pick = data::FramePick::indices;
    request.indices = o.indices;
  } else if (o.sample == "train") {
    request.pick = data::FramePick::train;
  } else if (o.sample == "test") {
    request.pick = data::FramePick::test;
  } else {
    throw std::runtime_error("data frames: give --indices I,J,... or --sample train|test");
  }
  return request;
}

void run_frames(const FramesOptions& o) {
  const auto request = frames_request(o);
  const auto clip = data::read_clip_frames(o.video, request);
  const auto paths = viz::write_clip_frames(o.out, clip);
  std::cout << o.video << ": " << clip.info.num_frames << " frames, " << clip.info.width << "x" << clip.info.height
            << ", " << clip.info.fps << " fps, " << clip.info.codec << "\n  indices:";
  for (const int64_t i : clip.indices) std::cout << " " << i;
  if (request.pick == data::FramePick::train) std::cout << " (train sampling, seed " << request.seed << ")";
  if (request.pick == data::FramePick::test)
    std::cout << " (test sampling, " << request.clip.num_clips << " view(s) of " << request.clip.num_frames << ")";
  std::cout << "\nwrote " << paths.size() - 1 << " frame PNGs"
            << (request.stage == data::FrameStage::transformed ? " (transformed, " : " (decoded, ")
            << clip.frames.front().rgb.cols << "x" << clip.frames.front().rgb.rows << ") and contact_sheet.png to "
            << o.out << "\n";
}

void add_frames_command(CLI::App& data_app) {
  auto o = std::make_shared<FramesOptions>();
  auto* cmd = data_app.add_subcommand(
      "frames", "Write the frames a clip of a video is made of as PNGs, plus a contact sheet (what the loader reads)");
  cmd->add_option("video", o->video, "Video file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Folder for frame_<slot>_<index>.png and contact_sheet.png")->required();
  auto* indices = cmd->add_option("--indices", o->indices, "Frame indices to write, e.g. 0,5,9")->delimiter(',');
  auto* sample = cmd->add_option("--sample", o->sample,
                                 "Pick frames as the loader does: train (random TSN segments) or test (segment "
                                 "centres, TEST.NUM_CLIP views)")
                     ->check(CLI::IsMember({"train", "test"}));
  indices->excludes(sample);
  cmd->add_option("--frames", o->frames, "Frames per clip, T (default: DATA.NUM_FRAMES, 8)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))
      ->excludes(indices);
  cmd->add_option("--seed", o->seed, "train: the run's SEED (default: the config's SEED, 1024)")->excludes(indices);
  cmd->add_flag("--transformed", o->transformed,
                "Write the frames after the transforms, as the model sees them (train: random crop, flip, colour; "
                "test and --indices: the evaluation crops), turned back into RGB");
  cmd->add_option("--config", o->config, "Run config to take DATA.NUM_FRAMES, DATA.INPUT_SIZE, AUG.*, TEST.* and SEED from")
      ->check(CLI::ExistingFile);
  cmd->callback([o] { run_frames(*o); });
}

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
  std::optional<std::string> numbering_cache;
};

// Checks one list; returns the number of bad videos.
size_t check_list(const std::string& list, const std::string& root, const data::CheckOptions& options) {
  const auto records = data::load_annotation_list(list, root);
  const data::CheckReport report = data::check_videos(records, options);
  for (const auto& p : report.problems) {
    std::cout << "BAD " << p.path << " (" << list << " video " << p.index + 1 << "): " << p.reason << "\n";
  }
  std::map<std::string, size_t> by_fault;
  for (const auto& p : report.problems) ++by_fault[p.fault];
  std::string faults;
  for (const auto& [fault, n] : by_fault) faults += (faults.empty() ? " (" : ", ") + std::to_string(n) + " " + fault;
  if (!faults.empty()) faults += ")";
  std::cout << list << ": checked " << report.num_videos << " videos: " << report.num_ok << " ok, "
            << report.problems.size() << " bad" << faults << "; " << report.total_frames
            << " frames in the readable ones\n";
  return report.problems.size();
}

void run_check(const CheckCommandOptions& o) {
  data::CheckOptions options;
  options.num_threads = o.threads;
  options.full_decode = o.decode;
  size_t bad = 0;
  if (!o.config.empty()) {
    // The lists a run would read, under its DATA.ROOT, labels checked against NUM_CLASSES.
    const auto config = load_config(o.config);
    options.num_classes = config.data.num_classes;
    options.numbering_store = data::numbering_store_dir(o.numbering_cache.value_or(config.data.numbering_cache));
    for (const auto& list : {config.data.train_file, config.data.val_file})
      if (!list.empty()) bad += check_list(list, config.data.root, options);
  } else {
    if (o.list.empty()) throw std::runtime_error("data check: give --config or --list");
    options.numbering_store = data::numbering_store_dir(o.numbering_cache.value_or(""));
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
  cmd->add_flag("--decode", o->decode, "Also decode every frame of each video through the loader's decode path (slower; flags exactly what training and evaluation would reject)");
  cmd->add_option("--numbering-cache", o->numbering_cache,
                  "With --decode: where to keep the frame numberings learned for files whose timestamps cannot number "
                  "their frames, as DATA.NUMBERING_CACHE (default: the config's, else the user's cache folder; "
                  "'none': memory only)");
  cmd->callback([o] { run_check(*o); });
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* data_app = app.add_subcommand(
      "data", "Dataset utilities: lists from class folders, sampled frames, few-shot subsets, health checks, synthetic videos, "
      "re-encoding for fast decoding");
  data_app->require_subcommand(1);
  add_index_command(*data_app);
  add_frames_command(*data_app);
  add_fewshot_command(*data_app);
  add_check_command(*data_app);
  add_data_synth_command(*data_app);
  add_data_prepare_command(*data_app);
}

}  // namespace vifi::cli

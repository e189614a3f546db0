// data/class_folders and `vifi data index`: a class-per-folder tree of mixed containers (AVI,
// MP4, MKV, WebM) with non-video and hidden files becomes labels.csv, train.txt and val.txt that
// the project's own readers load back; the split is stratified and fixed by the seed; class ids
// reproduce the official UCF-101 and Kinetics orders; bad trees fail naming the folders; and a
// `vifi train` runs on the lists.
#include "vifi/data/class_folders.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/data/check.h"
#include "vifi/data/labels.h"
#include "vifi/data/synthetic.h"

namespace fs = std::filesystem;

namespace vifi::data {
namespace {

using vifi::test::expect_error;

using test::write_text;

void write_video(const fs::path& path, int label, const std::string& codec, uint64_t seed) {
  fs::create_directories(path.parent_path());
  SyntheticVideoSpec spec;
  spec.label = label;
  spec.num_classes = 3;
  spec.num_frames = 6;
  spec.width = 48;
  spec.height = 32;
  spec.codec = codec;
  spec.seed = seed;
  write_synthetic_video(path.string(), spec);
}

std::string codec_or_mpeg4(const std::string& codec) { return synthetic_codec_available(codec) ? codec : "mpeg4"; }

// The tree the tests index:
//   brush_hair/   5 x .avi (MPEG-4) + notes.txt + .DS_Store           -> "brush hair"
//   Archery/      g01/, g02/ nested: 4 x .mp4 (H.264)                  -> "Archery"
//   air drumming/ 3 x .mkv (one named with spaces) + 1 x .webm (VP9)   -> "air drumming"
//   .DS_Store, README.txt, .cache/hidden.mp4 at the top
struct Tree {
  fs::path root;
  std::map<std::string, std::set<std::string>> videos;  // class name -> relative paths
};

Tree make_tree(const fs::path& root) {
  Tree t{root, {}};
  auto add = [&](const std::string& cls, const std::string& rel, int label, const std::string& codec, uint64_t seed) {
    write_video(root / rel, label, codec, seed);
    t.videos[cls].insert(rel);
  };
  for (int i = 0; i < 5; ++i)
    add("brush hair", "brush_hair/v_" + std::to_string(i) + ".avi", 0, "mpeg4", static_cast<uint64_t>(i));
  for (int i = 0; i < 4; ++i)
    add("Archery", "Archery/g0" + std::to_string(i % 2 + 1) + "/c" + std::to_string(i) + ".mp4", 1,
        codec_or_mpeg4("h264"), 10 + static_cast<uint64_t>(i));
  add("air drumming", "air drumming/clip 1.mkv", 2, "mpeg4", 20);
  add("air drumming", "air drumming/clip2.mkv", 2, "mpeg4", 21);
  add("air drumming", "air drumming/clip3.MKV", 2, "mpeg4", 22);  // extension case does not matter
  add("air drumming", "air drumming/x.webm", 2, codec_or_mpeg4("vp9"), 23);
  write_text(root / "brush_hair/notes.txt", "not a video");
  write_text(root / "brush_hair/.DS_Store", "finder");
  write_text(root / ".DS_Store", "finder");
  write_text(root / "README.txt", "dataset readme");
  write_video(root / ".cache/hidden.mp4", 0, "mpeg4", 99);
  return t;
}

std::set<std::string> relatives(const std::vector<VideoRecord>& records, int64_t label) {
  std::set<std::string> out;
  for (const auto& r : records)
    if (r.label == label) out.insert(r.relative);
  return out;
}

TEST(ClassFolders, PureRules) {
  EXPECT_EQ(class_name_from_folder("brush_hair"), "brush hair");
  EXPECT_EQ(class_name_from_folder("air drumming"), "air drumming");
  EXPECT_EQ(class_name_from_folder("ApplyEyeMakeup"), "ApplyEyeMakeup");
  // round(F * n), at least 1 from 2 videos on, never the whole class.
  EXPECT_EQ(validation_count(10, 0.2), 2);
  EXPECT_EQ(validation_count(5, 0.25), 1);   // 1.25
  EXPECT_EQ(validation_count(6, 0.25), 2);   // 1.5 rounds away from zero
  EXPECT_EQ(validation_count(2, 0.05), 1);   // at least one
  EXPECT_EQ(validation_count(2, 0.9), 1);    // at most n - 1
  EXPECT_EQ(validation_count(1, 0.5), 0);    // a single video stays in train
  EXPECT_EQ(validation_count(100, 0.0), 0);  // no validation asked for
}

// Ids follow the names sorted case-insensitively: the official UCF-101 (classInd.txt) and
// Kinetics-400 orders come out of their folder names.
TEST(ClassFolders, IdsReproduceUcf101AndKinetics400Orders) {
  for (const std::string file : {"ucf_101_labels.csv", "kinetics_400_labels.csv", "kinetics_600_labels.csv"}) {
    const auto official = load_label_csv(test::fixture("../../configs/labels/" + file));
    std::vector<std::string> from_folders;
    for (auto it = official.rbegin(); it != official.rend(); ++it) {  // scrambled input order
      std::string folder = *it;
      std::replace(folder.begin(), folder.end(), ' ', '_');  // a copy that spells folders with '_'
      from_folders.push_back(class_name_from_folder(folder));
    }
    EXPECT_EQ(sort_class_names(from_folders), official) << file;
  }
}

TEST(ClassFolders, LabelCsvRoundTripsAwkwardNames) {
  const std::vector<std::string> names{"brush hair", "a, b", "say \"hi\"", " padded ", "Ünïcode"};
  EXPECT_EQ(parse_label_csv(format_label_csv(names), "labels.csv"), names);
  EXPECT_EQ(format_label_csv({"x", "y z"}), "id,name\n0,x\n1,y z\n");
}

TEST(ClassFolders, IndexesMixedContainersStratifiedAndRoundTrips) {
  const auto dir = test::scratch_dir();
  const Tree tree = make_tree(dir / "videos");
  ClassFolderOptions options;
  options.val_fraction = 0.25;
  options.seed = 7;
  const auto index = index_class_folders(tree.root.string(), options);

  // Case-insensitive order: "air drumming" < "Archery" < "brush hair".
  ASSERT_EQ(index.class_names, (std::vector<std::string>{"air drumming", "Archery", "brush hair"}));
  EXPECT_EQ(index.class_folders, (std::vector<std::string>{"air drumming", "Archery", "brush_hair"}));
  EXPECT_EQ(index.videos_per_class, (std::vector<int64_t>{4, 4, 5}));
  EXPECT_EQ(index.train.size() + index.val.size(), 13u);
  for (int64_t c = 0; c < 3; ++c) {
    const auto& name = index.class_names[static_cast<size_t>(c)];
    const auto train = relatives(index.train, c), val = relatives(index.val, c);
    EXPECT_EQ(static_cast<int64_t>(val.size()), validation_count(index.videos_per_class[static_cast<size_t>(c)], 0.25))
        << name;
    std::set<std::string> all = train;
    all.insert(val.begin(), val.end());
    EXPECT_EQ(all, tree.videos.at(name)) << name;  // disjoint and complete
    EXPECT_EQ(all.size(), train.size() + val.size()) << name;
  }
  // Skipped: 2 non-videos, 2 hidden files, 1 hidden folder, each named.
  std::map<std::string, std::string> skipped;
  for (const auto& s : index.skipped) skipped[s.relative] = s.reason;
  EXPECT_EQ(skipped.size(), 5u);
  EXPECT_EQ(skipped["brush_hair/notes.txt"], "not a video extension (.txt)");
  EXPECT_EQ(skipped["brush_hair/.DS_Store"], "hidden file");
  EXPECT_EQ(skipped[".DS_Store"], "hidden file");
  EXPECT_EQ(skipped["README.txt"], "outside a class folder");
  EXPECT_EQ(skipped[".cache/"], "hidden folder");
  EXPECT_TRUE(index.warnings.empty());

  // The written files load through the project's readers with the same content, and every video
  // opens (paths with spaces included).
  const auto out = dir / "lists";
  write_class_folder_index(out.string(), index);
  EXPECT_EQ(load_label_csv((out / "labels.csv").string()), index.class_names);
  const auto train = load_annotation_list((out / "train.txt").string(), tree.root.string());
  const auto val = load_annotation_list((out / "val.txt").string(), tree.root.string());
  ASSERT_EQ(train.size(), index.train.size());
  ASSERT_EQ(val.size(), index.val.size());
  for (size_t i = 0; i < train.size(); ++i) {
    EXPECT_EQ(train[i].relative, index.train[i].relative);
    EXPECT_EQ(train[i].label, index.train[i].label);
  }
  EXPECT_TRUE(relatives(train, 0).count("air drumming/clip 1.mkv") + relatives(val, 0).count("air drumming/clip 1.mkv"));
  CheckOptions check;
  check.num_classes = 3;
  check.num_threads = 2;
  std::vector<VideoRecord> all = train;
  all.insert(all.end(), val.begin(), val.end());
  const auto report = check_videos(all, check);
  EXPECT_EQ(report.num_ok, 13) << (report.problems.empty() ? "" : report.problems.front().reason);
}

TEST(ClassFolders, SplitIsFixedBySeed) {
  const auto dir = test::scratch_dir();
  for (int i = 0; i < 10; ++i) write_text(dir / "videos/a" / ("v" + std::to_string(i) + ".avi"), "x");
  for (int i = 0; i < 6; ++i) write_text(dir / "videos/b" / ("v" + std::to_string(i) + ".mp4"), "x");
  ClassFolderOptions options;
  options.val_fraction = 0.3;
  std::set<std::set<std::string>> val_sets;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    options.seed = seed;
    const auto first = index_class_folders((dir / "videos").string(), options);
    const auto again = index_class_folders((dir / "videos").string(), options);
    EXPECT_EQ(format_annotation_list(first.val), format_annotation_list(again.val)) << "seed " << seed;
    EXPECT_EQ(format_annotation_list(first.train), format_annotation_list(again.train)) << "seed " << seed;
    EXPECT_EQ(relatives(first.val, 0).size(), 3u);
    EXPECT_EQ(relatives(first.val, 1).size(), 2u);
    val_sets.insert(relatives(first.val, 0));
  }
  EXPECT_GE(val_sets.size(), 4u);  // the seed does choose (C(10,3) = 120 possible draws)

  // A class's split depends on its own name and files only: adding a class leaves it alone.
  options.seed = 3;
  const auto before = index_class_folders((dir / "videos").string(), options);
  write_text(dir / "videos/0_first/v.avi", "x");
  const auto after = index_class_folders((dir / "videos").string(), options);
  EXPECT_EQ(relatives(after.val, 1), relatives(before.val, 0));  // "a" moved from id 0 to 1
}

TEST(ClassFolders, BadTreesFailNamingTheProblem) {
  const auto dir = test::scratch_dir();
  expect_error([&] { index_class_folders((dir / "missing").string(), {}); }, {"missing", "no such directory"});
  write_text(dir / "flat/v.avi", "x");
  expect_error([&] { index_class_folders((dir / "flat").string(), {}); }, {"flat", "no class folders"});
  write_text(dir / "empty/a/v.avi", "x");
  write_text(dir / "empty/b/readme.txt", "x");
  fs::create_directories(dir / "empty/c");
  expect_error([&] { index_class_folders((dir / "empty").string(), {}); },
               {"2 class folder(s) hold no video", "'b/ (1 other files)'", "'c/ (0 other files)'", ".mp4"});
  write_text(dir / "clash/a_b/v.avi", "x");
  write_text(dir / "clash/a b/v.avi", "x");
  expect_error([&] { index_class_folders((dir / "clash").string(), {}); }, {"'a b'", "'a_b'", "class name 'a b'"});
  write_text(dir / "quote/a/x \"y\".avi", "x");
  expect_error([&] { index_class_folders((dir / "quote").string(), {}); }, {"cannot be written", "a/x \"y\".avi"});
  // A class folder whose name starts with a quote: a list cannot hold its paths (the writer
  // refuses them since fuzz/dataset_lists_fuzzer.cpp found it wrote them unreadable).
  write_text(dir / "lead/\"a/x.avi", "x");
  expect_error([&] { index_class_folders((dir / "lead").string(), {}); }, {"cannot be written", "\"a/x.avi"});
  ClassFolderOptions all_val;
  all_val.val_fraction = 1.0;
  expect_error([&] { index_class_folders((dir / "empty/a").string(), all_val); }, {"[0, 1)"});
  // A split level above the classes is indexed as asked, with a warning saying what it looks like.
  write_text(dir / "split/train/x/v.avi", "x");
  write_text(dir / "split/val/x/v.avi", "x");
  ClassFolderOptions no_val;
  no_val.val_fraction = 0.0;
  const auto split = index_class_folders((dir / "split").string(), no_val);
  ASSERT_EQ(split.warnings.size(), 1u);
  EXPECT_NE(split.warnings[0].find("split level"), std::string::npos) << split.warnings[0];
  EXPECT_NE(split.warnings[0].find("split/train instead"), std::string::npos) << split.warnings[0];
}

// Datasets are often assembled from links to other disks; a link back up the tree made the old
// walk (std::filesystem's iterator following links) recurse until the path broke and throw.
TEST(ClassFolders, LinkedFoldersAreIndexedLoopsAndBrokenLinksSkippedWithTheirReason) {
  const auto dir = test::scratch_dir();
  const fs::path root = dir / "root";
  write_text(root / "cls/a.avi", "x");
  write_text(dir / "elsewhere/b.avi", "x");
  fs::create_directory_symlink(dir / "elsewhere", root / "cls/more");
  fs::create_directory_symlink("..", root / "cls/up");
  fs::create_symlink("none.avi", root / "cls/gone.avi");
  fs::create_directory_symlink(".", root / "all");  // at the top: not a class holding every video
  ClassFolderOptions no_val;
  no_val.val_fraction = 0.0;
  const auto index = index_class_folders(root.string(), no_val);
  EXPECT_EQ(relatives(index.train, 0), (std::set<std::string>{"cls/a.avi", "cls/more/b.avi"}));
  std::map<std::string, std::string> skipped;
  for (const auto& s : index.skipped) skipped[s.relative] = s.reason;
  EXPECT_EQ(skipped["cls/gone.avi"], "a broken symbolic link to 'none.avi', which does not exist");
  EXPECT_EQ(skipped["cls/up/"], "a link back to '" + root.string() + "', which holds it (a loop); not entered");
  EXPECT_EQ(skipped["all/"], "a link to ROOT or a folder holding it (a loop); not a class");
  EXPECT_EQ(index.class_folders, std::vector<std::string>{"cls"});
  EXPECT_EQ(index.skipped.size(), 3U);

  // The command names each problem on its own line, however many ordinary skips there are.
  for (int i = 0; i < 8; ++i) write_text(root / "cls" / ("notes" + std::to_string(i) + ".txt"), "x");
  std::string log;
  ASSERT_EQ(test::run_vifi("data index " + root.string() + " --out " + (dir / "lists").string(), &log), 0) << log;
  EXPECT_NE(log.find("8 not a video extension (.txt), 3 that need a look (below)"), std::string::npos) << log;
  EXPECT_NE(log.find("  SKIPPED cls/gone.avi: a broken symbolic link to 'none.avi', which does not exist\n"),
            std::string::npos) << log;
  EXPECT_NE(log.find("  SKIPPED cls/up/: a link back to"), std::string::npos) << log;
  EXPECT_NE(log.find("  SKIPPED all/: a link to ROOT"), std::string::npos) << log;
}

TEST(DataIndexCommand, WritesListsPrintsSummaryAndNextSteps) {
  const auto dir = test::scratch_dir();
  const Tree tree = make_tree(dir / "videos");
  const auto out = dir / "videos" / "lists";  // inside ROOT: left out of the classes, also on a second run
  std::string log;
  for (int run = 0; run < 2; ++run) {
    ASSERT_EQ(test::run_vifi("data index " + tree.root.string() + " --out " + out.string() + " --seed 3", &log), 0)
        << log;
  }
  EXPECT_NE(log.find("3 classes, 13 videos (4 to 5 per class)"), std::string::npos) << log;
  EXPECT_NE(log.find("train.txt 10 videos, val.txt 3 videos"), std::string::npos) << log;
  EXPECT_NE(log.find("skipped 6 files or folders"), std::string::npos) << log;  // + lists/
  EXPECT_NE(log.find("vifi data check --list"), std::string::npos) << log;
  EXPECT_NE(log.find("DATA.NUM_CLASSES 3"), std::string::npos) << log;
  EXPECT_EQ(load_label_csv((out / "labels.csv").string()).size(), 3u);

  // The same seed through the library gives the same files.
  ClassFolderOptions options;
  options.seed = 3;
  options.exclude_dir = out.string();
  const auto index = index_class_folders(tree.root.string(), options);
  std::ifstream val_file(out / "val.txt");
  const std::string val_text((std::istreambuf_iterator<char>(val_file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(val_text, format_annotation_list(index.val));

  // An empty class folder: exit 1, the folder named, no lists written.
  fs::create_directories(dir / "videos/Empty Class");
  const auto out2 = dir / "out2";
  EXPECT_NE(test::run_vifi("data index " + tree.root.string() + " --out " + out2.string(), &log), 0);
  EXPECT_NE(log.find("'Empty Class/ (0 other files)'"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out2));
  // --val-fraction is the whole value, a decimal in [0, 1) (strtod took "0.2x" as 0.2).
  for (const std::string bad : {"0.2x", "nan", "1", "0x0.4"}) {
    EXPECT_NE(test::run_vifi("data index " + tree.root.string() + " --out " + out2.string() + " --val-fraction " + bad, &log), 0);
    EXPECT_NE(log.find("expected a number in [0, 1), got " + bad), std::string::npos) << log;
  }
}

// index -> train: the lists `vifi data index` writes drive a real (tiny) training run.
TEST(DataIndexCommand, TrainRunsOnTheIndexedTree) {
  const auto dir = test::scratch_dir();
  const Tree tree = make_tree(dir / "my videos");
  std::string log;
  ASSERT_EQ(test::run_vifi("data index '" + tree.root.string() + "' --out " + (dir / "lists").string() +
                               " --val-fraction 0.25",
                           &log),
            0)
      << log;
  ASSERT_EQ(test::run_vifi("data check --list " + (dir / "lists/train.txt").string() + " --root '" +
                               tree.root.string() + "' --labels " + (dir / "lists/labels.csv").string(),
                           &log),
            0)
      << log;
  std::ofstream(dir / "run.yaml") << "DATA:\n  ROOT: my videos\n  TRAIN_FILE: lists/train.txt\n"
                                  << "  VAL_FILE: lists/val.txt\n  LABEL_LIST: lists/labels.csv\n  NUM_CLASSES: 3\n"
                                  << "  NUM_FRAMES: 2\n  INPUT_SIZE: 32\n  NUM_WORKERS: 2\n"
                                  << "MODEL:\n  ARCH: vifi-tiny\nTRAIN:\n  EPOCHS: 1\n  WARMUP_EPOCHS: 0\n"
                                  << "  BATCH_SIZE: 4\n  LR: 1.0e-4\nSAVE_FREQ: 1\nPRINT_FREQ: 1\n";
  ASSERT_EQ(test::run_vifi("train --config " + (dir / "run.yaml").string() + " --output " + (dir / "run").string() +
                               " --threads 1",
                           &log),
            0)
      << log;
  EXPECT_TRUE(fs::exists(dir / "run/best.pth")) << log;
  // Validation read every val.txt video, whatever its container.
  std::ifstream metrics(dir / "run/metrics.jsonl");
  const std::string text((std::istreambuf_iterator<char>(metrics)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"videos\":3"), std::string::npos) << text;
  EXPECT_NE(text.find("\"failed\":0"), std::string::npos) << text;
  EXPECT_EQ(log.find("bad video"), std::string::npos) << log;
}

}  // namespace
}  // namespace vifi::data

// data/dataset and data/labels: list and CSV parsing (errors by message), DATA.ROOT, base/novel
// relabelling as the paper lays it out, K-shot subsets; `vifi data fewshot` end to end.
#include "vifi/data/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/data/labels.h"

namespace vifi::data {
namespace {

using vifi::test::expect_error;

using test::write_text;

TEST(AnnotationList, ParsesPathsLabelsAndRoot) {
  const std::string text =
      "a/v1.avi 0\r\n"
      "\n"
      "  b/my video.avi   12  \n"
      "\"c/ spaced name .mp4\" 3\n"
      "/abs/clip.webm 4";
  const auto records = parse_annotation_list(text, "train.txt", "/data/hmdb");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].relative, "a/v1.avi");
  EXPECT_EQ(records[0].path, "/data/hmdb/a/v1.avi");
  EXPECT_EQ(records[0].label, 0);
  EXPECT_EQ(records[1].relative, "b/my video.avi");
  EXPECT_EQ(records[1].label, 12);
  EXPECT_EQ(records[1].line, 3);  // blank lines count
  EXPECT_EQ(records[2].relative, "c/ spaced name .mp4");
  EXPECT_EQ(records[2].path, "/data/hmdb/c/ spaced name .mp4");
  EXPECT_EQ(records[3].path, "/abs/clip.webm");
  EXPECT_EQ(parse_annotation_list("x.avi 1\n", "l.txt").front().path, "x.avi");
}

TEST(AnnotationList, BadLinesNameFileLineAndText) {
  expect_error([] { parse_annotation_list("a.avi 0\n\nlonely.avi\n", "train.txt"); },
               {"train.txt:3:", "expected 'relative/path label'", "lonely.avi"});
  expect_error([] { parse_annotation_list("a.avi zero\n", "val.txt"); }, {"val.txt:1:", "integer label", "a.avi zero"});
  expect_error([] { parse_annotation_list("a.avi -1\n", "val.txt"); }, {"val.txt:1:", "non-negative"});
  expect_error([] { parse_annotation_list("\"a b.avi 1\n", "val.txt"); }, {"val.txt:1:", "unterminated"});
  expect_error([] { parse_annotation_list("\"a b.avi\" 1 2\n", "val.txt"); }, {"val.txt:1:"});
  expect_error([] { load_annotation_list("/nonexistent/list.txt"); }, {"/nonexistent/list.txt", "cannot open"});
}

TEST(AnnotationList, FormatRoundTripsAndQuotesSpaces) {
  const std::vector<VideoRecord> records{{"", "a/v1.avi", 0}, {"", "b/my video.avi", 7}, {"", " lead.avi", 2}};
  const std::string text = format_annotation_list(records);
  EXPECT_EQ(text, "a/v1.avi 0\n\"b/my video.avi\" 7\n\" lead.avi\" 2\n");
  const auto back = parse_annotation_list(text, "x");
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back[i].relative, records[i].relative);
    EXPECT_EQ(back[i].label, records[i].label);
  }
  EXPECT_THROW(format_annotation_list({{"", "bad \"name.avi", 0}}), std::invalid_argument);
  // Found by fuzz/dataset_lists_fuzzer.cpp: a first path starting with U+FEFF was written bare and
  // read back as the file's byte-order mark, and a path starting with a quote (a class folder can
  // be named so) was written as ""x" and not read back at all.
  const std::vector<VideoRecord> bom{{"", "\xEF\xBB\xBF" "clip.avi", 2}, {"", "b.avi", 1}};
  EXPECT_EQ(format_annotation_list(bom), "\"\xEF\xBB\xBF" "clip.avi\" 2\nb.avi 1\n");
  const auto bom_back = parse_annotation_list(format_annotation_list(bom), "x");
  ASSERT_EQ(bom_back.size(), 2u);
  EXPECT_EQ(bom_back[0].relative, bom[0].relative);
  EXPECT_THROW(format_annotation_list({{"", "\"quoted.avi", 0}}), std::invalid_argument);
}

TEST(AnnotationList, VideoListsTakeAPathAloneInTheSameSyntax) {
  // Annotation lists as written (quoted paths included) and bare paths, as `vifi index
  // --videos-from` reads them.
  const std::vector<VideoRecord> written{{"", "air drumming/-abc_000010.mp4", 3}, {"", "a/v1.avi", 0}};
  const std::string text = format_annotation_list(written) +
                           "b/plain.mp4\n"
                           "  c/my video.mp4  \n"
                           "\"d/ spaced .mp4\"\n"
                           "e/take 2.mp4 7\n"
                           "/abs/clip.webm\n";
  const auto records = parse_annotation_list(text, "videos.txt", "/data", ListLabels::optional);
  ASSERT_EQ(records.size(), 7u);
  const std::vector<std::pair<std::string, int64_t>> expected{
      {"/data/air drumming/-abc_000010.mp4", 3}, {"/data/a/v1.avi", 0},       {"/data/b/plain.mp4", kNoLabel},
      {"/data/c/my video.mp4", kNoLabel},        {"/data/d/ spaced .mp4", kNoLabel}, {"/data/e/take 2.mp4", 7},
      {"/abs/clip.webm", kNoLabel}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(records[i].path, expected[i].first) << i;
    EXPECT_EQ(records[i].label, expected[i].second) << i;
  }
  // An annotation list still needs its labels; a video list keeps the other faults.
  expect_error([] { parse_annotation_list("b/plain.mp4\n", "train.txt"); }, {"train.txt:1:", "expected 'relative/path label'"});
  expect_error([] { parse_annotation_list("\"a b.avi\n", "v.txt", "", ListLabels::optional); }, {"v.txt:1:", "unterminated"});
  expect_error([] { parse_annotation_list("\"a b.avi\" 1 2\n", "v.txt", "", ListLabels::optional); },
               {"v.txt:1:", "expected 'relative/path' or 'relative/path label'"});
  expect_error([] { parse_annotation_list("\"a b.avi\" x\n", "v.txt", "", ListLabels::optional); },
               {"v.txt:1:", "non-negative integer label"});
  expect_error([] { parse_annotation_list("\"\" 1\n", "v.txt", "", ListLabels::optional); }, {"v.txt:1:", "empty path"});
}

TEST(LabelCsv, ParsesThePapersFormat) {
  // CRLF as in labels/hmdb_51_labels.csv; quoted names with commas as in ssv2_labels.csv.
  const std::string text =
      "id,name\r\n0,brush hair\r\n1,\"Removing something, revealing something behind\"\r\n2,\"say \"\"hi\"\"\"\r\n";
  const auto names = parse_label_csv(text, "labels.csv");
  EXPECT_EQ(names,
            (std::vector<std::string>{"brush hair", "Removing something, revealing something behind", "say \"hi\""}));
  // Rows in any order; ids place them.
  EXPECT_EQ(parse_label_csv("id,name\n1,b\n0,a\n", "x.csv"), (std::vector<std::string>{"a", "b"}));
  // Whitespace around ids and the header, and whitespace-only lines, are ignored: tabs, vertical
  // tabs and form feeds as well as spaces (the same trim as annotation lists); names keep theirs.
  EXPECT_EQ(parse_label_csv(" id ,\tname\f\n\v\f \n\v1\t,b\n 0\f,a \n", "x.csv"),
            (std::vector<std::string>{"a ", "b"}));
}

TEST(LabelCsv, ErrorsNameTheProblem) {
  expect_error([] { parse_label_csv("0,a\n1,b\n", "l.csv"); }, {"l.csv:1:", "header 'id,name'"});
  expect_error([] { parse_label_csv("id,name\n0,a\n0,b\n", "l.csv"); }, {"l.csv:3:", "duplicate id 0", "line 2"});
  expect_error([] { parse_label_csv("id,name\n0,a\n2,c\n", "l.csv"); }, {"l.csv", "id 1 is missing"});
  expect_error([] { parse_label_csv("id,name\nx,a\n", "l.csv"); }, {"l.csv:2:", "integer id"});
  expect_error([] { parse_label_csv("id,name\n0,a,b\n", "l.csv"); }, {"l.csv:2:", "quote names"});
  expect_error([] { parse_label_csv("id,name\n0,\"a\n", "l.csv"); }, {"l.csv:2:"});
  expect_error([] { parse_label_csv("", "l.csv"); }, {"l.csv", "empty"});
}

TEST(LabelCsv, ClassNameListsFromTextFiles) {
  const auto dir = test::scratch_dir();
  write_text(dir / "classes.txt", "brush hair\r\n\n  cartwheel \n");
  EXPECT_EQ(load_class_names((dir / "classes.txt").string()), (std::vector<std::string>{"brush hair", "cartwheel"}));
  write_text(dir / "labels.csv", "id,name\n0,brush hair\n");
  EXPECT_EQ(load_class_names((dir / "labels.csv").string()), (std::vector<std::string>{"brush hair"}));
}

// The paper's layout: hmdb_51_labels.csv has 51 classes; hmdb_51_base_labels.csv renumbers the
// base classes 0..25 (0,pour = full id 25), and base_train.txt uses those local ids.
TEST(Subsets, BaseNovelRemappingByName) {
  const std::vector<std::string> full{"brush hair", "cartwheel", "pour", "pullup", "wave"};
  const std::vector<std::string> base{"pour", "pullup", "wave"};
  const std::vector<std::string> novel{"brush hair", "cartwheel"};
  const SubsetMapping b = map_subset(full, base, "base.csv");
  EXPECT_EQ(b.subset_to_full, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(b.full_to_subset, (std::vector<int64_t>{-1, -1, 0, 1, 2}));
  const SubsetMapping n = map_subset(full, novel, "novel.csv");
  EXPECT_EQ(n.subset_to_full, (std::vector<int64_t>{0, 1}));

  // A base list (local ids) -> full ids.
  const auto base_list = parse_annotation_list("pour_1.avi 0\nwave_3.avi 2\n", "base_train.txt");
  const auto as_full = subset_labels_to_full(base_list, b, "base_train.txt");
  EXPECT_EQ(as_full[0].label, 2);
  EXPECT_EQ(as_full[1].label, 4);
  // A full list -> only the base videos, relabelled with base ids.
  const auto full_list = parse_annotation_list("h.avi 0\np.avi 2\nc.avi 1\nw.avi 4\nu.avi 3\n", "all.txt");
  const auto selected = select_subset(full_list, b);
  ASSERT_EQ(selected.size(), 3u);
  EXPECT_EQ(selected[0].relative, "p.avi");
  EXPECT_EQ(selected[0].label, 0);
  EXPECT_EQ(selected[1].relative, "w.avi");
  EXPECT_EQ(selected[1].label, 2);
  EXPECT_EQ(selected[2].label, 1);
  // Round trip: select then map back gives the full ids again.
  EXPECT_EQ(subset_labels_to_full(selected, b, "x")[1].label, 4);
}

TEST(Subsets, ErrorsNameTheClassOrVideo) {
  expect_error(
      [] {
        map_subset({"a", "b"}, {"b", "zebra"}, "novel.csv");
      },
      {"novel.csv", "'zebra'", "not in the full"});
  expect_error([] { map_subset({"a", "a"}, {"a"}, "f.csv"); }, {"f.csv", "twice"});
  const SubsetMapping m = map_subset({"a", "b", "c"}, {"c"}, "s.csv");
  expect_error([&] { subset_labels_to_full(parse_annotation_list("x.avi 1\n", "l"), m, "base_val.txt"); },
               {"base_val.txt:1:", "x.avi", "label 1", "expected 0..0"});
}

std::vector<VideoRecord> numbered_list(const std::vector<int>& per_class) {
  std::vector<VideoRecord> out;
  for (int round = 0; round < 100; ++round) {  // interleave classes like a shuffled list
    for (size_t c = 0; c < per_class.size(); ++c) {
      if (round < per_class[c]) {
        const std::string name = "c" + std::to_string(c) + "_" + std::to_string(round) + ".avi";
        out.push_back({name, name, static_cast<int64_t>(c)});
      }
    }
  }
  return out;
}

TEST(FewShot, KPerClassDeterministicAndGroupedByClass) {
  const auto records = numbered_list({10, 6, 8, 4});
  const auto a = fewshot_subset(records, 4, 1);
  const auto b = fewshot_subset(records, 4, 1);
  const auto c = fewshot_subset(records, 4, 2);
  ASSERT_EQ(a.size(), 16u);
  std::map<int64_t, int> counts;
  std::set<std::string> all_names;
  for (const auto& r : records) all_names.insert(r.relative);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].relative, b[i].relative);
    EXPECT_EQ(a[i].label, static_cast<int64_t>(i / 4));  // grouped by class, ascending
    EXPECT_TRUE(all_names.count(a[i].relative));
    ++counts[a[i].label];
  }
  for (const auto& [label, n] : counts) EXPECT_EQ(n, 4) << label;
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs |= a[i].relative != c[i].relative;
  EXPECT_TRUE(differs);
  // Class 3 has exactly 4 videos: all of them, in list order.
  EXPECT_EQ(a[12].relative, "c3_0.avi");
  EXPECT_EQ(a[15].relative, "c3_3.avi");
  // No duplicates inside a class.
  EXPECT_EQ(std::set<std::string>({a[0].relative, a[1].relative, a[2].relative, a[3].relative}).size(), 4u);
}

TEST(FewShot, TooFewVideosIsAnError) {
  const auto records = numbered_list({10, 2, 8});
  expect_error([&] { fewshot_subset(records, 3, 0); }, {"class 1 has 2 videos", "3 shots"});
  // A class with no video at all (num_classes from the label CSV).
  expect_error([&] { fewshot_subset(records, 2, 0, 4); }, {"class 3 has 0 videos"});
  EXPECT_THROW(fewshot_subset(records, 0, 0), std::invalid_argument);
}

TEST(FewShotCommand, WritesTheSubsetAtomically) {
  const auto dir = test::scratch_dir();
  write_text(dir / "train.txt", format_annotation_list(numbered_list({5, 5, 5})));
  const std::string out = (dir / "fs" / "train_2shot.txt").string();
  std::string log;
  const std::string args = "data fewshot --list " + (dir / "train.txt").string() + " --shots 2 --seed 7 --out " + out;
  ASSERT_EQ(test::run_vifi(args, &log), 0) << log;
  const auto written = load_annotation_list(out);
  const auto expected = fewshot_subset(numbered_list({5, 5, 5}), 2, 7);
  ASSERT_EQ(written.size(), expected.size());
  for (size_t i = 0; i < written.size(); ++i) EXPECT_EQ(written[i].relative, expected[i].relative);
  // Too many shots: non-zero exit, message names the class, no output file.
  const std::string bad_out = (dir / "fs" / "bad.txt").string();
  EXPECT_NE(test::run_vifi("data fewshot --list " + (dir / "train.txt").string() + " --shots 9 --out " + bad_out, &log),
            0);
  EXPECT_NE(log.find("class 0 has 5 videos"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(bad_out));
}

TEST(Labels, HmdbBaseNovelLabelMapping) {
  const std::string labels = std::string(VIFI_SOURCE_DIR) + "/configs/labels/";
  const auto full = data::load_label_csv(labels + "hmdb_51_labels.csv");
  const auto base = data::load_label_csv(labels + "hmdb_51_base_labels.csv");
  const auto novel = data::load_label_csv(labels + "hmdb_51_novel_labels.csv");
  const auto b = data::map_subset(full, base, "hmdb_51_base_labels.csv");
  const auto n = data::map_subset(full, novel, "hmdb_51_novel_labels.csv");
  ASSERT_EQ(base[0], "pour");
  EXPECT_EQ(b.subset_to_full[0], 25);  // local base id 0 is "pour", id 25 of the full list
  EXPECT_EQ(full[25], "pour");
  ASSERT_EQ(base.size() + novel.size(), full.size());
  for (size_t j = 0; j < full.size(); ++j)  // base and novel split the full list exactly
    EXPECT_NE(b.full_to_subset[j] >= 0, n.full_to_subset[j] >= 0) << full[j];
}

}  // namespace
}  // namespace vifi::data

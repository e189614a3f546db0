// A dataset list from a class-per-folder tree: `vifi data index ROOT --out DIR`.
// Owns: what counts as a class (each immediate subfolder of ROOT) and as a video (a file below it,
// at any depth, with a video extension), class names and ids, the seeded stratified train/val
// split, and writing labels.csv, train.txt and val.txt in the formats data/labels and
// data/dataset read.
//
// Layouts this covers, as the datasets ship:
//   UCF-101   ROOT/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi
//   HMDB-51   ROOT/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi
//   Kinetics  ROOT/air drumming/<youtube id>.mp4 (or ROOT/air_drumming/...)
// A split level above the classes (ROOT/train/<class>/...) is not a class-per-folder tree: point
// ROOT at ROOT/train instead (index_class_folders warns when the classes are named like splits).
//
// Names and ids: a class is named after its folder with '_' turned into ' ' ("brush_hair" ->
// "brush hair"); ids follow the names sorted case-insensitively (byte order breaks ties), which
// reproduces UCF-101's classInd.txt and the Kinetics-400/600 label lists, and gives the same ids
// whether a Kinetics copy spells folders with spaces or underscores.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vifi/data/dataset.h"
#include "vifi/data/video_files.h"  // what counts as a video

namespace vifi::data {

// "brush_hair" -> "brush hair".
std::string class_name_from_folder(const std::string& folder);

// Names in id order (see the header comment). Pure.
std::vector<std::string> sort_class_names(std::vector<std::string> names);

// Videos of an n-video class that go to validation: round(fraction * n) (half away from zero),
// at least 1 when n >= 2 and fraction > 0, at most n - 1 so every class keeps a training video.
int64_t validation_count(int64_t num_videos, double val_fraction);

struct ClassFolderOptions {
  double val_fraction = 0.2;  // [0, 1): share of each class's videos that goes to val.txt
  uint64_t seed = 0;          // the split depends only on (files, val_fraction, seed)
  // A folder to leave out wherever it sits below ROOT (the output folder, when it is inside ROOT).
  std::string exclude_dir;
};

struct SkippedFile {
  std::string relative;  // path below ROOT ('/'-separated); folders end in '/'
  std::string reason;    // "not a video extension", "hidden", "outside a class folder", ...
};

struct ClassFolderIndex {
  std::string root;
  std::vector<std::string> class_names;    // [C] by id
  std::vector<std::string> class_folders;  // [C] folder of class id c, relative to ROOT
  std::vector<int64_t> videos_per_class;   // [C]
  // Paths relative to ROOT ('/'-separated), grouped by class id, sorted by path within a class.
  std::vector<VideoRecord> train;
  std::vector<VideoRecord> val;
  std::vector<SkippedFile> skipped;   // sorted by path
  std::vector<std::string> warnings;  // things a researcher should look at; nothing was dropped for them
};

// Scans ROOT. Throws std::runtime_error naming ROOT when it is not a directory or has no class
// folders, naming every class folder without a video, naming folders whose class names collide
// ("a_b" and "a b"), and naming files whose path cannot be written to a list (a newline, or a
// space together with a '"'). Throws std::invalid_argument for a val_fraction outside [0, 1).
ClassFolderIndex index_class_folders(const std::string& root, const ClassFolderOptions& options);

// "id,name\n" then "c,<name>\n" per class; a name with a comma, a quote or surrounding spaces is
// quoted (RFC 4180), so parse_label_csv reads back the same names.
std::string format_label_csv(const std::vector<std::string>& names);

// Writes DIR/labels.csv, DIR/train.txt, DIR/val.txt (DIR created if missing). Every file's text
// is formed before the first is written, and each is written atomically, so a failure leaves no
// half-written list. Returns the three paths in that order.
std::vector<std::string> write_class_folder_index(const std::string& dir, const ClassFolderIndex& index);

}  // namespace vifi::data

// libFuzzer target for the dataset text files vifi reads from downloads (data/dataset's
// annotation lists, "path label" lines, and data/labels' "id,name" label CSVs): messy datasets
// come with BOMs, CRLF, quoted paths, stray columns. The first byte of an input picks the parser
// (odd: label CSV; 0 mod 4: annotation list; 2 mod 4: a video list, labels optional, which must
// read every annotation list to the same records), the rest is the file's text. Expected answer to bad
// text: a std::runtime_error starting with the file's name. Findings: any other exception, a
// crash or sanitizer report, and a round trip that changes what was read (format_annotation_list
// or format_label_csv, then parse again; list paths the writer documents it cannot write are
// skipped).
// Seeds (fuzz/corpus-dataset_lists): the first lines of the reference's HMDB-51 split and K400 and
// SSv2 label CSVs (../shared/data/vifi), and messy hand-made variants (BOM, CRLF, quotes, tabs). Build:
// fuzz/CMakeLists.txt (clang).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "vifi/data/class_folders.h"
#include "vifi/data/dataset.h"
#include "vifi/data/labels.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "dataset_lists_fuzzer: %s\n", what.c_str());
  std::abort();
}

template <typename Parse>
bool parsed(const std::string& source, Parse&& parse) {
  try {
    parse();
    return true;
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).rfind(source, 0) != 0) finding("an error not naming the file: " + std::string(e.what()));
    return false;
  } catch (const std::exception& e) {
    finding(std::string("an exception other than std::runtime_error: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    std::vector<std::string> names;
    if (!parsed("labels.csv", [&] { names = vifi::data::parse_label_csv(text, "labels.csv"); })) return 0;
    // As `vifi data lists` writes it, it must read back to the same names.
    std::vector<std::string> again;
    const auto written = vifi::data::format_label_csv(names);
    if (!parsed("again.csv", [&] { again = vifi::data::parse_label_csv(written, "again.csv"); }))
      finding("vifi's own label CSV does not parse:\n" + written);
    if (again != names) finding("a label CSV round trip changed the names:\n" + written);
    return 0;
  }
  std::vector<vifi::data::VideoRecord> records;
  if (data[0] % 4 == 2) {
    using vifi::data::ListLabels;
    std::vector<vifi::data::VideoRecord> listed;
    const bool read = parsed("videos.txt", [&] { listed = vifi::data::parse_annotation_list(text, "videos.txt", "root", ListLabels::optional); });
    if (!parsed("list.txt", [&] { records = vifi::data::parse_annotation_list(text, "list.txt", "root"); })) return 0;
    if (!read) finding("an annotation list that a video list refuses");
    if (listed.size() != records.size()) finding("a video list read an annotation list to another number of records");
    for (size_t i = 0; i < records.size(); ++i)
      if (listed[i].path != records[i].path || listed[i].label != records[i].label)
        finding("a video list read record " + std::to_string(i) + " otherwise: '" + records[i].relative + "' -> '" +
                listed[i].relative + "'");
    return 0;
  }
  if (!parsed("list.txt", [&] { records = vifi::data::parse_annotation_list(text, "list.txt", "root"); })) return 0;
  std::string written;
  try {
    written = vifi::data::format_annotation_list(records);
  } catch (const std::invalid_argument&) {
    return 0;  // a path with whitespace and a '"': documented as not writable
  }
  std::vector<vifi::data::VideoRecord> again;
  if (!parsed("again.txt", [&] { again = vifi::data::parse_annotation_list(written, "again.txt", "root"); }))
    finding("vifi's own list does not parse:\n" + written);
  if (again.size() != records.size()) finding("a round trip changed the number of records");
  for (size_t i = 0; i < records.size(); ++i)
    if (again[i].relative != records[i].relative || again[i].label != records[i].label || again[i].path != records[i].path)
      finding("a round trip changed record " + std::to_string(i) + ": '" + records[i].relative + "' -> '" +
              again[i].relative + "'");
  return 0;
}

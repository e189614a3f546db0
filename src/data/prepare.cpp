// `vifi data prepare` (see prepare.h): decode each source video whole with VideoReader, re-encode
// it with VideoWriter, rename it into place; then the non-video files.
#include "vifi/data/prepare.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "text_file.h"
#include "video_writer.h"
#include "vifi/data/video_files.h"
#include "vifi/data/synthetic.h"
#include "vifi/data/video_reader.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/file_tree.h"
#include "vifi/util/logging.h"

namespace vifi::data {
namespace {

namespace fs = std::filesystem;

int64_t file_bytes(const fs::path& path) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

// An even size (4:2:0 chroma) with the displayed short side at most `short_side`.
cv::Size prepared_size(int width, int height, int short_side) {
  double k = 1.0;
  if (short_side > 0 && std::min(width, height) > short_side) k = short_side / static_cast<double>(std::min(width, height));
  const auto even = [k](int side) { return std::max(2, 2 * static_cast<int>(std::lround(side * k / 2.0))); };
  return {even(width), even(height)};
}

// Marks a temporary file of this module; the writer's pid follows it.
constexpr const char* kPartialTag = ".partial-";

// "<dir>/<stem>.partial-<pid><ext>": the muxer picks the container from the extension.
fs::path partial_path(const fs::path& target) {
  fs::path tmp = target;
  tmp.replace_filename(target.stem().string() + kPartialTag + std::to_string(::getpid()) + target.extension().string());
  return tmp;
}

// Where a temporary file's name carries its writer's pid; npos for any other file.
size_t partial_tag_at(const std::string& filename) { return filename.find(kPartialTag); }

struct RemoveUnlessKept {
  fs::path path;
  bool kept = false;
  ~RemoveUnlessKept() {
    if (!kept) {
      std::error_code ignored;
      fs::remove(path, ignored);
    }
  }
};

// Decodes `source` whole and encodes it to `target` (via a temporary file). A source that cannot
// be decoded throws VideoError; anything else (DST not writable, a full disk) is another error.
void encode_video(const fs::path& source, const fs::path& target, const PrepareOptions& options) {
  VideoReaderOptions whole;
  whole.passed_frames = PassedFrames::decode;
  VideoReader reader(source.string(), whole);
  const VideoInfo& info = reader.info();
  EncoderSettings settings;
  settings.codec = options.codec;
  const cv::Size size = prepared_size(info.width, info.height, options.short_side);
  settings.width = size.width;
  settings.height = size.height;
  settings.fps = info.fps > 0 ? info.fps : 25.0;
  settings.gop_size = options.codec == "mjpeg" ? 1 : options.keyint;
  settings.crf = options.crf;
  fs::create_directories(target.parent_path());
  RemoveUnlessKept tmp{partial_path(target)};
  {
    VideoWriter writer(tmp.path.string(), settings);
    reader.decode_all([&](int64_t index, const cv::Mat& rgb) { writer.write(rgb, index); });
    writer.finish();
  }
  util::commit_file(tmp.path.string(), target.string());
  tmp.kept = true;
}

bool same_bytes(const fs::path& a, const fs::path& b) {
  if (file_bytes(a) != file_bytes(b)) return false;
  std::ifstream x(a, std::ios::binary), y(b, std::ios::binary);
  std::vector<char> p(1 << 16), q(1 << 16);
  while (x && y) {
    x.read(p.data(), static_cast<std::streamsize>(p.size()));
    y.read(q.data(), static_cast<std::streamsize>(q.size()));
    if (x.gcount() != y.gcount() || !std::equal(p.begin(), p.begin() + x.gcount(), q.begin())) return false;
  }
  return true;
}

void copy_file_atomic(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  RemoveUnlessKept tmp{partial_path(to)};
  std::error_code error;
  fs::copy_file(from, tmp.path, fs::copy_options::overwrite_existing, error);
  if (error) throw std::runtime_error(to.string() + ": cannot copy " + from.string() + " (" + error.message() + ")");
  util::commit_file(tmp.path.string(), to.string());
  tmp.kept = true;
}

struct Tree {
  std::vector<fs::path> videos;  // relative to SRC, sorted
  std::vector<fs::path> others;
  std::vector<NotCarried> not_carried;  // in walk order: sorted
};

// Everything below SRC (util/file_tree: folders reached through links are entered); paths stay
// as reached, relative to SRC, never resolved through the links.
Tree walk(const fs::path& src, const fs::path& dst) {
  Tree tree;
  const auto rel = [&src](const fs::path& p) { return p.lexically_relative(src); };
  util::FileTreeVisitor visitor;
  visitor.enter = [&](const fs::path& folder) {
    std::error_code error;
    if (!fs::equivalent(folder, dst, error)) return true;
    tree.not_carried.push_back({rel(folder).generic_string() + "/", "a link to DST, the output folder"});
    return false;
  };
  visitor.entry = [&](const fs::path& path, util::TreeEntryKind kind, const std::string& detail) {
    const fs::path relative = rel(path);
    if (partial_tag_at(relative.filename().string()) != std::string::npos) return;
    if (kind != util::TreeEntryKind::regular_file) {
      tree.not_carried.push_back({relative.generic_string(), detail});
      return;
    }
    (has_video_extension(path.string()) ? tree.videos : tree.others).push_back(relative);
  };
  visitor.folder_not_read = [&](const fs::path& folder, const std::string& reason) {
    tree.not_carried.push_back({rel(folder).generic_string() + "/", reason});
  };
  util::walk_file_tree(src, visitor);
  std::sort(tree.videos.begin(), tree.videos.end());
  std::sort(tree.others.begin(), tree.others.end());
  return tree;
}

// Whether `path` opens for reading; else why not. A source that cannot be read is listed and
// skipped: only failures to write DST end a run.
std::string unreadable_reason(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);  // a FIFO put there since the walk must not block
  if (fd < 0) return std::string("cannot be read (") + std::strerror(errno) + ")";
  ::close(fd);
  return "";
}

// The source videos that were prepared, found by the tail of a path (a list's paths may be
// relative to SRC, to a folder inside it, or to the list).
class PreparedVideos {
 public:
  void add(const fs::path& relative) { by_name_.emplace(relative.filename().string(), relative.generic_string()); }
  bool contains_tail(const std::string& field) const {
    const std::string tail = fs::path(field).lexically_normal().generic_string();
    const auto [first, last] = by_name_.equal_range(fs::path(tail).filename().string());
    for (auto it = first; it != last; ++it) {
      const std::string& path = it->second;
      if (path == tail || (path.size() > tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0 &&
                           path[path.size() - tail.size() - 1] == '/')) {
        return true;
      }
    }
    return false;
  }

 private:
  std::unordered_multimap<std::string, std::string> by_name_;
};

// The workers' shared state: the next video, the report, the first error that ends the run.
class PrepareJob {
 public:
  PrepareJob(const fs::path& src, const fs::path& dst, const PrepareOptions& options, const Tree& tree,
             const PrepareProgress& progress)
      : src_(src), dst_(dst), options_(options), tree_(tree), progress_(progress) {
    outcome_.resize(tree.videos.size());
    // Two sources of one prepared name (x.avi and x.mkv -> x.mp4, a download fetched twice): a
    // file already under that name keeps it, else the first by path; the others are carried
    // unchanged and listed, rather than one copy standing in for both.
    std::map<fs::path, size_t> owner;
    for (size_t i = 0; i < tree.videos.size(); ++i) {
      outcome_[i].target = prepared_name(tree.videos[i].string(), options.codec);
      if (outcome_[i].target == tree.videos[i]) owner.emplace(outcome_[i].target, i);
    }
    for (size_t i = 0; i < tree.videos.size(); ++i) {
      const auto [it, claimed] = owner.emplace(outcome_[i].target, i);
      if (!claimed && it->second != i) outcome_[i].name_taken_by = tree.videos[it->second];
    }
  }

  void run(PrepareReport& report) {
    std::vector<std::thread> workers;
    const int jobs = std::max(1, std::min<int>(options_.jobs, static_cast<int>(tree_.videos.size())));
    for (int j = 0; j < jobs; ++j) workers.emplace_back([this] { work(); });
    for (auto& w : workers) w.join();
    if (fatal_) std::rethrow_exception(fatal_);
    for (size_t i = 0; i < tree_.videos.size(); ++i) {
      const Outcome& o = outcome_[i];
      if (!o.failure.empty()) {
        report.failed.push_back({static_cast<int64_t>(i), (src_ / tree_.videos[i]).string(), o.failure});
        continue;
      }
      (o.reused ? report.reused : report.converted) += 1;
      report.source_bytes += file_bytes(src_ / tree_.videos[i]);
      report.prepared_bytes += file_bytes(dst_ / o.target);
      report.prepared.push_back(o.target.generic_string());
      renamed_.add(tree_.videos[i]);
    }
  }

  const PreparedVideos& renamed() const { return renamed_; }

 private:
  struct Outcome {
    fs::path target;         // relative to DST
    fs::path name_taken_by;  // the source whose prepared copy has this one's name, if any
    bool reused = false;
    std::string failure;
  };

  void work() {
    for (size_t i = next_++; i < tree_.videos.size(); i = next_++) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (fatal_) return;
      }
      try {
        prepare_one(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!fatal_) fatal_ = std::current_exception();
        return;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      ++done_;
      if (progress_) progress_(done_, static_cast<int64_t>(tree_.videos.size()));
    }
  }

  void prepare_one(size_t i) {
    const fs::path& relative = tree_.videos[i];
    Outcome& o = outcome_[i];
    if (!o.name_taken_by.empty()) {
      o.failure = (src_ / relative).string() + ": its prepared name " + o.target.generic_string() + " is " +
                  o.name_taken_by.generic_string() + "'s; copied unchanged";
      util::log_warn("data prepare: " + o.failure);
      copy_file_atomic(src_ / relative, dst_ / relative);
      return;
    }
    // A file that failed before was copied unchanged, maybe under the prepared name: try again.
    if (fs::exists(dst_ / o.target) && !same_bytes(src_ / relative, dst_ / o.target)) {
      o.reused = true;
      return;
    }
    try {
      encode_video(src_ / relative, dst_ / o.target, options_);
    } catch (const VideoError& e) {
      o.failure = e.what();
      const std::string unreadable = unreadable_reason(src_ / relative);
      if (!unreadable.empty()) {
        o.failure += "; not copied: " + unreadable;
        util::log_warn("data prepare: " + o.failure);
        return;
      }
      util::log_warn("data prepare: " + o.failure + "; copied unchanged");
      copy_file_atomic(src_ / relative, dst_ / relative);
    }
  }

  const fs::path& src_;
  const fs::path& dst_;
  const PrepareOptions& options_;
  const Tree& tree_;
  const PrepareProgress& progress_;
  std::vector<Outcome> outcome_;
  PreparedVideos renamed_;
  std::atomic<size_t> next_{0};
  std::mutex mutex_;
  std::exception_ptr fatal_;
  int64_t done_ = 0;
};

// A text line whose first field names a prepared video gets the prepared name; the rest of the
// line is kept as written.
std::string rewrite_line(const std::string& line, const PreparedVideos& renamed, const std::string& codec,
                         bool* changed) {
  const size_t start = line.find_first_not_of(" \t");
  if (start == std::string::npos) return line;
  const size_t end = std::min(line.find_first_of(" \t", start), line.size());
  const std::string field = line.substr(start, end - start);
  if (!has_video_extension(field) || !renamed.contains_tail(field)) return line;
  const std::string renamed_field = prepared_name(field, codec);
  if (renamed_field != field) *changed = true;
  return line.substr(0, start) + renamed_field + line.substr(end);
}

// Lists (text files naming renamed videos) are rewritten; every other file is copied.
void carry_other_files(const fs::path& src, const fs::path& dst, const Tree& tree, const PreparedVideos& renamed,
                       const std::string& codec, PrepareReport& report) {
  for (const fs::path& relative : tree.others) {
    const std::string unreadable = unreadable_reason(src / relative);
    if (!unreadable.empty()) {
      report.not_carried.push_back({relative.generic_string(), unreadable});
      continue;
    }
    const std::string ext = relative.extension().string();
    if (ext == ".txt" || ext == ".csv" || ext == ".list") {
      const std::string text = detail::read_text_file((src / relative).string());
      bool changed = false;
      std::ostringstream out;
      for (const std::string& line : detail::split_lines(text)) {
        out << rewrite_line(line, renamed, codec, &changed) << "\n";
      }
      if (changed) {
        util::write_file_atomic((dst / relative).string(), out.str());
        ++report.lists_rewritten;
        continue;
      }
    }
    copy_file_atomic(src / relative, dst / relative);
    ++report.files_copied;
  }
}

// Temporary files left by a run that was killed (Ctrl-C, a crash): their process is gone.
void remove_stale_partials(const fs::path& dst) {
  std::error_code error;
  if (!fs::is_directory(dst, error)) return;
  for (const auto& entry : fs::recursive_directory_iterator(dst, error)) {
    const std::string name = entry.path().filename().string();
    const size_t at = partial_tag_at(name);
    if (at == std::string::npos || !entry.is_regular_file()) continue;
    const long pid = std::strtol(name.c_str() + at + std::strlen(kPartialTag), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
    }
  }
}

}  // namespace

void validate(const PrepareOptions& options) {
  const auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("PrepareOptions." + what);
  };
  require(options.short_side >= 0 && options.short_side <= 8192,
          "short_side (--short-side) must be in [0, 8192], got " + std::to_string(options.short_side));
  require(options.keyint >= 1 && options.keyint <= 10000, "keyint (--keyint) must be in [1, 10000], got " +
                                                              std::to_string(options.keyint));
  require(options.codec == "h264" || options.codec == "mjpeg",
          "codec (--codec) must be h264 or mjpeg, got '" + options.codec + "'");
  require(options.crf >= 0 && options.crf <= 51, "crf (--crf) must be in [0, 51], got " + std::to_string(options.crf));
  require(options.jobs >= 1 && options.jobs <= 1024, "jobs (--jobs) must be in [1, 1024], got " + std::to_string(options.jobs));
}

std::string prepared_name(const std::string& relative, const std::string& codec) {
  return fs::path(relative).replace_extension(codec == "mjpeg" ? ".avi" : ".mp4").string();
}

namespace {

// What decides a prepared file's bytes (not --jobs); --keyint and --crf mean nothing to MJPEG.
std::string settings_line(const PrepareOptions& options) {
  std::string line = "codec=" + options.codec + " short_side=" + std::to_string(options.short_side);
  if (options.codec == "h264") line += " keyint=" + std::to_string(options.keyint) + " crf=" + std::to_string(options.crf);
  return line;
}

// A rerun skips the files an earlier run finished, so it must ask for what they were made with:
// DST/.vifi-prepare records that (written before the first file), and other settings are refused
// instead of leaving a folder of two kinds of files.
void check_same_settings(const fs::path& dst, const PrepareOptions& options) {
  const fs::path record = dst / ".vifi-prepare";
  const std::string wanted = settings_line(options);
  if (fs::exists(record)) {
    std::string recorded = detail::read_text_file(record.string());
    while (!recorded.empty() && (recorded.back() == '\n' || recorded.back() == '\r')) recorded.pop_back();
    if (recorded != wanted)
      throw std::invalid_argument(dst.string() + " was prepared with " + recorded + " (" + record.string() +
                                  "); this run asks for " + wanted +
                                  ": prepare into a new folder, or rerun with the same options to finish it");
    return;
  }
  std::error_code error;
  fs::create_directories(dst, error);
  if (error) throw std::runtime_error(dst.string() + ": cannot create the folder (" + error.message() + ")");
  util::write_file_atomic(record.string(), wanted + "\n");
}

}  // namespace

PrepareReport prepare_dataset(const std::string& src, const std::string& dst, const PrepareOptions& options,
                              const PrepareProgress& progress) {
  validate(options);
  if (!fs::is_directory(src)) throw std::invalid_argument(src + ": not a directory (the dataset to prepare)");
  if (util::folder_holds(src, dst)) throw std::invalid_argument(dst + ": is inside " + src + "; prepare into another folder");
  if (!synthetic_codec_available(options.codec)) {
    throw std::invalid_argument("this FFmpeg build has no encoder for --codec " + options.codec);
  }
  const auto start = std::chrono::steady_clock::now();
  const fs::path source(src), target(dst);
  check_same_settings(target, options);
  remove_stale_partials(target);
  const Tree tree = walk(source, target);
  PrepareReport report;
  report.videos = static_cast<int64_t>(tree.videos.size());
  report.not_carried = tree.not_carried;
  PrepareJob job(source, target, options, tree, progress);
  job.run(report);
  carry_other_files(source, target, tree, job.renamed(), options.codec, report);
  std::sort(report.not_carried.begin(), report.not_carried.end(),
            [](const NotCarried& a, const NotCarried& b) { return a.relative < b.relative; });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace vifi::data

// Synthetic videos (see synthetic.h): what a class looks like, the frame-index stamp, and
// writing single videos and whole datasets. Encoding itself lives in video_writer.cpp.
//
// Rendering is a pure function of (spec, frame index, time), so tests can compare a decoded
// frame with the image that was encoded, and a dataset is reproducible from its seed.
#include "vifi/data/synthetic.h"

#include <opencv2/imgproc.hpp>

#include <array>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <random>
#include <sstream>
#include <stdexcept>

#include "ffmpeg_handles.h"
#include "text_file.h"
#include "video_writer.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/logging.h"

namespace vifi::data {

const std::vector<std::string>& x264_presets() {
  static const std::vector<std::string> names = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                                 "medium",    "slow",      "slower",   "veryslow"};
  return names;
}

namespace {

constexpr double kPi = 3.14159265358979323846;

// ---- what a class looks like ---------------------------------------------------------------
// 3 shapes x 7 colours x 8 directions are pairwise coprime, so label % 3, % 7, % 8 name a
// unique combination for labels below 168; the next 168 repeat them with a small shape.
struct ClassLook {
  int shape;      // 0 square, 1 circle, 2 triangle
  int colour;     // index into kColours
  int direction;  // index into kDirections
  bool small;
};

struct NamedColour {
  const char* name;
  uint8_t rgb[3];
};
constexpr std::array<NamedColour, 7> kColours = {{{"red", {220, 40, 40}},
                                                  {"green", {40, 200, 60}},
                                                  {"blue", {50, 80, 230}},
                                                  {"yellow", {235, 215, 40}},
                                                  {"magenta", {210, 50, 200}},
                                                  {"cyan", {40, 210, 220}},
                                                  {"orange", {245, 140, 30}}}};

struct NamedDirection {
  const char* name;
  double dx, dy;  // image coordinates: y grows downwards
};
constexpr double kDiag = 0.70710678118654752;
constexpr std::array<NamedDirection, 8> kDirections = {{{"up", 0, -1},
                                                        {"down", 0, 1},
                                                        {"left", -1, 0},
                                                        {"right", 1, 0},
                                                        {"up-left", -kDiag, -kDiag},
                                                        {"down-right", kDiag, kDiag},
                                                        {"up-right", kDiag, -kDiag},
                                                        {"down-left", -kDiag, kDiag}}};
constexpr std::array<const char*, 3> kShapes = {"square", "circle", "triangle"};

ClassLook class_look(int label) {
  if (label < 0 || label >= kMaxSyntheticClasses) {
    throw std::invalid_argument("synthetic class " + std::to_string(label) + " out of range [0, " +
                                std::to_string(kMaxSyntheticClasses) + ")");
  }
  return {label % 3, label % 7, label % 8, (label / 168) % 2 == 1};
}

// ---- per-video nuisance --------------------------------------------------------------------
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t mix(uint64_t a, uint64_t b) { return splitmix64(a ^ splitmix64(b)); }

// Everything random about one video, drawn once from (seed, label).
struct Nuisance {
  double x0, y0;        // start position, fraction of the content area
  double speed_scale;   // 0.8 .. 1.2
  double size_scale;    // 0.85 .. 1.15
  cv::Vec3i colour_shift;
  double freq[4], phase[3];  // background texture
  cv::Vec3i tint;

  Nuisance(uint64_t seed, int label) {
    std::mt19937_64 rng(mix(seed, static_cast<uint64_t>(label)));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::uniform_int_distribution<int> shift(-20, 20), tint_shift(-12, 12);
    x0 = unit(rng);
    y0 = unit(rng);
    speed_scale = 0.8 + 0.4 * unit(rng);
    size_scale = 0.85 + 0.3 * unit(rng);
    colour_shift = {shift(rng), shift(rng), shift(rng)};
    for (double& f : freq) f = 1.5 + 2.5 * unit(rng);  // cycles per frame width
    for (double& p : phase) p = 2 * kPi * unit(rng);
    tint = {tint_shift(rng), tint_shift(rng), tint_shift(rng)};
  }
};

// ---- the stamp: geometry shared by writer and reader, as fractions of the frame ------------
constexpr int kStampColumns = 12;
constexpr int kStampBitsPerRow = kStampColumns - 2;  // two marker cells per row
constexpr int kStampDataBits = 2 * kStampBitsPerRow - 1;  // last bit is parity

int stamp_column_edge(int width, int c) { return static_cast<int>(std::lround(width * c / double(kStampColumns))); }
// Rows 0 and 1 of the stamp are the last two eighths of the frame; the content is above.
int stamp_row_edge(int height, int r) { return static_cast<int>(std::lround(height * (6 + r) / 8.0)); }

cv::Rect stamp_cell(const cv::Size& size, int row, int column) {
  int x0 = stamp_column_edge(size.width, column), x1 = stamp_column_edge(size.width, column + 1);
  int y0 = stamp_row_edge(size.height, row), y1 = stamp_row_edge(size.height, row + 1);
  return {x0, y0, x1 - x0, y1 - y0};
}

// Cell colours of index `i`: row r = [marker, marker, 10 bits]; markers are white-black on row
// 0 and black-white on row 1, so a stamp is told apart from any texture.
std::array<std::array<bool, kStampColumns>, 2> stamp_cells(int64_t index) {
  std::array<std::array<bool, kStampColumns>, 2> cells{};
  cells[0][0] = true;
  cells[1][1] = true;
  int parity = 0;
  for (int bit = 0; bit < kStampDataBits; ++bit) {
    bool on = (index >> bit) & 1;
    parity ^= on;
    cells[bit / kStampBitsPerRow][2 + bit % kStampBitsPerRow] = on;
  }
  cells[1][kStampColumns - 1] = parity;
  return cells;
}

void draw_stamp(cv::Mat& rgb, int64_t index) {
  auto cells = stamp_cells(index);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < kStampColumns; ++c) {
      rgb(stamp_cell(rgb.size(), r, c)).setTo(cells[r][c] ? cv::Scalar::all(255) : cv::Scalar::all(0));
    }
  }
}

// Mean brightness of a cell's middle half, away from edges that coding and resizing smear.
double cell_brightness(const cv::Mat& rgb, int row, int column) {
  cv::Rect cell = stamp_cell(rgb.size(), row, column);
  cv::Rect inner(cell.x + cell.width / 4, cell.y + cell.height / 4, std::max(1, cell.width / 2),
                 std::max(1, cell.height / 2));
  cv::Scalar mean = cv::mean(rgb(inner & cv::Rect(0, 0, rgb.cols, rgb.rows)));
  return (mean[0] + mean[1] + mean[2]) / 3.0;
}

// ---- rendering -----------------------------------------------------------------------------
void draw_background(cv::Mat& rgb, int content_height, const Nuisance& n) {
  double w = rgb.cols;
  for (int y = 0; y < content_height; ++y) {
    auto* row = rgb.ptr<cv::Vec3b>(y);
    for (int x = 0; x < rgb.cols; ++x) {
      double v = 120 + 35 * std::sin(2 * kPi * n.freq[0] * x / w + n.phase[0]) *
                           std::cos(2 * kPi * n.freq[1] * y / w + n.phase[1]) +
                 20 * std::sin(2 * kPi * (n.freq[2] * x + n.freq[3] * y) / w + n.phase[2]);
      for (int ch = 0; ch < 3; ++ch) row[x][ch] = cv::saturate_cast<uint8_t>(v + n.tint[ch]);
    }
  }
}

void draw_shape(cv::Mat& area, int shape, cv::Point2d centre, double size, const cv::Scalar& colour) {
  cv::Point c(static_cast<int>(std::lround(centre.x)), static_cast<int>(std::lround(centre.y)));
  int half = std::max(2, static_cast<int>(std::lround(size / 2)));
  if (shape == 0) {
    cv::rectangle(area, cv::Rect(c.x - half, c.y - half, 2 * half, 2 * half), colour, cv::FILLED);
  } else if (shape == 1) {
    cv::circle(area, c, half, colour, cv::FILLED, cv::LINE_AA);
  } else {
    std::array<cv::Point, 3> corners = {cv::Point(c.x, c.y - half), cv::Point(c.x - half, c.y + half),
                                        cv::Point(c.x + half, c.y + half)};
    cv::fillConvexPoly(area, corners.data(), 3, colour, cv::LINE_AA);
  }
}

// The shape wraps around the content area (a torus), so it keeps its class's direction for
// the whole clip; copies one period away draw the part that crossed an edge. It starts inside
// the largest centred square of the content area: evaluation's centre crop is square, and on a
// wide frame a shape moving up or down from a start near a side edge would never be in it (in
// 96x64 videos, about 40% of those classes' videos showed no shape at all after the crop).
void draw_moving_shape(cv::Mat& area, const ClassLook& look, const Nuisance& n, double frames_elapsed) {
  const NamedDirection& dir = kDirections[static_cast<size_t>(look.direction)];
  double speed = area.rows / 40.0 * n.speed_scale;  // px per nominal frame
  const double side = std::min(area.cols, area.rows);
  const double x0 = (area.cols - side) / 2 + n.x0 * side, y0 = (area.rows - side) / 2 + n.y0 * side;
  double x = std::fmod(x0 + dir.dx * speed * frames_elapsed, area.cols);
  double y = std::fmod(y0 + dir.dy * speed * frames_elapsed, area.rows);
  if (x < 0) x += area.cols;
  if (y < 0) y += area.rows;
  double size = area.rows * (look.small ? 0.18 : 0.3) * n.size_scale;
  const uint8_t* base = kColours[static_cast<size_t>(look.colour)].rgb;
  cv::Scalar colour(cv::saturate_cast<uint8_t>(base[0] + n.colour_shift[0]),
                    cv::saturate_cast<uint8_t>(base[1] + n.colour_shift[1]),
                    cv::saturate_cast<uint8_t>(base[2] + n.colour_shift[2]));
  for (int dy = -1; dy <= 1; ++dy) {
    for (int dx = -1; dx <= 1; ++dx) {
      draw_shape(area, look.shape, {x + dx * area.cols, y + dy * area.rows}, size, colour);
    }
  }
}

// ---- checks and timestamps -----------------------------------------------------------------
void check_spec(const std::string& path, const SyntheticVideoSpec& spec) {
  auto fail = [&](const std::string& what) { throw std::invalid_argument(path + ": " + what); };
  if (spec.width < 48 || spec.height < 32 || spec.width % 2 || spec.height % 2) {
    fail("frame size must be even and at least 48x32, got " + std::to_string(spec.width) + "x" +
         std::to_string(spec.height));
  }
  if (spec.num_frames < 0) fail("num_frames must be >= 0");
  if (!(spec.fps > 0)) fail("fps must be > 0");
  if (spec.noise < 1 || spec.noise > 64) fail("noise must be in [1, 64] grey levels, got " + std::to_string(spec.noise));
  if (spec.num_classes < 1 || spec.num_classes > kMaxSyntheticClasses) {
    fail("num_classes must be in [1, " + std::to_string(kMaxSyntheticClasses) + "]");
  }
  if (spec.label < 0 || spec.label >= spec.num_classes) fail("label out of range");
  if (spec.codec == "h264") {
    const auto& presets = x264_presets();
    if (std::find(presets.begin(), presets.end(), spec.x264_preset) == presets.end()) {
      std::string valid;
      for (const auto& p : presets) valid += (valid.empty() ? "" : ", ") + p;
      fail("x264 preset must be one of " + valid + ", got '" + spec.x264_preset + "'");
    }
    if (spec.x264_crf < 0 || spec.x264_crf > 51) fail("x264 crf must be in [0, 51], got " + std::to_string(spec.x264_crf));
  }
  std::string ext = std::filesystem::path(path).extension().string();
  if (spec.variable_frame_rate && ext == ".avi") {
    fail("AVI stores no timestamps, so it cannot hold a variable frame rate; use .mp4/.webm/.mkv");
  }
}

// Presentation times in the writer's time base: frame numbers, or milliseconds with gaps of
// 0.5x to 2.5x the nominal frame duration for a variable frame rate.
std::vector<int64_t> frame_timestamps(const SyntheticVideoSpec& spec) {
  std::vector<int64_t> pts(static_cast<size_t>(spec.num_frames));
  std::mt19937_64 rng(mix(spec.seed, 0x7173ull));
  constexpr std::array<double, 4> kGaps = {0.5, 1.0, 1.5, 2.5};
  std::uniform_int_distribution<size_t> pick(0, kGaps.size() - 1);
  int64_t t = 0;
  for (int64_t i = 0; i < spec.num_frames; ++i) {
    pts[static_cast<size_t>(i)] = spec.variable_frame_rate ? t : i;
    t += std::max<int64_t>(1, std::lround(1000.0 / spec.fps * kGaps[pick(rng)]));
  }
  return pts;
}

std::string zero_padded(int n, int width) {
  std::ostringstream s;
  s << std::setw(width) << std::setfill('0') << n;
  return s.str();
}

std::string directory_name(std::string class_name) {
  for (char& c : class_name) {
    if (c == ' ') c = '_';
  }
  return class_name;
}

}  // namespace

std::string synthetic_class_name(int label) {
  ClassLook look = class_look(label);
  return std::string("moving ") + kDirections[static_cast<size_t>(look.direction)].name + " " +
         (look.small ? "small " : "") + kColours[static_cast<size_t>(look.colour)].name + " " +
         kShapes[static_cast<size_t>(look.shape)];
}

bool synthetic_codec_available(const std::string& codec) {
  try {
    return avcodec_find_encoder_by_name(encoder_name(codec).c_str()) != nullptr;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

std::string synthetic_extension(const std::string& codec) {
  encoder_name(codec);  // throws, listing the valid names, for an unknown codec
  if (codec == "h264") return ".mp4";
  if (codec == "vp9") return ".webm";
  return ".avi";
}

cv::Mat render_synthetic_frame(const SyntheticVideoSpec& spec, int64_t index, double seconds) {
  ClassLook look = class_look(spec.label);
  Nuisance nuisance(spec.seed, spec.label);
  cv::Mat rgb(spec.height, spec.width, CV_8UC3);
  int content_height = stamp_row_edge(spec.height, 0);
  draw_background(rgb, content_height, nuisance);
  cv::Mat area = rgb.rowRange(0, content_height);
  draw_moving_shape(area, look, nuisance, seconds * spec.fps);
  // Sensor-like noise, different in every frame, so codecs cannot code frames as copies.
  cv::Mat noise(area.size(), CV_8UC3);
  cv::RNG rng(mix(spec.seed, static_cast<uint64_t>(index) + 1));
  rng.fill(noise, cv::RNG::UNIFORM, 0, spec.noise);
  area += noise;
  draw_stamp(rgb, index);
  return rgb;
}

int64_t read_frame_stamp(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3 || rgb.cols < kStampColumns * 2 || rgb.rows < 16) return -1;
  double white0 = cell_brightness(rgb, 0, 0), black0 = cell_brightness(rgb, 0, 1);
  double black1 = cell_brightness(rgb, 1, 0), white1 = cell_brightness(rgb, 1, 1);
  constexpr double kMinContrast = 100;
  if (white0 - black0 < kMinContrast || white1 - black1 < kMinContrast) return -1;
  double threshold = (white0 + black0 + white1 + black1) / 4;
  int64_t index = 0;
  int parity = 0;
  for (int bit = 0; bit <= kStampDataBits; ++bit) {
    bool on = cell_brightness(rgb, bit / kStampBitsPerRow, 2 + bit % kStampBitsPerRow) > threshold;
    parity ^= on;
    if (on && bit < kStampDataBits) index |= int64_t{1} << bit;
  }
  return parity == 0 ? index : -1;
}

void write_synthetic_video(const std::string& path, const SyntheticVideoSpec& spec) {
  check_spec(path, spec);
  EncoderSettings settings;
  settings.codec = spec.codec;
  settings.width = spec.width;
  settings.height = spec.height;
  settings.fps = spec.fps;
  settings.millisecond_timestamps = spec.variable_frame_rate;
  settings.gop_size = spec.gop_size;
  settings.max_b_frames = spec.max_b_frames;
  settings.open_gop = spec.open_gop;
  settings.display_rotation = spec.display_rotation;
  settings.preset = spec.x264_preset;
  settings.crf = spec.x264_crf;
  VideoWriter writer(path, settings);
  std::vector<int64_t> pts = frame_timestamps(spec);
  for (int64_t i = 0; i < spec.num_frames; ++i) {
    int64_t t = pts[static_cast<size_t>(i)];
    double seconds = spec.variable_frame_rate ? t / 1000.0 : t / spec.fps;
    writer.write(render_synthetic_frame(spec, i, seconds), t);
  }
  writer.finish();
}

namespace {

constexpr const char* kSpecFile = "synthetic.txt";

// Every field that changes the files, one "key=value" per line.
std::string describe(const SyntheticDatasetSpec& s) {
  std::ostringstream out;
  out << "classes=" << s.num_classes << "\ntrain_per_class=" << s.train_per_class
      << "\nval_per_class=" << s.val_per_class << "\nframes=" << s.num_frames << "\nsize=" << s.width << "x"
      << s.height << "\nfps=" << s.fps << "\nkeyint=" << s.gop_size << "\nnoise=" << s.noise
      << "\ncodec=" << s.codec << "\nx264_preset=" << s.x264_preset << "\nx264_crf=" << s.x264_crf
      << "\nseed=" << s.seed << "\n";
  return out.str();
}

}  // namespace

SyntheticDatasetSpec kinetics_like_spec(int videos, int64_t num_frames) {
  if (videos < 1) throw std::invalid_argument("kinetics_like_spec: videos must be >= 1, got " + std::to_string(videos));
  SyntheticDatasetSpec spec;
  spec.num_classes = std::min(4, videos);
  spec.train_per_class = (videos + spec.num_classes - 1) / spec.num_classes;
  spec.val_per_class = 0;
  spec.num_frames = num_frames;
  spec.width = 454;
  spec.height = 340;
  spec.fps = 30.0;
  spec.gop_size = 250;
  spec.noise = 30;
  spec.codec = "h264";
  spec.x264_preset = "medium";
  spec.x264_crf = 23;
  return spec;
}

std::vector<std::string> write_synthetic_dataset(const std::string& dir, const SyntheticDatasetSpec& spec) {
  namespace fs = std::filesystem;
  if (spec.num_classes < 1 || spec.num_classes > kMaxSyntheticClasses) {
    throw std::invalid_argument(dir + ": number of classes must be in [1, " +
                                std::to_string(kMaxSyntheticClasses) + "], got " +
                                std::to_string(spec.num_classes));
  }
  if (spec.train_per_class < 0 || spec.val_per_class < 0) {
    throw std::invalid_argument(dir + ": videos per class must be >= 0");
  }
  std::string ext = synthetic_extension(spec.codec);
  std::vector<std::string> names;
  std::ostringstream train, val, labels;
  labels << "id,name\n";
  for (int label = 0; label < spec.num_classes; ++label) {
    names.push_back(synthetic_class_name(label));
    labels << label << "," << names.back() << "\n";
    std::string class_dir = "videos/" + directory_name(names.back());
    fs::create_directories(fs::path(dir) / class_dir);
    for (int n = 0; n < spec.train_per_class + spec.val_per_class; ++n) {
      SyntheticVideoSpec video;
      video.label = label;
      video.num_classes = spec.num_classes;
      video.num_frames = spec.num_frames;
      video.width = spec.width;
      video.height = spec.height;
      video.fps = spec.fps;
      video.gop_size = spec.gop_size;
      video.noise = spec.noise;
      video.codec = spec.codec;
      video.x264_preset = spec.x264_preset;
      video.x264_crf = spec.x264_crf;
      video.seed = mix(spec.seed, (static_cast<uint64_t>(label) << 32) | static_cast<uint64_t>(n));
      std::string relative = class_dir + "/" + zero_padded(n, 4) + ext;
      write_synthetic_video((fs::path(dir) / relative).string(), video);
      (n < spec.train_per_class ? train : val) << relative << " " << label << "\n";
    }
    util::log_debug(dir + ": wrote class " + std::to_string(label + 1) + "/" +
                    std::to_string(spec.num_classes) + " (" + names.back() + ")");
  }
  util::write_file_atomic((fs::path(dir) / "train.txt").string(), train.str());
  util::write_file_atomic((fs::path(dir) / "val.txt").string(), val.str());
  util::write_file_atomic((fs::path(dir) / "labels.csv").string(), labels.str());
  util::write_file_atomic((fs::path(dir) / kSpecFile).string(), describe(spec));
  return names;
}

bool synthetic_dataset_matches(const std::string& dir, const SyntheticDatasetSpec& spec) {
  const std::string path = (std::filesystem::path(dir) / kSpecFile).string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return false;
  return detail::read_text_file(path) == describe(spec);
}

}  // namespace vifi::data

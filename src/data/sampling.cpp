// Sparse segment sampling; see the header for the formulas and the reference's quirks.
#include "vifi/data/sampling.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vifi::data {
namespace {

void check_sizes(int64_t num_frames, int64_t num_segments) {
  if (num_frames < 1) {
    throw std::invalid_argument("frame sampling: video has " + std::to_string(num_frames) +
                                " frames, expected at least 1");
  }
  if (num_segments < 1) {
    throw std::invalid_argument("frame sampling: num_segments is " + std::to_string(num_segments) +
                                ", expected at least 1");
  }
}

// n < T: offsets round(i * n / T), rounding half to even like np.around, then wrapped mod n.
std::vector<int64_t> spread_short_video(int64_t n, int64_t t) {
  const double ratio = static_cast<double>(n) / static_cast<double>(t);
  std::vector<int64_t> out(static_cast<size_t>(t));
  for (int64_t i = 0; i < t; ++i) {
    // nearbyint uses the current rounding mode, round-to-nearest-even by default.
    const auto offset = static_cast<int64_t>(std::nearbyint(static_cast<double>(i) * ratio));
    out[static_cast<size_t>(i)] = offset % n;
  }
  return out;
}

}  // namespace

std::vector<int64_t> sample_train_indices(int64_t num_frames, int64_t num_segments, Rng& rng) {
  check_sizes(num_frames, num_segments);
  const int64_t avg = num_frames / num_segments;
  if (avg == 0) return spread_short_video(num_frames, num_segments);
  std::vector<int64_t> out(static_cast<size_t>(num_segments));
  for (int64_t i = 0; i < num_segments; ++i) out[static_cast<size_t>(i)] = i * avg + rng.uniform_int(avg);
  return out;
}

std::vector<int64_t> sample_test_indices(int64_t num_frames, int64_t num_segments) {
  return sample_view_indices(num_frames, num_segments, 0, 1);
}

std::vector<int64_t> sample_view_indices(int64_t num_frames, int64_t num_segments, int64_t view, int64_t num_views) {
  check_sizes(num_frames, num_segments);
  if (num_views < 1 || view < 0 || view >= num_views) {
    throw std::invalid_argument("frame sampling: view " + std::to_string(view) + " of " + std::to_string(num_views) +
                                ", expected 0 <= view < num_views");
  }
  const double avg = static_cast<double>(num_frames) / static_cast<double>(num_segments);
  // For one view this is avg / 2.0, the reference's test shift, computed the same way.
  const double shift =
      num_views == 1 ? avg / 2.0 : avg * (static_cast<double>(view) + 0.5) / static_cast<double>(num_views);
  std::vector<int64_t> out(static_cast<size_t>(num_segments));
  for (int64_t i = 0; i < num_segments; ++i) {
    const auto idx = static_cast<int64_t>(static_cast<double>(i) * avg + shift);
    out[static_cast<size_t>(i)] = idx % num_frames;  // never wraps; kept as the reference's loop rule
  }
  return out;
}

std::vector<int64_t> sample_multiview_indices(int64_t num_frames, int64_t num_segments, int64_t num_views) {
  check_sizes(num_frames, num_segments);
  if (num_views < 1) {
    throw std::invalid_argument("frame sampling: num_views is " + std::to_string(num_views) + ", expected at least 1");
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_segments * num_views));
  for (int64_t v = 0; v < num_views; ++v) {
    const auto view = sample_view_indices(num_frames, num_segments, v, num_views);
    out.insert(out.end(), view.begin(), view.end());
  }
  return out;
}

}  // namespace vifi::data

// TSN-style sparse frame sampling: which frames of an n-frame video make up a T-frame clip.
// Owns: the train, test and multi-view index formulas. Pure functions, no I/O.
//
// The reference (ViFi-CLIP's mmaction2 SampleFrames with clip_len=1, frame_interval=1, which is
// the only setting its configs use; vifi implements only that setting):
//   train: avg = n // T; avg > 0: index_i = i*avg + randint(avg)
//                        avg == 0 (n < T): index_i = round_half_even(i * n / T) mod n
//          (NumPy's np.around rounds half to even, and the "loop" out-of-bound rule wraps an
//          index equal to n back to 0; both are kept so indices match the reference exactly).
//   test:  avg = n / T (float); index_i = int(i*avg + avg/2).
//   views: the reference concatenates V *random* train samplings at test time (TEST.NUM_CLIP);
//          vifi's view v uses the test formula with the shift avg*(v + 0.5)/V, so the views are
//          deterministic and evenly spread inside each segment (V = 1 equals test mode).
#pragma once
#include <cstdint>
#include <vector>

#include "vifi/data/rng.h"

namespace vifi::data {

// [T] frame indices in [0, num_frames). Throws std::invalid_argument if num_frames < 1 or
// num_segments < 1.
std::vector<int64_t> sample_train_indices(int64_t num_frames, int64_t num_segments, Rng& rng);

// [T] deterministic centre-of-segment indices.
std::vector<int64_t> sample_test_indices(int64_t num_frames, int64_t num_segments);

// [T] indices of view `view` out of `num_views` (0 <= view < num_views).
std::vector<int64_t> sample_view_indices(int64_t num_frames, int64_t num_segments, int64_t view, int64_t num_views);

// [V*T] all views concatenated, view-major (view 0's T indices, then view 1's, ...).
std::vector<int64_t> sample_multiview_indices(int64_t num_frames, int64_t num_segments, int64_t num_views);

}  // namespace vifi::data

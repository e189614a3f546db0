// Which dataset indices one rank visits in one epoch, and in what order.
// Owns: per-epoch shuffling and the split across ranks. Pure functions.
//   train: torch DistributedSampler semantics. A permutation of 0..n-1 (seeded by seed and epoch,
//          identical on every rank) is padded by wrapping around to a multiple of world_size;
//          rank r takes positions r, r + W, r + 2W, ... So every rank gets ceil(n / W) samples
//          and a few samples are seen twice per epoch when W does not divide n.
//   eval:  dataset order, rank r takes r, r + W, ... < n (the reference's np.arange(rank, n, W)):
//          every sample exactly once across ranks, no padding, shards may differ by one.
// In both layouts the k-th sample of rank r sits at global position r + k*W of the epoch; the
// loader keys per-sample random draws by that position.
#pragma once
#include <cstdint>
#include <vector>

namespace vifi::data {

// [n] a permutation of 0..n-1 that depends only on (n, seed, epoch).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

// Throws std::invalid_argument if n < 1 or rank/world_size are inconsistent.
std::vector<int64_t> train_shard(int64_t n, int rank, int world_size, bool shuffle, uint64_t seed, int64_t epoch);

// Throws std::invalid_argument if rank/world_size are inconsistent; n == 0 gives an empty shard.
std::vector<int64_t> eval_shard(int64_t n, int rank, int world_size);

}  // namespace vifi::data

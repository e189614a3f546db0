// Epoch order and rank shards; semantics in the header.
#include "vifi/data/sharding.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "vifi/data/rng.h"

namespace vifi::data {
namespace {

void check_rank(int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw std::invalid_argument("sharding: rank " + std::to_string(rank) + " of world size " +
                                std::to_string(world_size) + ", expected 0 <= rank < world_size");
  }
}

}  // namespace

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(order.begin(), order.end(), 0);
  Rng rng = Rng::keyed(seed, epoch, 0, RngStream::shuffle);
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(rng.uniform_int(i + 1))]);
  }
  return order;
}

std::vector<int64_t> train_shard(int64_t n, int rank, int world_size, bool shuffle, uint64_t seed, int64_t epoch) {
  check_rank(rank, world_size);
  if (n < 1) throw std::invalid_argument("sharding: the training set is empty");
  std::vector<int64_t> order(static_cast<size_t>(n));
  if (shuffle) {
    order = epoch_permutation(n, seed, epoch);
  } else {
    std::iota(order.begin(), order.end(), 0);
  }
  const int64_t per_rank = (n + world_size - 1) / world_size;
  std::vector<int64_t> shard;
  shard.reserve(static_cast<size_t>(per_rank));
  for (int64_t k = 0; k < per_rank; ++k) {
    const int64_t position = rank + k * world_size;             // < per_rank * W = padded length
    shard.push_back(order[static_cast<size_t>(position % n)]);  // wrap-around padding
  }
  return shard;
}

std::vector<int64_t> eval_shard(int64_t n, int rank, int world_size) {
  check_rank(rank, world_size);
  std::vector<int64_t> shard;
  for (int64_t i = rank; i < n; i += world_size) shard.push_back(i);
  return shard;
}

}  // namespace vifi::data

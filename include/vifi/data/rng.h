// Portable, seedable random numbers for the data pipeline.
// Owns: the generator every data-side random draw goes through (frame offsets, crop choice, flip,
// colour jitter, shuffling, replacement of bad samples). It is a value type: each sample gets its
// own Rng keyed by (seed, epoch, slot, stream), so results do not depend on which worker thread
// ran it or in what order. std::uniform_*_distribution is implementation-defined (libstdc++ and
// libc++ give different numbers), so the distributions are written out here.
#pragma once
#include <cstdint>
#include <stdexcept>

namespace vifi::data {

// Independent draw sequences for the same (seed, epoch, slot): changing how many numbers one
// stage draws never shifts another stage's numbers.
enum class RngStream : uint64_t { sampling = 1, augment = 2, shuffle = 3, replace = 4, fewshot = 5 };

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  // A generator keyed by several integers (hashed with SplitMix64's finaliser, order-sensitive).
  static Rng keyed(uint64_t seed, int64_t a, int64_t b, RngStream stream) {
    uint64_t h = mix(seed ^ 0x9e3779b97f4a7c15ULL);
    h = mix(h ^ static_cast<uint64_t>(a));
    h = mix(h ^ static_cast<uint64_t>(b));
    h = mix(h ^ static_cast<uint64_t>(stream));
    return Rng(h);
  }

  // SplitMix64 (Steele, Lea, Flood 2014): full 2^64 period, passes BigCrush.
  uint64_t next_u64() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix(state_);
  }

  // Uniform integer in [0, n), unbiased (rejection of the short last bucket).
  int64_t uniform_int(int64_t n) {
    if (n <= 0) throw std::invalid_argument("Rng::uniform_int: n must be positive");
    const uint64_t un = static_cast<uint64_t>(n);
    const uint64_t limit = UINT64_MAX - UINT64_MAX % un;
    uint64_t x = next_u64();
    while (x >= limit) x = next_u64();
    return static_cast<int64_t>(x % un);
  }

  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool bernoulli(double p) { return uniform() < p; }

 private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t state_;
};

}  // namespace vifi::data

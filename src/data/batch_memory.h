// Private to src/data: reusable memory for the loader's batch tensors.
// A batch of clips ([8,8,3,224,224] float: 38.5 MB) is above glibc's largest mmap threshold
// (32 MiB), so each one used to be mapped afresh and every page faulted on first write: on the
// test VM a third of the loader's time (docs/performance.md). Blocks freed by the batch tensors'
// deleters come back here, pages still mapped, for the next batch of the same size. New blocks
// of a huge page or more are asked for transparent huge pages (Linux, THP in "madvise" mode as Debian ships it): the
// first batches of a run then fault 2 MiB at a time instead of 4 KiB (on the test VM each 4 KiB
// fault cost about 9 us, so a fresh 77 MB batch of 16-frame clips spent some 170 ms faulting).
#pragma once
#include <torch/torch.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace vifi::data::detail {

class BatchMemory : public std::enable_shared_from_this<BatchMemory> {
 public:
  // Keeps at most `max_free` blocks for reuse (the batches in flight); more are freed.
  static std::shared_ptr<BatchMemory> create(size_t max_free) {
    return std::shared_ptr<BatchMemory>(new BatchMemory(max_free));
  }

  ~BatchMemory() {
    for (auto& [bytes, block] : free_) std::free(block);
  }
  BatchMemory(const BatchMemory&) = delete;
  BatchMemory& operator=(const BatchMemory&) = delete;

  // An uninitialised float32 tensor of `shape` whose memory returns here when the last tensor
  // sharing it dies (the pool lives as long as any such tensor). Throws std::bad_alloc.
  torch::Tensor empty_float(const std::vector<int64_t>& shape) {
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    const size_t bytes = block_bytes(static_cast<size_t>(numel) * sizeof(float));
    void* block = take(bytes);
    if (!block) block = new_block(bytes);
    if (!block) throw std::bad_alloc();
    auto self = shared_from_this();
    return torch::from_blob(
        block, shape, [self, bytes](void* p) { self->give_back(p, bytes); }, torch::kFloat32);
  }

 private:
  static constexpr size_t kHugePage = size_t{2} << 20;  // x86-64's
  static constexpr size_t kCacheLine = 64;

  explicit BatchMemory(size_t max_free) : max_free_(max_free) {}

  // Rounded up to whole huge pages from one huge page on (so blocks of one batch shape share a
  // size), to cache lines below (a small batch does not take 2 MiB).
  static size_t block_bytes(size_t bytes) {
    const size_t unit = bytes >= kHugePage ? kHugePage : kCacheLine;
    return std::max((bytes + unit - 1) / unit * unit, kCacheLine);
  }

  static void* new_block(size_t bytes) {
    const bool huge = bytes >= kHugePage;
    void* block = std::aligned_alloc(huge ? kHugePage : kCacheLine, bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (block && huge) madvise(block, bytes, MADV_HUGEPAGE);  // advice only: a refusal leaves 4 KiB pages
#endif
    return block;
  }

  void* take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < free_.size(); ++i) {
      if (free_[i].first == bytes) {
        void* block = free_[i].second;
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
        return block;
      }
    }
    return nullptr;
  }

  void give_back(void* block, size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.size() < max_free_) {
      free_.emplace_back(bytes, block);
    } else {
      std::free(block);
    }
  }

  size_t max_free_;
  std::mutex mutex_;
  std::vector<std::pair<size_t, void*>> free_;  // (bytes, block)
};

}  // namespace vifi::data::detail

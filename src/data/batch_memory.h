// Private to src/data: reusable memory for the loader's batch tensors.
// A batch of clips ([8,8,3,224,224] float: 38.5 MB) is above glibc's largest mmap threshold
// (32 MiB), so each one used to be mapped afresh and every page faulted on first write: on the
// test VM a third of the loader's time (docs/performance.md). Blocks freed by the batch tensors'
// deleters come back here, pages still mapped, for the next batch of the same size.
#pragma once
#include <torch/torch.h>

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
    const size_t bytes = (static_cast<size_t>(numel) * sizeof(float) + 63) / 64 * 64;
    void* block = take(bytes);
    if (!block) block = std::aligned_alloc(64, std::max<size_t>(bytes, 64));
    if (!block) throw std::bad_alloc();
    auto self = shared_from_this();
    return torch::from_blob(
        block, shape, [self, bytes](void* p) { self->give_back(p, bytes); }, torch::kFloat32);
  }

 private:
  explicit BatchMemory(size_t max_free) : max_free_(max_free) {}

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

// In-memory batch source (tests, benchmarks, the demo's cached features path).
#include "vifi/batch/batch_source.h"

namespace vifi {

TensorBatchSource::TensorBatchSource(torch::Tensor video, torch::Tensor label, int64_t batch_size, bool shuffle,
                                     uint64_t seed)
    : video_(std::move(video)), label_(std::move(label)), batch_size_(batch_size), shuffle_(shuffle), seed_(seed) {
  TORCH_CHECK(video_.size(0) == label_.size(0), "TensorBatchSource: ", video_.size(0), " videos but ", label_.size(0),
              " labels");
  TORCH_CHECK(batch_size_ > 0, "TensorBatchSource: batch size must be > 0");
}

void TensorBatchSource::start_epoch(int64_t epoch, int64_t skip_batches) {
  const auto n = label_.size(0);
  if (shuffle_) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_ * 1000003ULL + static_cast<uint64_t>(epoch));
    order_ = torch::randperm(n, gen, torch::kLong);
  } else {
    order_ = torch::arange(n, torch::kLong);
  }
  cursor_ = std::min(n, skip_batches * batch_size_);
}

std::optional<ClipBatch> TensorBatchSource::next() {
  TORCH_CHECK(order_.defined(), "TensorBatchSource: next() before start_epoch()");
  if (cursor_ >= order_.size(0)) return std::nullopt;
  auto rows = order_.narrow(0, cursor_, std::min(batch_size_, order_.size(0) - cursor_));
  cursor_ += rows.size(0);
  ClipBatch batch;
  batch.video = video_.index_select(0, rows);
  batch.label = label_.index_select(0, rows);
  batch.index.assign(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.size(0));
  return batch;
}

int64_t TensorBatchSource::num_batches() const { return (label_.size(0) + batch_size_ - 1) / batch_size_; }

int64_t TensorBatchSource::batch_clips(int64_t batch) const {
  TORCH_CHECK_INDEX(batch >= 0 && batch < num_batches(), "TensorBatchSource: batch ", batch, " of ", num_batches());
  return std::min(batch_size_, label_.size(0) - batch * batch_size_);
}

}  // namespace vifi

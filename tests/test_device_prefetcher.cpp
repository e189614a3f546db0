// The device prefetcher (batch/device_prefetcher): the same batches in the same order as its
// source, fetched one ahead, the epoch's skip passed through; on the CPU no copy is made.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vifi/batch/device_prefetcher.h"

namespace vifi {
namespace {

// Counts how far the consumer has pulled the source.
class CountingSource : public vifi::TensorBatchSource {
 public:
  using TensorBatchSource::TensorBatchSource;
  void start_epoch(int64_t epoch, int64_t skip_batches) override {
    skipped = skip_batches;
    TensorBatchSource::start_epoch(epoch, skip_batches);
  }
  std::optional<vifi::ClipBatch> next() override {
    ++pulled;
    return TensorBatchSource::next();
  }
  int pulled = 0;
  int64_t skipped = -1;
};

CountingSource make_source() {
  torch::manual_seed(0);
  return CountingSource(torch::randn({5, 2, 3, 4, 4}), torch::arange(5), /*batch_size=*/2, /*shuffle=*/true, 11);
}

TEST(DevicePrefetcher, YieldsTheSourceBatchesOneAhead) {
  auto reference = make_source();
  reference.start_epoch(3, 0);
  auto source = make_source();
  vifi::DevicePrefetcher prefetcher(source, torch::kCPU);
  prefetcher.start_epoch(3);
  EXPECT_EQ(source.pulled, 1);  // the first batch is queued before anyone asks
  for (int i = 0; i < 3; ++i) {
    auto want = reference.next();
    auto got = prefetcher.next();
    ASSERT_TRUE(want && got) << "batch " << i;
    EXPECT_TRUE(torch::equal(got->video, want->video)) << "batch " << i;
    EXPECT_TRUE(torch::equal(got->label, want->label)) << "batch " << i;
    EXPECT_EQ(got->index, want->index);
    EXPECT_EQ(source.pulled, i + 2);  // and the next one right after
  }
  EXPECT_FALSE(prefetcher.next());
  EXPECT_FALSE(prefetcher.next());
}

TEST(DevicePrefetcher, PassesTheResumeSkipToTheSource) {
  auto source = make_source();
  vifi::DevicePrefetcher prefetcher(source, torch::kCPU);
  prefetcher.start_epoch(0, 2);
  EXPECT_EQ(source.skipped, 2);
  auto last = prefetcher.next();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->label.size(0), 1);  // 5 clips in batches of 2: only the last one is left
  EXPECT_FALSE(prefetcher.next());
}

TEST(DevicePrefetcher, CpuBatchesAreNotCopied) {
  vifi::ClipBatch batch;
  batch.video = torch::ones({1, 2, 3, 4, 4});
  batch.label = torch::zeros({1}, torch::kLong);
  batch.index = {0};
  const auto* data = batch.video.data_ptr<float>();
  const auto moved = vifi::to_device(batch, torch::kCPU);
  EXPECT_EQ(moved.video.data_ptr<float>(), data);
}

}  // namespace
}  // namespace vifi

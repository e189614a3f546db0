// Metric arithmetic (pure, CPU).
#include "vifi/eval/metrics.h"

#include <cmath>
#include <limits>

namespace vifi::eval {

ClassificationCounts::ClassificationCounts(int64_t num_classes)
    : num_classes_(num_classes), confusion_(torch::zeros({num_classes, num_classes}, torch::kLong)) {}

void ClassificationCounts::update(const torch::Tensor& scores, const torch::Tensor& labels) {
  TORCH_CHECK(scores.dim() == 2 && scores.size(1) == num_classes_, "scores must be [B,", num_classes_, "], got ",
              scores.sizes());
  auto s = scores.detach().to(torch::kCPU, torch::kFloat32);
  auto y = labels.detach().to(torch::kCPU, torch::kLong).view({-1, 1});
  const auto k = std::min<int64_t>(5, num_classes_);
  auto topk = std::get<1>(s.topk(k, 1));  // [B,k]
  top1_ += topk.select(1, 0).eq(y.view(-1)).sum().item<int64_t>();
  top5_ += topk.eq(y).any(1).sum().item<int64_t>();
  total_ += s.size(0);
  auto flat = y.view(-1) * num_classes_ + topk.select(1, 0);
  confusion_.view(-1).index_add_(0, flat, torch::ones_like(flat));
}

void ClassificationCounts::merge(const ClassificationCounts& other) {
  TORCH_CHECK(other.num_classes_ == num_classes_, "cannot merge counts over ", other.num_classes_, " and ",
              num_classes_, " classes");
  total_ += other.total_;
  top1_ += other.top1_;
  top5_ += other.top5_;
  confusion_ += other.confusion_;
}

double ClassificationCounts::top1() const { return total_ ? 100.0 * top1_ / total_ : 0.0; }
double ClassificationCounts::top5() const { return total_ ? 100.0 * top5_ / total_ : 0.0; }

std::vector<double> ClassificationCounts::per_class_accuracy() const {
  std::vector<double> acc(static_cast<size_t>(num_classes_), std::numeric_limits<double>::quiet_NaN());
  auto rows = confusion_.sum(1);
  for (int64_t c = 0; c < num_classes_; ++c) {
    const auto n = rows[c].item<int64_t>();
    if (n) acc[static_cast<size_t>(c)] = 100.0 * confusion_[c][c].item<int64_t>() / n;
  }
  return acc;
}

torch::Tensor ClassificationCounts::to_tensor() const {
  return torch::cat({torch::tensor({total_, top1_, top5_}, torch::kLong), confusion_.flatten()});
}

ClassificationCounts ClassificationCounts::from_tensor(const torch::Tensor& packed, int64_t num_classes) {
  auto p = packed.to(torch::kCPU, torch::kLong);
  TORCH_CHECK(p.numel() == 3 + num_classes * num_classes, "packed counts have ", p.numel(), " entries, expected ",
              3 + num_classes * num_classes);
  ClassificationCounts c(num_classes);
  c.total_ = p[0].item<int64_t>();
  c.top1_ = p[1].item<int64_t>();
  c.top5_ = p[2].item<int64_t>();
  c.confusion_ = p.narrow(0, 3, num_classes * num_classes).view({num_classes, num_classes}).clone();
  return c;
}

double harmonic_mean(double a, double b) { return (a + b) > 0 ? 2.0 * a * b / (a + b) : 0.0; }

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd r;
  if (values.empty()) return r;
  for (double v : values) r.mean += v;
  r.mean /= static_cast<double>(values.size());
  for (double v : values) r.std += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(r.std / static_cast<double>(values.size()));
  return r;
}

}  // namespace vifi::eval

// Classification metrics: top-1/top-5 counts, per-class accuracy and the confusion matrix.
// Counts, not ratios, so shards from several ranks merge exactly. (Views: eval/views.)
#pragma once
#include <torch/torch.h>

#include <vector>

namespace vifi::eval {

class ClassificationCounts {
 public:
  explicit ClassificationCounts(int64_t num_classes = 0);

  // scores [B,C] (probabilities or logits), labels [B] int64.
  void update(const torch::Tensor& scores, const torch::Tensor& labels);
  void merge(const ClassificationCounts& other);

  int64_t num_classes() const { return num_classes_; }
  int64_t total() const { return total_; }
  int64_t top1_correct() const { return top1_; }
  int64_t top5_correct() const { return top5_; }
  double top1() const;  // percent
  double top5() const;  // percent (top-min(5,C))
  std::vector<double> per_class_accuracy() const;  // percent; NaN for classes with no sample
  const torch::Tensor& confusion() const { return confusion_; }  // [C,C] int64, row = true class

  // [3 + C*C] int64 vector for all-reduce, and back.
  torch::Tensor to_tensor() const;
  static ClassificationCounts from_tensor(const torch::Tensor& packed, int64_t num_classes);

 private:
  int64_t num_classes_;
  int64_t total_ = 0, top1_ = 0, top5_ = 0;
  torch::Tensor confusion_;
};

// Harmonic mean of two accuracies (base-to-novel HM); 0 if both are 0.
double harmonic_mean(double a, double b);

struct MeanStd {
  double mean = 0, std = 0;  // population std over the values, as the paper's "mean +- std"
};
MeanStd mean_std(const std::vector<double>& values);

}  // namespace vifi::eval

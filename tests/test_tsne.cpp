// eval/tsne: PCA keeps the directions of largest variance, affinities are calibrated to the
// perplexity, and t-SNE keeps well-separated clusters apart (k-NN accuracy on the 2-D map).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>

#include "vifi/eval/tsne.h"

namespace vifi {
namespace {

// `classes` Gaussian blobs of `per_class` points in `dims` dimensions, centres 10 apart.
std::pair<torch::Tensor, torch::Tensor> blobs(int64_t classes, int64_t per_class, int64_t dims) {
  torch::manual_seed(3);
  const auto centres = torch::randn({classes, dims}) * 10.0 / std::sqrt(2.0);
  const auto labels = torch::arange(classes).repeat_interleave(per_class);
  return {centres.index_select(0, labels) + torch::randn({classes * per_class, dims}), labels};
}

// Leave-one-out k-nearest-neighbour accuracy of `labels` on points `y` [N,2].
double knn_accuracy(const torch::Tensor& y, const torch::Tensor& labels, int64_t k) {
  auto d = torch::cdist(y, y);
  d.fill_diagonal_(std::numeric_limits<float>::infinity());
  const auto neighbours = std::get<1>(d.topk(k, 1, /*largest=*/false));  // [N,k]
  const auto votes = labels.index_select(0, neighbours.flatten()).view({-1, k});
  const auto predicted = std::get<0>(votes.mode(1));
  return predicted.eq(labels).to(torch::kDouble).mean().item<double>();
}

TEST(Pca, ProjectsOntoTheLargestVarianceDirectionsFirst) {
  torch::manual_seed(0);
  auto x = torch::randn({200, 5}) * torch::tensor({1.0, 10.0, 0.1, 3.0, 0.5});
  const auto p = eval::pca(x, 2);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{200, 2}));
  const auto var = p.var(0);
  EXPECT_NEAR(var[0].item<double>(), 100.0, 20.0);
  EXPECT_NEAR(var[1].item<double>(), 9.0, 2.0);
}

TEST(Tsne, AffinitiesAreSymmetricSumToOneAndMatchThePerplexity) {
  const auto [x, labels] = blobs(3, 20, 8);
  const auto sq = torch::cdist(x, x).pow(2);
  const auto p = eval::tsne_affinities(sq, 10.0);
  EXPECT_NEAR(p.sum().item<double>(), 1.0, 1e-6);
  EXPECT_TRUE(torch::allclose(p, p.t()));
  EXPECT_EQ(p.diagonal().abs().max().item<double>(), 0.0);
}

TEST(Tsne, SeparatesWellSeparatedClusters) {
  const auto [x, labels] = blobs(5, 40, 64);
  eval::TsneOptions options;
  options.iterations = 500;
  const auto y = eval::tsne(x, options);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{200, 2}));
  EXPECT_FALSE(torch::isnan(y).any().item<bool>());
  const double accuracy = knn_accuracy(y, labels, 5);
  RecordProperty("knn_accuracy", std::to_string(accuracy));
  std::cout << "5-NN accuracy on the 2-D map: " << accuracy << "\n";
  EXPECT_GE(accuracy, 0.98);
}

TEST(Tsne, IsDeterministicForASeed) {
  const auto [x, labels] = blobs(2, 10, 4);
  eval::TsneOptions options;
  options.iterations = 100;
  EXPECT_TRUE(torch::equal(eval::tsne(x, options), eval::tsne(x, options)));
}

TEST(Tsne, RejectsASinglePoint) { EXPECT_THROW(eval::tsne(torch::randn({1, 3})), c10::Error); }

}  // namespace
}  // namespace vifi

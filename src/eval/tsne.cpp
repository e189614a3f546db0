// PCA and exact t-SNE. Everything runs in float64: the affinities of far points are tiny and
// the bisection compares entropies to 1e-5.
#include "vifi/eval/tsne.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

namespace vifi::eval {
namespace {

torch::Tensor squared_distances(const torch::Tensor& x) {  // [N,D] -> [N,N]
  const auto sq = (x * x).sum(1);
  return (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * torch::matmul(x, x.t())).clamp_min(0);
}

// Row entropies H_i (nats) and conditional probabilities for precisions `beta` [N,1]; `d` has
// +inf on the diagonal so a point is never its own neighbour.
std::pair<torch::Tensor, torch::Tensor> conditional(const torch::Tensor& d, const torch::Tensor& beta) {
  auto p = torch::exp(-d * beta);  // d is shifted by its row minimum: no underflow of the nearest
  const auto sum = p.sum(1, true).clamp_min(1e-300);
  const auto finite_d = torch::where(torch::isinf(d), torch::zeros_like(d), d);
  const auto entropy = torch::log(sum) + beta * (finite_d * p).sum(1, true) / sum;
  return {entropy, p / sum};
}

// The update of one t-SNE step; returns the gradient of KL(P||Q) w.r.t. y [N,2].
torch::Tensor kl_gradient(const torch::Tensor& p, const torch::Tensor& y) {
  auto num = 1.0 / (1.0 + squared_distances(y));
  num.fill_diagonal_(0.0);
  const auto q = (num / num.sum()).clamp_min(1e-12);
  const auto pq = (p - q) * num;  // [N,N]
  return 4.0 * (pq.sum(1, true) * y - torch::matmul(pq, y));
}

}  // namespace

torch::Tensor pca(const torch::Tensor& x, int64_t dims) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) >= 1, "pca expects [N,D] with N >= 1, got ", x.sizes());
  const auto centred = x.to(torch::kDouble) - x.to(torch::kDouble).mean(0, true);
  const auto keep = std::min({dims, x.size(1), x.size(0)});
  if (keep == x.size(1)) return centred;  // nothing to reduce: a rotation would not change t-SNE
  auto [eigenvalues, vectors] = torch::linalg_eigh(torch::matmul(centred.t(), centred), "L");
  auto top = vectors.flip(1).narrow(1, 0, keep);  // [D,keep], eigenvalues descending
  const auto biggest = top.abs().argmax(0);
  const auto signs = top.gather(0, biggest.unsqueeze(0)).sign();
  return torch::matmul(centred, top * torch::where(signs == 0, torch::ones_like(signs), signs));
}

torch::Tensor tsne_affinities(const torch::Tensor& squared_dist, double perplexity) {
  const auto n = squared_dist.size(0);
  auto d = squared_dist.to(torch::kDouble).clone();
  d.fill_diagonal_(std::numeric_limits<double>::infinity());
  d = d - std::get<0>(d.min(1, true));
  const double target = std::log(perplexity);
  auto beta = torch::ones({n, 1}, d.options());
  auto lo = torch::zeros_like(beta);
  auto hi = torch::full_like(beta, std::numeric_limits<double>::infinity());
  torch::Tensor p;
  for (int it = 0; it < 100; ++it) {
    auto [entropy, probs] = conditional(d, beta);
    p = probs;
    // Entropy falls as beta grows: too high an entropy means beta must grow.
    const auto grow = entropy > target;
    lo = torch::where(grow, beta, lo);
    hi = torch::where(grow, hi, beta);
    beta = torch::where(torch::isinf(hi), beta * 2, (lo + hi) / 2);
    if ((entropy - target).abs().max().item<double>() < 1e-5) break;
  }
  p = (p + p.t()) / (2.0 * static_cast<double>(n));
  return p.clamp_min(1e-12).fill_diagonal_(0.0);
}

torch::Tensor tsne(const torch::Tensor& x, const TsneOptions& o) {
  TORCH_CHECK(x.dim() == 2 && x.size(0) >= 2, "t-SNE expects [N,D] with N >= 2 points, got ", x.sizes());
  const auto n = x.size(0);
  const auto reduced = o.pca_dims > 0 ? pca(x, o.pca_dims) : x.to(torch::kDouble);
  const double perplexity = std::max(1.0, std::min(o.perplexity, (static_cast<double>(n) - 1.0) / 3.0));
  const auto p = tsne_affinities(squared_distances(reduced), perplexity);
  const double lr = o.learning_rate > 0 ? o.learning_rate : std::max(static_cast<double>(n) / o.early_exaggeration / 4, 50.0);

  auto generator = at::detail::createCPUGenerator(o.seed);
  auto y = torch::randn({n, 2}, generator, torch::TensorOptions().dtype(torch::kDouble)) * 1e-4;
  auto velocity = torch::zeros_like(y);
  auto gains = torch::ones_like(y);
  for (int64_t it = 0; it < o.iterations; ++it) {
    const bool early = it < o.exaggeration_iterations;
    const auto grad = kl_gradient(early ? p * o.early_exaggeration : p, y);
    // Delta-bar-delta gains: grow a coordinate's step while the gradient keeps its direction.
    const auto same_direction = (grad > 0) == (velocity > 0);
    gains = torch::where(same_direction, gains * 0.8, gains + 0.2).clamp_min(0.01);
    velocity = (early ? 0.5 : 0.8) * velocity - lr * gains * grad;
    y = y + velocity;
    y = y - y.mean(0, true);
  }
  return y.to(torch::kFloat);
}

}  // namespace vifi::eval

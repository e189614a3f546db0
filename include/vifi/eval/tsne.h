// 2-D maps of embeddings for plots (the paper's Fig. 1): PCA, then exact t-SNE (van der Maaten &
// Hinton 2008) on LibTorch tensors. Owns: the PCA projection, the perplexity calibration (one
// bisection per point, all points at once) and the gradient descent with early exaggeration,
// momentum and per-coordinate gains, as the reference implementation (tsne.py) and sklearn do.
//
// Exact t-SNE is O(N^2) in time and memory: fine for a few thousand videos (3,000 points hold
// 9M-entry affinity matrices), which is what a per-dataset scatter plot shows.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace vifi::eval {

// Rows projected onto the top `dims` principal components: [N,D] -> [N,min(dims,D,N)]; the
// sign of each component is fixed (largest |loading| positive) so runs are reproducible.
torch::Tensor pca(const torch::Tensor& x, int64_t dims);

struct TsneOptions {
  double perplexity = 30.0;       // effective neighbours; clamped to (N-1)/3 for small N
  int64_t pca_dims = 50;          // PCA first (0: none)
  int64_t iterations = 1000;
  int64_t exaggeration_iterations = 250;
  double early_exaggeration = 12.0;
  double learning_rate = 0.0;     // 0: sklearn's "auto", max(N / exaggeration / 4, 50)
  uint64_t seed = 0;              // initial layout ~ N(0, 1e-4)
};

// Symmetric joint probabilities P [N,N] (zero diagonal, sum 1) from squared distances [N,N],
// each row's Gaussian width calibrated to `perplexity` by bisection on its precision.
torch::Tensor tsne_affinities(const torch::Tensor& squared_distances, double perplexity);

// [N,D] float -> [N,2] float32 layout. Needs N >= 2.
torch::Tensor tsne(const torch::Tensor& x, const TsneOptions& options = {});

}  // namespace vifi::eval

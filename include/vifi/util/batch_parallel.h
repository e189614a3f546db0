// Batch parallelism across CPU cores: one chunk of the batch per core, every op of a chunk run
// serially on its own core, forward and backward.
//
// Why: on a few cores, intra-op parallelism wastes much of the machine. Each op of a ViT block
// forks and joins the OpenMP team, the many small elementwise ops barely scale, and OpenBLAS's
// own pthreads spin after every GEMM while ATen's OpenMP threads want the same cores. Running
// independent chunks serially and concurrently removes all of that: on 2 cores (ViT-B/16, 8
// frames, fp32) eager PyTorch goes from 4.0-4.6 img/s to 6.0-6.5 img/s this way
// (docs/performance.md). It is data parallelism inside one process, as DDP is across GPUs.
//
// With autograd, each chunk records its own graph on its own thread; the backward pass runs the
// chunks' graphs concurrently again and sums their parameter gradients in chunk order, so the
// result does not depend on thread timing (a shared .grad accumulated by racing threads would).
//
// Contract: fn must treat rows independently (row i of the output depends only on row i of the
// input) and only read shared state; with autograd, `params` must list every tensor fn reads
// that may need a gradient, or that gradient is lost.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

namespace vifi::util {

using BatchFunction = std::function<torch::Tensor(const torch::Tensor&)>;

// Cores the batch would be split over now: ATen's thread count, or 1 (no split) when the tensor
// is not on the CPU, ATen runs one thread, or the batch has fewer rows than threads.
int64_t batch_parallel_workers(const torch::Tensor& input);

// fn(input), computed as cat_i fn(chunk_i) with the chunks of dim 0 run concurrently, each with
// serial ATen kernels and single-threaded BLAS; thread settings are restored afterwards, also
// when fn throws. Falls back to fn(input) when batch_parallel_workers(input) == 1.
torch::Tensor map_batch_across_cores(const torch::Tensor& input, const BatchFunction& fn,
                                     const std::vector<torch::Tensor>& params = {});

}  // namespace vifi::util

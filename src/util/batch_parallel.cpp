// Batch parallelism across CPU cores: see the header for why. The thread settings are global
// to the process (ATen's intra-op count and OpenBLAS's pool), so a guard changes them for the
// span of one parallel section and puts them back.
#include "vifi/util/batch_parallel.h"

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <dlfcn.h>

#include <exception>
#include <thread>

namespace vifi::util {
namespace {

// OpenBLAS's thread count, when the process's BLAS is OpenBLAS (Debian's LibTorch). Looked up
// at run time: a LibTorch with MKL has none, and at::set_num_threads already covers MKL.
struct OpenBlasThreads {
  using Get = int (*)();
  using Set = void (*)(int);
  Get get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  Set set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  bool present() const { return get != nullptr && set != nullptr; }
};

// The symbols do not change while the process runs: look them up once.
const OpenBlasThreads& openblas_threads() {
  static const OpenBlasThreads lookup;
  return lookup;
}

// Serial kernels for the duration of a scope: one ATen intra-op thread, one BLAS thread.
class SerialKernelsGuard {
 public:
  SerialKernelsGuard() : aten_threads_(at::get_num_threads()) {
    if (blas_.present()) blas_threads_ = blas_.get();
    at::set_num_threads(1);
    if (blas_.present()) blas_.set(1);
  }
  ~SerialKernelsGuard() {
    at::set_num_threads(aten_threads_);
    if (blas_.present()) blas_.set(blas_threads_);
  }
  SerialKernelsGuard(const SerialKernelsGuard&) = delete;
  SerialKernelsGuard& operator=(const SerialKernelsGuard&) = delete;

 private:
  const OpenBlasThreads& blas_ = openblas_threads();
  int aten_threads_;
  int blas_threads_ = 1;
};

// Runs task(i) for i in [0, n) at once, task 0 on the calling thread, each with the caller's
// thread-local state (grad and inference mode, autocast) and serial kernels. Rethrows the
// first task's exception after all have finished.
void run_concurrently(size_t n, const std::function<void(size_t)>& task) {
  std::vector<std::exception_ptr> errors(n);
  const at::ThreadLocalState caller_state;
  auto run = [&](size_t i) {
    try {
      at::ThreadLocalStateGuard state(caller_state);
      at::set_num_threads(1);  // this thread's OpenMP team, as the guard did for the caller's
      task(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  {
    SerialKernelsGuard serial;
    std::vector<std::thread> threads;
    for (size_t i = 1; i < n; ++i) threads.emplace_back(run, i);
    run(0);
    for (auto& t : threads) t.join();
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

std::vector<torch::Tensor> map_chunks(const std::vector<torch::Tensor>& chunks, const BatchFunction& fn) {
  std::vector<torch::Tensor> outputs(chunks.size());
  run_concurrently(chunks.size(), [&](size_t i) { outputs[i] = fn(chunks[i]); });
  return outputs;
}

// The autograd node of a split forward: inputs are the batch and the parameters; forward
// records one graph per chunk, backward differentiates them concurrently and sums in order.
struct BatchParallelFunction : public torch::autograd::Function<BatchParallelFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               at::TensorList params, int64_t fn_address, int64_t workers) {
    const auto& fn = *reinterpret_cast<const BatchFunction*>(fn_address);  // used only during forward
    torch::AutoGradMode enable(true);  // Function::forward runs without grad; the chunks need their graphs
    std::vector<torch::Tensor> leaves;
    for (const auto& chunk : input.chunk(workers, 0))
      leaves.push_back(input.requires_grad() ? chunk.detach().requires_grad_(true) : chunk);
    auto outputs = map_chunks(leaves, fn);
    ctx->saved_data["leaves"] = leaves;
    ctx->saved_data["outputs"] = outputs;
    ctx->saved_data["params"] = params.vec();
    std::vector<torch::Tensor> detached;
    for (const auto& o : outputs) detached.push_back(o.detach());
    return torch::cat(detached, 0);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto leaves = ctx->saved_data["leaves"].toTensorVector();
    const auto outputs = ctx->saved_data["outputs"].toTensorVector();
    const auto params = ctx->saved_data["params"].toTensorVector();
    const bool input_grad = leaves.front().requires_grad();
    std::vector<int64_t> sizes;
    for (const auto& o : outputs) sizes.push_back(o.size(0));
    const auto grad_chunks = grad_outputs[0].split_with_sizes(sizes, 0);
    std::vector<torch::autograd::variable_list> grads(outputs.size());
    run_concurrently(outputs.size(), [&](size_t i) {
      auto wrt = params;
      if (input_grad) wrt.push_back(leaves[i]);
      grads[i] = torch::autograd::grad({outputs[i]}, wrt, {grad_chunks[i]}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    });
    torch::autograd::variable_list result;
    torch::Tensor input_grad_total;
    if (input_grad) {
      std::vector<torch::Tensor> parts;
      for (const auto& g : grads) parts.push_back(g.back());
      input_grad_total = torch::cat(parts, 0);
    }
    result.push_back(input_grad_total);
    for (size_t p = 0; p < params.size(); ++p) result.push_back(sum_in_order(grads, p));
    result.emplace_back();  // fn_address
    result.emplace_back();  // workers
    return result;
  }

  // sum_i grads[i][p], in chunk order, skipping chunks that did not use the parameter.
  static torch::Tensor sum_in_order(const std::vector<torch::autograd::variable_list>& grads, size_t p) {
    torch::Tensor total;
    for (const auto& g : grads) {
      if (!g[p].defined()) continue;
      total = total.defined() ? total.add_(g[p]) : g[p].clone();
    }
    return total;
  }
};

}  // namespace

int64_t batch_parallel_workers(const torch::Tensor& input) {
  if (!input.device().is_cpu() || input.dim() == 0) return 1;
  // Only when every core gets a chunk: with fewer rows than cores the idle cores cost more than
  // the split saves (8 frames on 16 cores ran at 0.71x of intra-op parallelism, measured).
  const int64_t threads = at::get_num_threads();
  return threads > 1 && input.size(0) >= threads ? threads : 1;
}

torch::Tensor map_batch_across_cores(const torch::Tensor& input, const BatchFunction& fn,
                                     const std::vector<torch::Tensor>& params) {
  const auto workers = batch_parallel_workers(input);
  if (workers == 1) return fn(input);
  if (!torch::GradMode::is_enabled()) return torch::cat(map_chunks(input.chunk(workers, 0), fn), 0);
  std::vector<torch::Tensor> trainable;
  for (const auto& p : params)
    if (p.requires_grad()) trainable.push_back(p);
  if (trainable.empty() && !input.requires_grad()) return torch::cat(map_chunks(input.chunk(workers, 0), fn), 0);
  // A TensorList argument, unlike a vector, makes each parameter an input of the autograd node.
  return BatchParallelFunction::apply(input, at::TensorList(trainable), reinterpret_cast<int64_t>(&fn), workers);
}

}  // namespace vifi::util

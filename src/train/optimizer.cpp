// AdamW construction, its multi-tensor step and the per-step learning rate.
#include "vifi/train/optimizer.h"

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#if __has_include(<ATen/ops/_fused_adamw.h>)
#include <ATen/ops/_fused_adamw.h>
#define VIFI_HAVE_FUSED_ADAMW 1
#else
#define VIFI_HAVE_FUSED_ADAMW 0
#endif

namespace vifi::train {
namespace {

// torch::optim keys its state by the parameter's TensorImpl: as a string of the pointer up to
// LibTorch 2.0, as the pointer itself since. Both are produced here so one source builds on both.
template <typename Key>
Key state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;  // what c10::guts::to_string(p.unsafeGetTensorImpl()) gives
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

// The tensors of one multi-tensor call: same device, dtype and step count.
struct Bucket {
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};

}  // namespace

bool MultiTensorAdamW::fused_available() { return VIFI_HAVE_FUSED_ADAMW != 0; }

torch::Tensor MultiTensorAdamW::step(LossClosure closure) {
  for (const auto& group : param_groups()) {
    if (static_cast<const torch::optim::AdamWOptions&>(group.options()).amsgrad()) {
      last_kernel_ = Kernel::per_parameter;
      return torch::optim::AdamW::step(std::move(closure));
    }
    for (const auto& p : group.params()) {
      if (p.grad().defined() && p.grad().is_sparse()) {
        last_kernel_ = Kernel::per_parameter;
        return torch::optim::AdamW::step(std::move(closure));
      }
    }
  }
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  using Key = typename std::decay_t<decltype(state_)>::key_type;
  bool ran_foreach = false;
  bool ran_fused = false;
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    const double lr = o.lr();
    const double beta1 = std::get<0>(o.betas());
    const double beta2 = std::get<1>(o.betas());
    // (device, dtype, step) -> tensors. The step is counted after this update, as the
    // per-parameter loop counts it before computing the bias corrections.
    std::map<std::tuple<std::string, int, int64_t>, Bucket> buckets;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const Key key = state_key<Key>(p);
      auto it = state_.find(key);
      if (it == state_.end()) {
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state_.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<torch::optim::AdamWParamState&>(*it->second);
      state.step(state.step() + 1);
      Bucket& b = buckets[{p.device().str(), static_cast<int>(p.scalar_type()), state.step()}];
      b.params.push_back(p);
      b.grads.push_back(p.grad());
      b.exp_avgs.push_back(state.exp_avg());
      b.exp_avg_sqs.push_back(state.exp_avg_sq());
    }
    for (auto& [what, b] : buckets) {
      const auto step = static_cast<double>(std::get<2>(what));
      const double bias_correction1 = 1 - std::pow(beta1, step);
      const double bias_correction2 = 1 - std::pow(beta2, step);
#if VIFI_HAVE_FUSED_ADAMW
      if (b.params.front().is_cuda()) {
        // The kernel reads one step count per tensor; the bucket shares one.
        const torch::Tensor steps = torch::scalar_tensor(step, b.params.front().options().dtype(torch::kFloat32));
        const std::vector<torch::Tensor> state_steps(b.params.size(), steps);
        at::_fused_adamw_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, {}, state_steps, lr, beta1, beta2,
                          o.weight_decay(), o.eps(), /*amsgrad=*/false, /*maximize=*/false);
        ran_fused = true;
        continue;
      }
#endif
      ran_foreach = true;
      // torch::optim::AdamW's per-parameter operations, in its order.
      if (o.weight_decay() != 0) at::_foreach_mul_(b.params, 1 - lr * o.weight_decay());
      at::_foreach_mul_(b.exp_avgs, beta1);
      at::_foreach_add_(b.exp_avgs, b.grads, 1 - beta1);
      at::_foreach_mul_(b.exp_avg_sqs, beta2);
      at::_foreach_addcmul_(b.exp_avg_sqs, b.grads, b.grads, 1 - beta2);
      std::vector<torch::Tensor> denom = at::_foreach_sqrt(b.exp_avg_sqs);
      at::_foreach_div_(denom, std::sqrt(bias_correction2));
      at::_foreach_add_(denom, o.eps());
      at::_foreach_addcdiv_(b.params, b.exp_avgs, denom, -lr / bias_correction1);
    }
  }
  last_kernel_ = ran_foreach ? Kernel::foreach : ran_fused ? Kernel::fused : Kernel::per_parameter;
  return loss;
}

std::vector<torch::Tensor> trainable_parameters(const torch::nn::Module& module) {
  std::vector<torch::Tensor> params;
  for (const auto& p : module.parameters(true))
    if (p.requires_grad()) params.push_back(p);
  return params;
}

int64_t count_parameters(const std::vector<torch::Tensor>& params) {
  int64_t n = 0;
  for (const auto& p : params) n += p.numel();
  return n;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params, const TrainConfig& train) {
  TORCH_CHECK(!params.empty(), "nothing to train: every parameter is frozen");
  auto options = torch::optim::AdamWOptions(train.lr).betas({0.9, 0.98}).eps(1e-8).weight_decay(train.weight_decay);
  return std::make_unique<MultiTensorAdamW>(params, options);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace vifi::train

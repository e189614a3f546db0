// Bucketed gradient all-reduce and the initial broadcast (see header for the differences from DDP).
#include "vifi/dist/grad_sync.h"

namespace vifi::dist {
namespace {

int64_t nbytes(const torch::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

// Broadcast buckets are bigger: they run once, and fewer messages start faster.
constexpr int64_t kBroadcastBucketBytes = 64 * 1024 * 1024;

}  // namespace

std::vector<std::vector<size_t>> plan_buckets(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  std::vector<std::vector<size_t>> buckets;
  int64_t filled = 0;
  for (size_t k = tensors.size(); k-- > 0;) {
    const auto& t = tensors[k];
    const bool fits = !buckets.empty() && filled + nbytes(t) <= bucket_bytes;
    const auto& head = buckets.empty() ? t : tensors[buckets.back().front()];
    if (!fits || head.scalar_type() != t.scalar_type() || head.device() != t.device()) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(k);
    filled += nbytes(t);
  }
  return buckets;
}

void broadcast_module(torch::nn::Module& module, ProcessGroup& group, int root) {
  torch::NoGradGuard no_grad;
  auto tensors = module.parameters(true);
  for (const auto& b : module.buffers(true)) tensors.push_back(b);
  for (const auto& bucket : plan_buckets(tensors, kBroadcastBucketBytes)) {
    std::vector<torch::Tensor> flat_parts;
    for (auto k : bucket) flat_parts.push_back(tensors[k].reshape(-1));
    auto flat = torch::cat(flat_parts);
    group.broadcast(flat, root);
    int64_t offset = 0;
    for (auto k : bucket) {
      tensors[k].copy_(flat.narrow(0, offset, tensors[k].numel()).view_as(tensors[k]));
      offset += tensors[k].numel();
    }
  }
}

GradSync::GradSync(std::vector<torch::Tensor> params, std::shared_ptr<ProcessGroup> group, GradSyncOptions options)
    : params_(std::move(params)), group_(std::move(group)), where_(params_.size()), seen_(params_.size(), 0) {
  TORCH_CHECK(group_, "GradSync needs a process group");
  for (auto& indices : plan_buckets(params_, options.bucket_bytes)) {
    Bucket bucket;
    int64_t size = 0;
    for (auto k : indices) {
      TORCH_CHECK(params_[k].requires_grad(), "GradSync expects trainable parameters; parameter ", k, " is frozen");
      where_[k] = {buckets_.size(), bucket.params.size()};
      bucket.params.push_back(k);
      bucket.offsets.push_back(size);
      size += params_[k].numel();
    }
    bucket.flat = torch::zeros({size}, params_[indices.front()].options().device(group_->device()));
    buckets_.push_back(std::move(bucket));
  }
  // The hooks hold `this` and an index, never the parameter itself (that would be a cycle).
  for (size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(params_[k].register_hook([this, k](const torch::Tensor& grad) { on_gradient(k, grad); }));
}

GradSync::~GradSync() {
  for (size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

torch::Tensor GradSync::slot(Bucket& bucket, size_t k) {
  const auto& p = params_[bucket.params[k]];
  return bucket.flat.narrow(0, bucket.offsets[k], p.numel()).view_as(p);
}

void GradSync::arm() {
  TORCH_CHECK(!armed_, "GradSync::arm() called twice without finish()");
  armed_ = true;
}

// A leaf's hook runs once per backward with the incoming gradient, before it is added to .grad:
// the bucket gets what .grad will hold once the backward is done.
void GradSync::on_gradient(size_t param, const torch::Tensor& grad) {
  if (!armed_) return;
  auto [b, k] = where_[param];
  auto& bucket = buckets_[b];
  if (seen_[param] || bucket.work) {
    bucket.stale = true;  // a second gradient for this parameter: finish() redoes the bucket
    return;
  }
  seen_[param] = 1;
  torch::NoGradGuard no_grad;
  const auto& accumulated = params_[param].grad();
  slot(bucket, k).copy_(accumulated.defined() ? accumulated + grad : grad);
  if (++bucket.ready == bucket.params.size()) launch_ready_buckets();
}

void GradSync::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].ready == buckets_[next_launch_].params.size()) {
    auto& bucket = buckets_[next_launch_++];
    bucket.work = group_->all_reduce_sum_async(bucket.flat);
  }
}

void GradSync::fill_from_grads(Bucket& bucket) {
  for (size_t k = 0; k < bucket.params.size(); ++k) {
    const auto& g = params_[bucket.params[k]].grad();
    if (g.defined())
      slot(bucket, k).copy_(g);
    else
      slot(bucket, k).zero_();
  }
}

void GradSync::write_back(Bucket& bucket) {
  bucket.flat.div_(group_->world_size());
  for (size_t k = 0; k < bucket.params.size(); ++k) {
    auto g = params_[bucket.params[k]].grad();
    if (g.defined()) g.copy_(slot(bucket, k));
  }
}

void GradSync::finish() {
  torch::NoGradGuard no_grad;
  const bool overlapped = armed_;
  armed_ = false;
  // Every rank walks the buckets in the same order, so the i-th all-reduce matches everywhere.
  for (auto& bucket : buckets_) {
    const bool complete = overlapped && bucket.work && !bucket.stale;
    if (bucket.work) bucket.work->wait();
    if (!complete) {
      fill_from_grads(bucket);
      group_->all_reduce_sum_async(bucket.flat).wait();
    }
    write_back(bucket);
    bucket.ready = 0;
    bucket.stale = false;
    bucket.work.reset();
  }
  std::fill(seen_.begin(), seen_.end(), 0);
  next_launch_ = 0;
}

}  // namespace vifi::dist

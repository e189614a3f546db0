// The trainer proven end to end on tensors: fit, interrupt, resume, compare (fit_check.h).
#include "vifi/bench/fit_check.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "runtime.h"
#include "vifi/batch/batch_source.h"
#include "vifi/clip/clip.h"
#include "vifi/clip/tokenizer.h"
#include "vifi/model/vificlip.h"
#include "vifi/train/optimizer.h"
#include "vifi/train/trainer.h"
#include "vifi/util/interrupt.h"

namespace vifi::bench {
namespace {

const std::vector<std::string> kClasses = {"red", "green", "blue"};
constexpr int64_t kBatchesPerEpoch = 20;

// Clip i has class i % 3: noise plus a raised colour channel, the same for every frame.
std::pair<torch::Tensor, torch::Tensor> colour_clips(int64_t n, int64_t frames, int64_t side) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto video = torch::randn({n, frames, 3, side, side}, gen) * 0.3;
  auto label = torch::arange(n) % 3;
  for (int64_t i = 0; i < n; ++i) video[i].select(1, i % 3).add_(1.5);
  return {video, label};
}

// Requests an interrupt when batch `at` of epoch `epoch` is handed out: what Ctrl-C does.
class InterruptingSource : public TensorBatchSource {
 public:
  InterruptingSource(torch::Tensor v, torch::Tensor l, int64_t batch, int64_t epoch, int64_t at)
      : TensorBatchSource(std::move(v), std::move(l), batch, true, 1), epoch_(epoch), at_(at) {}
  void start_epoch(int64_t epoch, int64_t skip) override {
    epoch_now_ = epoch;
    served_ = skip;
    TensorBatchSource::start_epoch(epoch, skip);
  }
  std::optional<ClipBatch> next() override {
    if (epoch_now_ == epoch_ && served_ == at_) util::request_interrupt();
    ++served_;
    return TensorBatchSource::next();
  }

 private:
  int64_t epoch_, at_, epoch_now_ = 0, served_ = 0;
};

model::ViFiCLIP make_model(const FitCheckOptions& o, uint64_t seed) {
  torch::manual_seed(seed);
  auto config = clip::clip_config_preset(o.arch);
  return model::ViFiCLIP(clip::CLIP(config), std::make_shared<const clip::Tokenizer>(), kClasses,
                         model::ViFiCLIPOptions{});
}

Config run_config(const FitCheckOptions& o, int64_t epochs, int64_t side, const std::filesystem::path& out) {
  Config c;
  c.model.arch = o.arch;
  c.data.input_size = side;
  c.data.num_frames = o.frames;
  c.data.num_classes = 3;
  c.train.epochs = epochs;
  c.train.warmup_epochs = 1;
  c.train.lr = o.lr;
  c.train.batch_size = o.batch;
  c.train.accumulation_steps = o.accumulation;
  c.train.opt_level = OptLevel::O1;  // bf16 autocast on CUDA, fp32 on the CPU
  c.aug.mixup = 0;
  c.aug.label_smooth = 0;
  c.output = out.string();
  c.save_freq = 1;
  c.print_freq = kBatchesPerEpoch;
  c.seed = 3;
  return c;
}

std::pair<double, double> parameter_differences(model::ViFiCLIP& a, model::ViFiCLIP& b) {
  double worst = 0, mean_sum = 0;
  int64_t tensors = 0;
  auto theirs = b->named_parameters();
  for (const auto& kv : a->named_parameters()) {
    const auto d = (kv.value().detach().to(torch::kCPU, torch::kFloat64) -
                    theirs[kv.key()].detach().to(torch::kCPU, torch::kFloat64))
                       .abs();
    worst = std::max(worst, d.max().item<double>());
    mean_sum += d.mean().item<double>();
    ++tensors;
  }
  return {worst, tensors ? mean_sum / static_cast<double>(tensors) : 0.0};
}

const char* kernel_name(train::MultiTensorAdamW::Kernel k) {
  switch (k) {
    case train::MultiTensorAdamW::Kernel::fused: return "fused";
    case train::MultiTensorAdamW::Kernel::foreach: return "foreach";
    case train::MultiTensorAdamW::Kernel::per_parameter: return "per_parameter";
  }
  return "?";
}

}  // namespace

FitCheckResult run_fit_check(const FitCheckOptions& o) {
  if (o.batch < 1 || o.accumulation < 1 || o.frames < 1 || o.steps < 1 || o.resolution < 0 || !(o.lr > 0))
    throw std::invalid_argument("fit: --batch, --accumulation, --frames and --steps must be >= 1, --lr > 0");
  if (kBatchesPerEpoch % o.accumulation != 0)
    throw std::invalid_argument("fit: --accumulation must divide the epoch's 20 micro-batches");
  const torch::Device device = parse_device(o.device);
  const int64_t side = o.resolution > 0 ? o.resolution : clip::clip_config_preset(o.arch).image_resolution;
  const int64_t epochs = std::max<int64_t>(2, (o.steps + kBatchesPerEpoch - 1) / kBatchesPerEpoch);
  const auto [video, label] = colour_clips(kBatchesPerEpoch * o.batch, o.frames, side);
  const std::filesystem::path root(o.out);
  std::filesystem::remove_all(root);
  FitCheckResult r;

  // 1. Uninterrupted.
  TensorBatchSource data(video, label, o.batch, true, 1);
  train::TrainerOptions options;
  options.device = device;
  options.on_epoch_end = [&](const train::EpochSummary& s) {
    r.epoch_loss.push_back(s.mean_loss);
    if (!std::isfinite(s.mean_loss)) r.finite = false;
  };
  reset_peak_memory(device);
  train::Trainer full(run_config(o, epochs, side, root / "uninterrupted"), make_model(o, 0), data, nullptr, options);
  const auto start = std::chrono::steady_clock::now();
  full.fit();
  if (device.is_cuda()) torch::cuda::synchronize();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.micro_batches = epochs * kBatchesPerEpoch;
  r.frames_per_second = static_cast<double>(r.micro_batches * o.batch * o.frames) / r.seconds;
  r.peak_memory_mb = peak_memory_mb(device);
  if (const auto* adamw = dynamic_cast<train::MultiTensorAdamW*>(&full.optimizer()))
    r.adamw_kernel = kernel_name(adamw->last_kernel());

  // 2. Interrupted in the middle of epoch 1 (at an update boundary's next batch), resumed from
  // interrupted.pth by a fresh trainer whose model starts from other weights.
  const auto interrupted_dir = root / "interrupted";
  InterruptingSource interrupting(video, label, o.batch, 1, kBatchesPerEpoch / 2);
  train::TrainerOptions quiet;
  quiet.device = device;
  std::string checkpoint;
  {
    train::Trainer first(run_config(o, epochs, side, interrupted_dir), make_model(o, 0), interrupting, nullptr, quiet);
    try {
      first.fit();
      throw std::runtime_error("fit: the interrupt requested mid-epoch did not stop training");
    } catch (const train::Interrupted& e) {
      checkpoint = e.checkpoint_path;
    }
  }
  util::clear_interrupt();
  TensorBatchSource again(video, label, o.batch, true, 1);
  train::Trainer second(run_config(o, epochs, side, interrupted_dir), make_model(o, 5), again, nullptr, quiet);
  second.resume(checkpoint);
  second.fit();
  std::tie(r.resume_max_difference, r.resume_mean_difference) = parameter_differences(full.model(), second.model());
  auto fresh = make_model(o, 5);
  r.fresh_mean_difference = parameter_differences(full.model(), fresh).second;

  // On the CPU the resumed run is bitwise the uninterrupted one; bf16 on a GPU reorders sums.
  const double tolerance = device.is_cuda() ? 1e-3 : 1e-7;
  r.passed = r.finite && r.epoch_loss.size() >= 2 && r.epoch_loss.back() < 0.5 * r.epoch_loss.front() &&
             r.resume_mean_difference < tolerance && r.resume_mean_difference < r.fresh_mean_difference / 20;
  return r;
}

std::string format_fit_check(const FitCheckOptions& o, const FitCheckResult& r) {
  std::string losses;
  for (double l : r.epoch_loss) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.4f", losses.empty() ? "" : " ", l);
    losses += buf;
  }
  char line[768];
  std::snprintf(line, sizeof line,
                "fit arch=%s device=%s batch=%lldx%lld frames=%lld side=%lld micro_batches=%lld seconds=%.1f "
                "frames_per_s=%.0f peak_mb=%.0f adamw=%s finite=%s epoch_loss=[%s] resume_max_diff=%.3g "
                "resume_mean_diff=%.3g fresh_mean_diff=%.3g result=%s",
                o.arch.c_str(), o.device.c_str(), static_cast<long long>(o.batch),
                static_cast<long long>(o.accumulation), static_cast<long long>(o.frames),
                static_cast<long long>(o.resolution), static_cast<long long>(r.micro_batches), r.seconds,
                r.frames_per_second, r.peak_memory_mb, r.adamw_kernel.c_str(), r.finite ? "yes" : "no",
                losses.c_str(), r.resume_max_difference, r.resume_mean_difference, r.fresh_mean_difference,
                r.passed ? "PASS" : "FAIL");
  return line;
}

}  // namespace vifi::bench

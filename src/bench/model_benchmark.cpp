// The model benchmark runs ViFi-CLIP's embedding-fusion path on a randomly initialised CLIP:
// frame embeddings averaged over T, scaled cosine against the class-text embeddings, as
// model/vificlip does, without a tokenizer (synthetic prompt ids of realistic lengths).
#include "vifi/bench/model_benchmark.h"

#include <cstdio>

#include "runtime.h"
#include "vifi/clip/clip.h"
#include "vifi/model/vificlip.h"
#include "vifi/train/optimizer.h"

namespace vifi::bench {
namespace {

constexpr int64_t kStartOfText = 49406;
constexpr int64_t kEndOfText = 49407;

// Per layer of width W over S positions: QKV 6SW^2, output 2SW^2, MLP 16SW^2, QK^T and AV 4S^2W.
double transformer_flops(int64_t layers, int64_t width, int64_t positions) {
  const double w = static_cast<double>(width), s = static_cast<double>(positions);
  return static_cast<double>(layers) * (24.0 * s * w * w + 4.0 * s * s * w);
}

struct BenchModel {
  clip::CLIP model{nullptr};
  torch::Tensor video;   // [B,T,3,R,R]
  torch::Tensor tokens;  // [C,77]
  torch::Tensor labels;  // [B]
};

BenchModel make_bench_model(const ModelBenchOptions& o, const torch::Device& device) {
  torch::manual_seed(0);
  const auto config = clip::clip_config_preset(o.arch);
  BenchModel m;
  m.model = clip::CLIP(config);
  m.model->to(device);
  // As in ViFi-CLIP, prompt token embeddings are looked up without gradient.
  m.model->token_embedding->weight.set_requires_grad(false);
  const auto r = config.image_resolution;
  m.video = torch::randn({o.batch, o.frames, 3, r, r}, torch::TensorOptions(device));
  m.tokens = synthetic_prompt_tokens(o.classes, config.context_length).to(device);
  m.labels = torch::randint(o.classes, {o.batch}, torch::TensorOptions(device).dtype(torch::kLong));
  return m;
}

torch::Tensor video_embeddings(BenchModel& m) {  // [B,T,3,R,R] -> [B,D]
  return model::ViFiCLIPImpl::encode_video(*m.model, m.video);
}

double time_inference(BenchModel& m, const ModelBenchOptions& o, const torch::Device& device, torch::ScalarType dtype) {
  m.model->eval();
  c10::InferenceMode inference;
  BenchAutocast autocast(device, dtype);
  const auto text = m.model->encode_text(m.tokens);  // cached: the class set does not change
  return median_step_seconds([&] { clip::scaled_cosine_logits(video_embeddings(m), text, m.model->logit_scale); },
                             o.warmup, o.iters, device);
}

double time_training(BenchModel& m, const ModelBenchOptions& o, const torch::Device& device, torch::ScalarType dtype) {
  m.model->train();
  const auto params = train::trainable_parameters(*m.model);
  auto optimizer = train::make_adamw(params, vifi::TrainConfig{});
  auto step = [&] {
    for (auto p : params) p.mutable_grad().reset();  // set_to_none, as PyTorch 2.x's default
    torch::Tensor loss;
    {
      BenchAutocast autocast(device, dtype);
      auto logits = clip::scaled_cosine_logits(video_embeddings(m), m.model->encode_text(m.tokens),
                                               m.model->logit_scale);
      loss = torch::cross_entropy_loss(logits.to(torch::kFloat32), m.labels);
    }
    loss.backward();
    optimizer->step();
  };
  return median_step_seconds(step, o.warmup, o.iters, device);
}

const char* mode_name(const ModelBenchOptions& o) { return o.train ? "train" : "infer"; }

}  // namespace

torch::Tensor synthetic_prompt_tokens(int64_t classes, int64_t context_length) {
  auto tokens = torch::zeros({classes, context_length}, torch::kLong);
  auto a = tokens.accessor<int64_t, 2>();
  for (int64_t i = 0; i < classes; ++i) {
    const int64_t words = 6 + i % 8;
    TORCH_CHECK(words + 2 <= context_length, "context ", context_length, " too short for synthetic prompts");
    a[i][0] = kStartOfText;
    for (int64_t j = 1; j <= words; ++j) a[i][j] = 1 + (i * 131 + j * 7) % 49000;
    a[i][words + 1] = kEndOfText;
  }
  return tokens;
}

double vision_forward_flops(const clip::CLIPConfig& c, int64_t images) {
  const auto patches = c.grid_size() * c.grid_size();
  const double patch_embed = 2.0 * static_cast<double>(patches * 3 * c.vision_patch_size * c.vision_patch_size * c.vision_width);
  const double proj = 2.0 * static_cast<double>(c.vision_width * c.embed_dim);
  const double per_image = patch_embed + transformer_flops(c.vision_layers, c.vision_width, patches + 1) + proj;
  return per_image * static_cast<double>(images);
}

double text_forward_flops(const clip::CLIPConfig& c, int64_t texts, int64_t length) {
  const double proj = 2.0 * static_cast<double>(c.transformer_width * c.embed_dim);
  return (transformer_flops(c.transformer_layers, c.transformer_width, length) + proj) * static_cast<double>(texts);
}

double model_iteration_flops(const clip::CLIPConfig& c, const ModelBenchOptions& o, int64_t text_context) {
  const double vision = vision_forward_flops(c, o.batch * o.frames);
  if (!o.train) return vision;
  return 3.0 * (vision + text_forward_flops(c, o.classes, text_context));
}

ModelBenchResult run_model_benchmark(const ModelBenchOptions& o) {
  TORCH_CHECK(o.frames > 0 && o.batch > 0 && o.classes > 0, "--frames, --batch and --classes must be positive");
  const auto device = parse_device(o.device);
  const auto dtype = parse_dtype(o.dtype);
  set_threads(o.threads);
  auto m = make_bench_model(o, device);
  reset_peak_memory(device);
  ModelBenchResult r;
  r.median_seconds = o.train ? time_training(m, o, device, dtype) : time_inference(m, o, device, dtype);
  r.text_context = m.tokens.argmax(-1).max().item<int64_t>() + 1;
  r.items_per_second = static_cast<double>(o.batch * o.frames) / r.median_seconds;
  r.flops_per_iter = model_iteration_flops(m.model->config(), o, r.text_context);
  r.tflops = r.flops_per_iter / r.median_seconds / 1e12;
  r.peak_memory_mb = peak_memory_mb(device);
  return r;
}

std::string format_model_result(const ModelBenchOptions& o, const ModelBenchResult& r) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "RESULT impl=vifi bench=model mode=%s arch=%s frames=%lld batch=%lld classes=%lld device=%s "
                "dtype=%s threads=%d median_ms=%.1f items_per_s=%.3f gflop_per_iter=%.1f tflops=%.4f "
                "peak_mb=%.0f text_context=%lld",
                mode_name(o), o.arch.c_str(), static_cast<long long>(o.frames), static_cast<long long>(o.batch),
                static_cast<long long>(o.classes), o.device.c_str(), o.dtype.c_str(), torch::get_num_threads(),
                r.median_seconds * 1e3, r.items_per_second, r.flops_per_iter / 1e9, r.tflops, r.peak_memory_mb,
                static_cast<long long>(r.text_context));
  return line;
}

}  // namespace vifi::bench

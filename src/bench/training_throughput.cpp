// Training throughput of a configured model (see header).
#include "vifi/bench/training_throughput.h"

#include "runtime.h"
#include "vifi/train/losses.h"
#include "vifi/train/mixed_precision.h"
#include "vifi/train/optimizer.h"
#include "vifi/util/state_dict.h"

namespace vifi::bench {
namespace {

// Trainable tensors by name, cloned, so a measurement's optimiser steps can be undone.
util::StateDict trainable_snapshot(model::ViFiCLIPImpl& model) {
  util::StateDict snapshot;
  for (const auto& p : model.named_parameters(true))
    if (p.value().requires_grad()) snapshot[p.key()] = p.value().detach().clone();
  return snapshot;
}

}  // namespace

TrainingThroughput measure_training_throughput(model::ViFiCLIP& model, const TrainConfig& train,
                                               const ThroughputOptions& o) {
  const auto params = train::trainable_parameters(*model);
  TrainingThroughput t;
  t.trainable_parameters = train::count_parameters(params);
  if (o.steps <= 0) return t;
  const auto snapshot = trainable_snapshot(*model);
  const bool was_training = model->is_training();
  model->to(o.device);
  model->train();
  const auto video = torch::randn({o.batch, o.frames, 3, o.resolution, o.resolution}, torch::TensorOptions(o.device));
  const auto labels = torch::randint(static_cast<int64_t>(model->class_names().size()), {o.batch},
                                     torch::TensorOptions(o.device).dtype(torch::kLong));
  auto optimizer = train::make_adamw(params, train);
  auto step = [&] {
    optimizer->zero_grad();
    torch::Tensor loss;
    {
      train::AutocastGuard autocast(o.opt_level, o.device);
      loss = train::video_loss(model->forward(video).to(torch::kFloat32), labels, 0.0);
    }
    loss.backward();
    optimizer->step();
  };
  const double seconds = median_step_seconds(step, 1, o.steps, o.device);
  t.clips_per_second = static_cast<double>(o.batch) / seconds;
  optimizer->zero_grad();
  util::load_state_dict(*model, snapshot, util::partial_load("trainable snapshot"));
  model->clear_text_cache();
  model->train(was_training);
  return t;
}

}  // namespace vifi::bench

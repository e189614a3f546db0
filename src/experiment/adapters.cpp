// Config -> component options, field by field (see header).
#include "vifi/experiment/adapters.h"

#include <algorithm>

#include "vifi/data/video_reader.h"

namespace vifi::experiment {

model::PromptOptions prompt_options(const TrainerConfig& trainer) {
  model::PromptOptions prompt;
  prompt.enabled = trainer.prompt_model;
  prompt.n_ctx_vision = trainer.n_ctx_vision;
  prompt.n_ctx_text = trainer.n_ctx_text;
  prompt.ctx_init = trainer.ctx_init;
  prompt.depth_vision = trainer.prompt_depth_vision;
  prompt.depth_text = trainer.prompt_depth_text;
  return prompt;
}

TrainerConfig with_prompt_options(TrainerConfig trainer, const model::PromptOptions& prompt) {
  trainer.prompt_model = prompt.enabled;
  trainer.n_ctx_vision = prompt.n_ctx_vision;
  trainer.n_ctx_text = prompt.n_ctx_text;
  trainer.ctx_init = prompt.ctx_init;
  trainer.prompt_depth_vision = prompt.depth_vision;
  trainer.prompt_depth_text = prompt.depth_text;
  return trainer;
}

model::ViFiCLIPOptions vificlip_options(const Config& config) {
  model::ViFiCLIPOptions options;
  options.zero_shot_prompt = config.trainer.zs_eval;
  options.use = config.trainer.use;
  options.fusion = config.trainer.fusion;
  options.prompt = prompt_options(config.trainer);
  return options;
}

data::ClipConfig clip_config(const Config& config) {
  data::ClipConfig clip;
  clip.decode.train_passed_frames = config.data.passed_frames;
  clip.decode.eval_passed_frames = config.test.passed_frames;
  clip.decode.scaling = config.data.scale_frames;
  clip.decode.decoder_threads = static_cast<int>(config.data.decoder_threads);
  clip.decode.numbering_store = data::numbering_store_dir(config.data.numbering_cache);
  clip.num_frames = config.data.num_frames;
  clip.augment.input_size = static_cast<int>(config.data.input_size);
  clip.augment.color_jitter = config.aug.color_jitter;
  clip.augment.gray_scale = config.aug.gray_scale;
  clip.eval.input_size = static_cast<int>(config.data.input_size);
  clip.eval.num_crops = static_cast<int>(config.test.num_crop);
  clip.num_clips = config.test.num_clip;
  return clip;
}

data::LoaderConfig loader_config(const Config& config, data::LoaderMode mode, const Placement& placement) {
  data::LoaderConfig loader;
  loader.batch_size = config.train.batch_size;
  loader.num_workers = static_cast<int>(std::max<int64_t>(1, config.data.num_workers));
  loader.rank = placement.rank;
  loader.world_size = placement.world_size;
  loader.seed = static_cast<uint64_t>(config.seed);
  loader.shuffle = mode == data::LoaderMode::train;
  loader.max_bad_fraction = config.data.max_bad_fraction;
  loader.min_bad_limit = config.data.min_bad_limit;
  return loader;
}

data::LoaderConfig training_loader_config(const Config& config, const Placement& placement,
                                          const train::BatchPlan& plan) {
  auto loader = loader_config(config, data::LoaderMode::train, placement);
  loader.samples_per_epoch = plan.samples_per_rank;
  return loader;
}

}  // namespace vifi::experiment

// Named adapters: the one place where the run Config becomes each component's own options.
// Every conversion assigns field by field, so reordering a struct cannot silently swap two
// same-typed values (vision and text prompt sizes, rank and world size); tests/test_adapters
// checks each field, and that the prompt keys survive the round trip Config -> options -> Config.
// Components never see the whole Config: the model gets ViFiCLIPOptions, the loader ClipConfig
// and LoaderConfig, the trainer TrainConfig/AugConfig through its own constructor.
#pragma once
#include "vifi/config/config.h"
#include "vifi/data/loader.h"
#include "vifi/data/video_clip.h"
#include "vifi/model/prompt_learner.h"
#include "vifi/model/vificlip.h"
#include "vifi/train/batch_plan.h"

namespace vifi::experiment {

// Where this process sits in a data-parallel job.
struct Placement {
  int rank = 0;
  int world_size = 1;
};

// TRAINER.ViFi_CLIP.{PROMPT_MODEL, N_CTX_*, CTX_INIT, PROMPT_DEPTH_*} -> the prompt learner's options.
model::PromptOptions prompt_options(const TrainerConfig& trainer);
// The inverse: `trainer` with its prompt keys set from `prompt` (a prompts.pth fixes the shape of
// the prompt learner, whatever the YAML says).
TrainerConfig with_prompt_options(TrainerConfig trainer, const model::PromptOptions& prompt);
// TRAINER.ViFi_CLIP.* -> ViFi-CLIP's options (prompt text, which encoders train, fusion, prompts).
model::ViFiCLIPOptions vificlip_options(const Config& config);
// DATA.* / AUG.* / TEST.* -> one sample's decoding and transforms.
data::ClipConfig clip_config(const Config& config);
// TRAIN.BATCH_SIZE, DATA.NUM_WORKERS, SEED and the placement -> the threaded loader's options.
data::LoaderConfig loader_config(const Config& config, data::LoaderMode mode, const Placement& placement);
// The training loader: loader_config's, each rank loading the plan's clips per epoch
// (TRAIN.DROP_LAST leaves out the tail that makes no whole update).
data::LoaderConfig training_loader_config(const Config& config, const Placement& placement,
                                          const train::BatchPlan& plan);

}  // namespace vifi::experiment

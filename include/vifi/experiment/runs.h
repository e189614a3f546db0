// The paper's protocols as lists of runs, built up front by pure functions: which config each
// evaluation (and training) of a protocol uses and what it is called in reports. The parsed
// configs are never edited; a derived run gets a new Config value. Running them is
// experiment/training_job and experiment/components; the arithmetic over their results is
// eval/protocols.
//
//   supervised  (Table 4): single view (1x1) and multi-view (TEST.NUM_CLIP x TEST.NUM_CROP, the
//                          reference's 4x3 when TEST.MULTI_VIEW_INFERENCE)
//   zeroshot    (Table 1): split1..splitN, one per config
//   base2novel  (Table 2): seed i: the base config (trained on its TRAIN_FILE, evaluated on its
//                          base VAL_FILE) and the novel config (one for all seeds, or one each)
//   fewshot     (Table 3): one run per K, trained on its config's K-shot TRAIN_FILE
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vifi/config/config.h"

namespace vifi::experiment {

// One evaluation of a model on one config's VAL_FILE and classes.
struct EvalRun {
  std::string name;  // file-name safe: "single_view", "split2", "s1_base", "K16"
  Config config;
};

// Base-to-novel seed: one model trained on `base`, evaluated on `base` and `novel`.
struct SeedRun {
  std::string seed;  // "s1"
  EvalRun base;      // "s1_base"
  EvalRun novel;     // "s1_novel"
};

// Each throws std::invalid_argument naming both counts when the lists do not pair up.
std::vector<EvalRun> supervised_runs(const Config& config);
std::vector<EvalRun> zeroshot_runs(const std::vector<Config>& splits);
std::vector<SeedRun> base2novel_runs(const std::vector<Config>& bases, const std::vector<Config>& novels);
std::vector<EvalRun> fewshot_runs(const std::vector<Config>& configs, const std::vector<int64_t>& shots);

// Derived configs (new values; the argument is a copy).
// --weights: MODEL.PRETRAINED = weights, MODEL.RESUME cleared (the file is what is evaluated).
Config with_weights(Config config, const std::string& weights);
// A training run's own folder: OUTPUT = output/train_<name>.
Config with_training_output(Config config, const std::string& output, const std::string& name);
// Bridge and prompt: PROMPT_MODEL on (only the prompts train). Throws ConfigError naming
// `source` when the config has no prompt tokens to learn.
Config prompting_config(Config config, const std::string& source);
// The same base without prompts, every encoder trainable: what prompting is compared with.
Config full_finetuning_config(Config config);

}  // namespace vifi::experiment

// One training job, the way every command trains: `vifi train`, `vifi eval --train`, `vifi prompt`
// and `vifi demo` all call run_training_job. It writes OUTPUT/config.yaml and the run's log,
// builds the sharded training source (and the validation source when asked), sets up the
// Trainer, resumes, handles Ctrl-C (a resumable checkpoint, then Outcome::interrupted) and
// reports replaced samples.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>

#include "vifi/config/config.h"
#include "vifi/eval/evaluator.h"
#include "vifi/eval/report.h"
#include "vifi/experiment/components.h"
#include "vifi/model/vificlip.h"
#include "vifi/train/checkpoint.h"

namespace vifi::experiment {

enum class Validation { none, every_save_freq };  // DATA.VAL_FILE every SAVE_FREQ epochs and at the end

struct TrainingJob {
  std::string name = "train";        // for log lines
  Config config;                     // OUTPUT receives checkpoints, metrics.jsonl and config.yaml
  std::string train_list;            // empty: DATA.TRAIN_FILE
  Validation validation = Validation::none;
  std::string resume;                // checkpoint to continue from; empty: start fresh
  // What checkpoints hold: null = the whole model; prompting passes the prompt learner.
  std::shared_ptr<torch::nn::Module> checkpoint_module;
  RankContext ranks;
};

struct TrainingOutcome {
  enum class End { finished, interrupted } end = End::finished;
  std::string interrupted_checkpoint;            // End::interrupted: where to --resume from
  train::TrainingProgress progress;
  std::optional<eval::EvalResult> last_validation;  // the final epoch's, when validated
  int64_t trainable_parameters = 0;
  int64_t replaced_samples = 0;                  // bad training videos replaced
};

// Trains `model` (moved to the job's device) until TRAIN.EPOCHS.
TrainingOutcome run_training_job(model::ViFiCLIP& model, const TrainingJob& job);

// MODEL.RESUME, else with TRAIN.AUTO_RESUME the newest checkpoint in OUTPUT, else empty.
std::string resume_checkpoint(const Config& config);

// The batch plan of training `config` on `list_file` (empty: DATA.TRAIN_FILE) with `world_size`
// ranks: reads the list, opens no video (`vifi train --dry-run`).
train::BatchPlan plan_training(const Config& config, const std::string& list_file, int world_size);

// The reference's test after training (main.py, TEST.MULTI_VIEW_INFERENCE): the final model on
// DATA.VAL_FILE with one view and with 4 clips x 3 crops, as `vifi eval --setting supervised`
// reports them (experiment/runs supervised_runs). The last epoch's validation is reused for the
// single view when it ran with one view. Evaluation is sharded over the job's ranks.
eval::Summary test_final_model(model::ViFiCLIP& model, const Config& config, const TrainingOutcome& outcome,
                               const RankContext& ranks);

}  // namespace vifi::experiment

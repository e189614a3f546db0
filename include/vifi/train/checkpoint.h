// Training checkpoints: one file per save holding the model state (OpenAI names), the
// optimiser state, the position in training and the resolved config text. Written to a
// temporary name and renamed, so an interrupted save never leaves a broken file.
#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "vifi/util/state_dict.h"

namespace vifi::train {

struct TrainingProgress {
  int64_t epoch = 0;             // epoch to run next (or the one interrupted)
  int64_t step_in_epoch = 0;     // micro-batches of `epoch` already done (0 at epoch boundaries)
  int64_t optimizer_steps = 0;   // optimiser updates so far (drives the LR schedule)
  double best_acc1 = 0.0;
  std::string config_yaml;       // resolved config the run used
  int64_t accumulation_steps = 0;  // micro-batches per update when saved (0: not recorded)
  int64_t global_batch = 0;        // clips per update when saved (0: not recorded)
};

// Written atomically (util/atomic_file): a full disk or a file-size limit throws
// std::runtime_error "<path>: write failed (No space left on device)", removes the temporary file
// and leaves an existing `path` as it was. `optimizer` null: weights and progress only (best.pth).
void save_checkpoint(const std::string& path, const torch::nn::Module& model, const torch::optim::Optimizer* optimizer,
                     const TrainingProgress& progress);

TrainingProgress read_checkpoint_progress(const std::string& path);

// Restores model (strictly, by name and shape) and optimiser (if given); returns the progress.
TrainingProgress load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer);

// Newest "ckpt_epoch_*.pth" / "interrupted.pth" in `dir` by modification time (TRAIN.AUTO_RESUME).
std::optional<std::string> find_latest_checkpoint(const std::string& dir);

// Removes all but the `keep` highest-numbered "ckpt_epoch_N.pth" in `dir` (TRAIN.KEEP_CHECKPOINTS);
// keep 0 removes nothing. Returns the removed paths. Other files are never touched.
std::vector<std::string> prune_epoch_checkpoints(const std::string& dir, int64_t keep);

}  // namespace vifi::train

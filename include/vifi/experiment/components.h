// The runtime pieces every experiment is made of, built from a resolved Config: the device and
// this process's place in a (possibly distributed) job, class names, a ViFi-CLIP model, batch
// sources over annotation lists, one evaluation of a model on a config, and the run's log files.
// Each component receives its options through experiment/adapters.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "vifi/batch/batch_source.h"
#include "vifi/config/config.h"
#include "vifi/data/loader.h"
#include "vifi/dist/process_group.h"
#include "vifi/eval/report.h"
#include "vifi/experiment/adapters.h"
#include "vifi/model/vificlip.h"

namespace vifi::experiment {

// CUDA device 0 when LibTorch sees one, else CPU.
torch::Device pick_device();

// torch intra-op threads: `threads` > 0, else every core.
void set_threads(int threads);

// This process in its job: one process, or a rank started by `vifi launch` / torchrun.
struct RankContext {
  Placement placement;
  int threads = 0;                            // intra-op threads this rank should use
  torch::Device device = pick_device();
  std::shared_ptr<dist::ProcessGroup> group;  // null for one process
  bool is_main() const { return placement.rank == 0; }
};

// Reads torchrun's environment; with WORLD_SIZE set, joins the process group (waiting at most
// `timeout` for every rank) and splits the node's cores between its ranks unless `threads` > 0.
RankContext join_job(int threads, std::chrono::milliseconds timeout);

// DATA.LABEL_LIST's names; NUM_CLASSES must match (error naming both).
std::vector<std::string> load_class_names(const Config& config);

// ViFi-CLIP from MODEL.PRETRAINED (any model/weights file, MODEL.CLIP_ARCHIVE lending the token
// embedding) or a random ARCH, seeded with SEED so a config always builds the same model. A
// file's VL prompts are loaded into the prompt learner, whose TRAINER.ViFi_CLIP sizes must match
// them (the error names the keys). Checks that the model's input resolution equals DATA.INPUT_SIZE.
model::ViFiCLIP build_model(const Config& config, const std::vector<std::string>& class_names);

// The videos of `list_file` (DATA.ROOT-relative paths), labels checked against NUM_CLASSES.
std::vector<data::VideoRecord> load_video_list(const Config& config, const std::string& list_file);

// An evaluation source over `list_file`: rank r of the placement reads videos r, r+W, ...
std::unique_ptr<BatchSource> make_eval_source(const Config& config, const std::string& list_file,
                                              const Placement& placement = {});

// A training source over `list_file` and the batch plan it was built from (TRAIN.GLOBAL_BATCH
// and TRAIN.DROP_LAST at this placement's world size, train/batch_plan).
struct TrainingData {
  std::unique_ptr<BatchSource> source;
  train::BatchPlan plan;
};
TrainingData make_training_data(const Config& config, const std::string& list_file, const Placement& placement = {});

// The model on the config's classes and VAL_FILE (every video once; sharded over the ranks of
// `ranks` when it has a group), logged as `name`.
eval::RunReport evaluate_config(model::ViFiCLIP& model, const Config& config, const std::string& name,
                                const RankContext& ranks = {});

// "<what>: top-1 X%, top-5 Y% over N videos x V views", and a warning per video not evaluated.
void log_result(const std::string& what, const eval::EvalResult& result);

// Logs additionally to OUTPUT/log_rank{rank}.txt.
void add_log_file(const std::string& output_dir, int rank);

// Log lines name the rank ("[rank 1]") in a multi-process run.
void set_log_rank(int rank);

}  // namespace vifi::experiment

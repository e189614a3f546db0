// What train, eval, prompt and demo share: turning a resolved Config into a device, class
// names, a ViFi-CLIP model and batch sources, each component getting only its own settings.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "vifi/clip/tokenizer.h"
#include "vifi/data/loader.h"
#include "vifi/eval/report.h"
#include "vifi/model/vificlip.h"
#include "vifi/train/batch_source.h"
#include "vifi/train/config.h"

namespace vifi::cli {

// CUDA device 0 when LibTorch sees one, else CPU.
torch::Device pick_device();

// torch intra-op threads: `threads` > 0, else every core.
void set_threads(int threads);

model::ViFiCLIPOptions vificlip_options(const train::Config& config);

// DATA.LABEL_LIST's names; NUM_CLASSES must match (error naming both).
std::vector<std::string> load_class_names(const train::Config& config);

// ViFi-CLIP from MODEL.PRETRAINED (OpenAI archive or vifi checkpoint) or a random ARCH.
// Checks that the model's input resolution equals DATA.INPUT_SIZE.
model::ViFiCLIP build_model(const train::Config& config, const std::vector<std::string>& class_names);

// A batch source over `list_file` (DATA.ROOT-relative paths), labels checked against NUM_CLASSES.
std::unique_ptr<train::BatchSource> make_batch_source(const train::Config& config, const std::string& list_file,
                                                      data::LoaderMode mode, int rank = 0, int world_size = 1);

// The model on the config's classes and VAL_FILE (every video once), logged as `name`.
eval::RunReport evaluate_config(model::ViFiCLIP& model, const train::Config& config, const std::string& name);

// Logs additionally to OUTPUT/log_rank{rank}.txt.
void add_log_file(const std::string& output_dir, int rank);

// Log lines name the rank ("[rank 1]") in a multi-process run.
void set_log_rank(int rank);

}  // namespace vifi::cli

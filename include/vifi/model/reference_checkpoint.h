// The authors' released ViFi-CLIP checkpoints, after tools/convert_checkpoint.py.
// Their files are torch.save dicts whose `model` entry holds the reference module's state
// (`module.image_encoder.*`, `module.text_encoder.*`, `module.logit_scale`,
// `module.prompt_learner.*`) next to pickled Python objects LibTorch cannot read. The converter
// keeps only `model`, strips `module.`, makes every tensor fp32 and saves the plain
// {name: tensor} dict with torch.save (zip format), which torch::pickle_load reads.
//
// Key mapping to vifi's (= OpenAI's) names:
//   image_encoder.X                      -> visual.X
//   text_encoder.X                       -> X (transformer.*, positional_embedding, ln_final.*,
//                                           text_projection)
//   logit_scale                          -> logit_scale
//   token_embedding.weight               -> kept (the reference does not store it: it is frozen
//                                           OpenAI CLIP's, so the converter copies it from the
//                                           OpenAI archive given with --clip)
//   prompt_learner.ctx                   -> returned separately, for the prompt learner
//   prompt_learner.{complete_text_embeddings,token_prefix,token_suffix}
//                                        -> ignored: rebuilt from the class names
// Anything else is an error naming the key, so a layout change is never silently half-loaded.
#pragma once
#include <string>

#include "vifi/util/state_dict.h"

namespace vifi::model {

struct ReferenceState {
  util::StateDict clip;    // vifi/OpenAI names
  util::StateDict prompt;  // "prompt_learner.ctx" if present
};

// Pure mapping of a converted (or raw, "module."-prefixed) reference state; `source` names the
// file in errors.
ReferenceState map_reference_state(const util::StateDict& reference, const std::string& source);

// True for a torch.save zip file (no TorchScript constants) as the converter writes.
bool is_reference_checkpoint(const std::string& path);

// Reads a converted file into {name: tensor}. Throws naming the file when it is not a dict of
// tensors.
util::StateDict read_reference_checkpoint(const std::string& path);

// Writes {name: tensor} in the converter's format (torch::pickle_save); for tests and tools.
void write_reference_checkpoint(const std::string& path, const util::StateDict& state);

}  // namespace vifi::model

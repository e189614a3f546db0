// torch.save files of other people's code, read natively (util/torch_load, no Python, nothing
// in the file executed): the authors' released ViFi-CLIP checkpoints exactly as their
// utils/tools.py epoch_saving writes them ({'model', 'optimizer', 'lr_scheduler',
// 'max_accuracy', 'epoch', 'config'}, a pickled yacs CfgNode among them), the output of
// tools/convert_checkpoint.py, and plain OpenAI-layout CLIP state dicts
// (torch.save(model.state_dict())), each with or without DistributedDataParallel's `module.`.
// Owns the key mapping onto vifi's (= OpenAI's) names:
//
//   image_encoder.X                       -> visual.X
//   text_encoder.X                        -> X (transformer.*, positional_embedding, ln_final.*,
//                                            text_projection)
//   visual.*, transformer.*, ln_final.*, positional_embedding, text_projection, logit_scale,
//   token_embedding.weight                -> kept (OpenAI layout)
//   input_resolution, context_length, vocab_size
//                                         -> dropped (OpenAI's TorchScript attributes)
//   VL prompts of the authors' clip/model.py and trainers/vificlip.py, onto model/prompt_learner:
//     prompt_learner.ctx                  -> prompt_learner.text_ctx     [N_CTX_TEXT, W]
//     text_encoder.transformer.resblocks.i.VPT_shallow (i = 1..D-1)
//                                         -> prompt_learner.text_deep    [D-1, N_CTX_TEXT, W]
//     image_encoder.VPT                   -> prompt_learner.vision_ctx   [N_CTX_VISION, W]
//     image_encoder.transformer.resblocks.i.VPT_shallow
//                                         -> prompt_learner.vision_deep  [D-1, N_CTX_VISION, W]
//   prompt_learner.{complete_text_embeddings,token_prefix,token_suffix}
//                                         -> ignored: rebuilt from the class names
// Anything else is an error naming the key, so a layout change is never silently half-loaded.
// The reference never stores CLIP's token_embedding (frozen, only used to build prompts): the
// caller supplies it from the OpenAI archive (model/weights, `--clip`).
#pragma once
#include <string>

#include "vifi/util/state_dict.h"
#include "vifi/util/torch_load.h"

namespace vifi::model {

// TRAINER.ViFi_CLIP.* of the yacs config pickled in a released checkpoint, when it has one.
struct RecordedTrainer {
  bool present = false;
  std::string ctx_init = "a photo of a";  // CTX_INIT: the class-prompt prefix
  bool zs_eval = false;                   // ZS_EVAL: bare class names
};

struct ReferenceFile {
  util::StateDict state;    // the file's model state dict, as named there
  RecordedTrainer trainer;
};

struct ReferenceState {
  util::StateDict clip;     // vifi/OpenAI names
  util::StateDict prompts;  // prompt_learner.{text_ctx,text_deep,vision_ctx,vision_deep}, those present
};

// Pure mapping of a reference or OpenAI-layout state (see above); `source` names the file in
// errors. Deep prompts must cover blocks 1..D-1 without a gap.
ReferenceState map_reference_state(const util::StateDict& reference, const std::string& source);

// True for a torch.save zip file (no TorchScript constants).
bool is_reference_checkpoint(const std::string& path);

// The model state of a torch.save file: its 'model' entry when it has one (the authors'
// checkpoints), else the file itself as {name: tensor}. Throws naming the file and entry when
// neither is a dict of tensors.
ReferenceFile read_reference_checkpoint(const std::string& path);
// The same for a file already read (errors name file.source()); the checkpoint fuzzer's way in.
ReferenceFile reference_file_of(const util::TorchFile& file);

// The inverse of map_reference_state, for writing the authors' layout (model/weights_export):
// vifi's names -> theirs as their DistributedDataParallel-wrapped model saves them ("module." +
// image_encoder.*, text_encoder.*, logit_scale, prompt_learner.ctx, *.VPT, *.VPT_shallow).
// token_embedding.weight is kept as module.token_embedding.weight: their model has none
// (load_state_dict(strict=False) lists it as unexpected), and with it the file needs no --clip.
util::StateDict to_reference_state(const util::StateDict& clip, const util::StateDict& prompts);

// Writes {name: tensor} as torch::pickle_save does (a torch.save-compatible zip); for tests.
void write_reference_checkpoint(const std::string& path, const util::StateDict& state);

}  // namespace vifi::model

// Weight sources. A vifi checkpoint stores the model under OpenAI's names (plus
// prompt_learner.* entries), and a converted reference checkpoint is mapped to those names
// (model/reference_checkpoint), so both architectures are inferred exactly like an archive's.
#include "vifi/model/weights.h"

#include "vifi/clip/openai_weights.h"
#include "vifi/model/reference_checkpoint.h"
#include "vifi/train/checkpoint.h"
#include "vifi/util/logging.h"

namespace vifi::model {

WeightsKind detect_weights_kind(const std::string& path) {
  if (train::is_vifi_checkpoint(path)) return WeightsKind::vifi_checkpoint;
  return is_reference_checkpoint(path) ? WeightsKind::reference_checkpoint : WeightsKind::openai_archive;
}

clip::CLIP load_clip(const std::string& path) {
  const auto kind = detect_weights_kind(path);
  if (kind == WeightsKind::openai_archive) return clip::load_openai_clip(path);
  auto state = kind == WeightsKind::reference_checkpoint ? map_reference_state(read_reference_checkpoint(path), path).clip
                                                         : train::read_checkpoint_model(path);
  for (auto it = state.begin(); it != state.end();)
    it = it->first.rfind("prompt_learner.", 0) == 0 ? state.erase(it) : std::next(it);
  clip::CLIP model(clip::infer_clip_config(state, path));
  util::load_state_dict(*model, state, {path, {}, false});
  return model;
}

clip::CLIP load_or_init_clip(const std::string& path, const std::string& arch) {
  if (!path.empty()) return load_clip(path);
  util::log_warn("no pretrained weights given (MODEL.PRETRAINED / --weights): initialising " + arch + " at random");
  return clip::CLIP(clip::clip_config_preset(arch));
}

}  // namespace vifi::model

// Weight sources. A vifi checkpoint stores the model under OpenAI's names (plus
// prompt_learner.* entries), so its architecture is inferred exactly like an archive's.
#include "vifi/model/weights.h"

#include "vifi/clip/openai_weights.h"
#include "vifi/train/checkpoint.h"
#include "vifi/util/logging.h"

namespace vifi::model {

WeightsKind detect_weights_kind(const std::string& path) {
  return train::is_vifi_checkpoint(path) ? WeightsKind::vifi_checkpoint : WeightsKind::openai_archive;
}

clip::CLIP load_clip(const std::string& path) {
  if (detect_weights_kind(path) == WeightsKind::openai_archive) return clip::load_openai_clip(path);
  auto state = train::read_checkpoint_model(path);
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

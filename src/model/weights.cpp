// Weight sources. A vifi checkpoint stores the model under OpenAI's names (plus
// prompt_learner.* entries), and a converted reference checkpoint is mapped to those names
// (model/reference_checkpoint), so both architectures are inferred exactly like an archive's.
#include "vifi/model/weights.h"

#include <filesystem>
#include <stdexcept>

#include "vifi/clip/openai_weights.h"
#include "vifi/model/reference_checkpoint.h"
#include "vifi/util/logging.h"

namespace vifi::model {

torch::serialize::InputArchive open_vifi_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": checkpoint not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a readable checkpoint: " + std::string(e.what_without_backtrace()).substr(0, 200));
  }
  c10::IValue format;
  if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kVifiCheckpointFormat)
    throw std::runtime_error(path + ": not a vifi checkpoint (no '" + std::string(kVifiCheckpointFormat) + "' tag)");
  return archive;
}

util::StateDict read_vifi_checkpoint_model(const std::string& path) {
  auto archive = open_vifi_checkpoint(path);
  torch::serialize::InputArchive model_archive;
  if (!archive.try_read("model", model_archive)) throw std::runtime_error(path + ": checkpoint lacks 'model'");
  util::StateDict state;
  for (const auto& key : model_archive.keys()) {
    torch::Tensor t;
    model_archive.read(key, t);
    state[key] = t;
  }
  return state;
}

bool is_vifi_checkpoint(const std::string& path) {
  try {
    open_vifi_checkpoint(path);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}


WeightsKind detect_weights_kind(const std::string& path) {
  if (is_vifi_checkpoint(path)) return WeightsKind::vifi_checkpoint;
  return is_reference_checkpoint(path) ? WeightsKind::reference_checkpoint : WeightsKind::openai_archive;
}

clip::CLIP load_clip(const std::string& path) {
  const auto kind = detect_weights_kind(path);
  if (kind == WeightsKind::openai_archive) return clip::load_openai_clip(path);
  auto state = kind == WeightsKind::reference_checkpoint ? map_reference_state(read_reference_checkpoint(path), path).clip
                                                         : read_vifi_checkpoint_model(path);
  for (auto it = state.begin(); it != state.end();)
    it = it->first.rfind("prompt_learner.", 0) == 0 ? state.erase(it) : std::next(it);
  clip::CLIP model(clip::infer_clip_config(state, path));
  util::load_state_dict(*model, state, util::strict_load(path));
  return model;
}

clip::CLIP load_or_init_clip(const std::string& path, const std::string& arch) {
  if (!path.empty()) return load_clip(path);
  util::log_warn("no pretrained weights given (MODEL.PRETRAINED / --weights): initialising " + arch + " at random");
  return clip::CLIP(clip::clip_config_preset(arch));
}

}  // namespace vifi::model

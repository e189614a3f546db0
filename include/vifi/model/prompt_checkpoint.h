// Prompt checkpoints: the learned prompt_learner.* tensors of a ViFi-CLIP plus the identity of
// the frozen base model they were learned on, so a file is kilobytes to megabytes (not the
// base's 600 MB) and is refused over any other base.
// Owns: the file format ("vifi-prompts-v1" LibTorch archive: prompt tensors, prompt options,
// the base's architecture and checksum, class names, the run's config text), the base-model
// checksum, and the checked load.
//
// The checksum is CRC-32C over every non-prompt parameter and buffer (name, shape and fp32
// bytes in name order), so it does not depend on the device or on how the weights were stored
// (an OpenAI fp16 archive and the vifi checkpoint made from it hash alike).
#pragma once
#include <string>
#include <vector>

#include "vifi/model/prompt_learner.h"
#include "vifi/model/vificlip.h"

namespace vifi::model {

struct BaseModelIdentity {
  std::string arch;      // CLIPConfig::to_string()
  std::string checksum;  // 8 hex digits
  bool operator==(const BaseModelIdentity& o) const { return arch == o.arch && checksum == o.checksum; }
};

struct PromptCheckpointInfo {
  PromptOptions options;
  BaseModelIdentity base;
  std::vector<std::string> class_names;  // the classes the prompts were trained on
  std::string config_yaml;               // resolved config of the prompting run
};

// Identity of `model` without its prompt_learner.* tensors (reads every weight once).
BaseModelIdentity base_model_identity(ViFiCLIPImpl& model);

// Writes atomically; the model must have a prompt learner.
void save_prompts(const std::string& path, ViFiCLIPImpl& model, const std::string& config_yaml);

// Everything but the tensors, e.g. to build a model with the stored prompt options.
PromptCheckpointInfo read_prompt_info(const std::string& path);

// Loads the prompt tensors into `model` (strict by name and shape) after checking that its base
// is the one the prompts were learned on; the error names both architectures and checksums.
void load_prompts(const std::string& path, ViFiCLIPImpl& model);

}  // namespace vifi::model

// torch.save files of other people's code (see header).
#include "vifi/model/reference_checkpoint.h"

#include <caffe2/serialize/inline_container.h>

#include <map>
#include <stdexcept>

#include "vifi/util/atomic_file.h"
#include "vifi/util/parse_number.h"
#include "vifi/util/torch_load.h"

namespace vifi::model {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Class-dependent buffers of the reference's prompt learner: vifi rebuilds them from class names.
bool is_rebuilt_buffer(const std::string& key) {
  return key == "prompt_learner.complete_text_embeddings" || key == "prompt_learner.token_prefix" ||
         key == "prompt_learner.token_suffix";
}

// OpenAI's CLIP names (clip/model.py), as torch.save(model.state_dict()) writes them.
bool is_openai_key(const std::string& key) {
  return starts_with(key, "visual.") || starts_with(key, "transformer.") || starts_with(key, "ln_final.") ||
         key == "positional_embedding" || key == "text_projection" || key == "logit_scale" ||
         key == "token_embedding.weight";
}

// "transformer.resblocks.<i>.VPT_shallow" -> i, else -1.
int64_t deep_prompt_block(const std::string& key) {
  static const std::string head = "transformer.resblocks.", tail = ".VPT_shallow";
  if (!starts_with(key, head) || key.size() <= head.size() + tail.size() ||
      key.compare(key.size() - tail.size(), tail.size(), tail) != 0)
    return -1;
  const auto digits = key.substr(head.size(), key.size() - head.size() - tail.size());
  return util::parse_non_negative(digits).value_or(-1);
}

// Blocks 1..D-1's [N,W] prompts -> [D-1,N,W].
torch::Tensor stack_deep(const std::map<int64_t, torch::Tensor>& blocks, const std::string& tower, const std::string& source) {
  std::vector<torch::Tensor> ordered;
  for (const auto& [block, tensor] : blocks) {
    if (block != static_cast<int64_t>(ordered.size()) + 1)
      throw std::runtime_error(source + ": " + tower + " prompts of block " + std::to_string(block) +
                               " without those of block " + std::to_string(ordered.size() + 1) +
                               " (VPT_shallow must cover blocks 1..depth-1)");
    if (tensor.dim() != 2 || (!ordered.empty() && tensor.sizes() != ordered.front().sizes()))
      throw std::runtime_error(source + ": " + tower + " prompts of block " + std::to_string(block) + " have shape " +
                               util::shape_string(tensor.sizes()) + ", expected [N_CTX, width] like the others");
    ordered.push_back(tensor);
  }
  return torch::stack(ordered);
}

const util::PickleValue* child(const util::PickleValue* node, const char* key) {
  return node && node->has_entries() ? node->get(key) : nullptr;
}

// TRAINER.ViFi_CLIP of the pickled yacs config (a dict subclass: its items are the keys).
RecordedTrainer recorded_trainer(const util::PickleValue& root) {
  RecordedTrainer out;
  const auto* trainer = child(child(child(&root, "config"), "TRAINER"), "ViFi_CLIP");
  if (!trainer) return out;
  out.present = true;
  if (const auto* v = trainer->get("CTX_INIT"); v && v->type == util::PickleValue::Type::string) out.ctx_init = v->text;
  if (const auto* v = trainer->get("ZS_EVAL"); v && v->type == util::PickleValue::Type::boolean) out.zs_eval = v->boolean;
  return out;
}

}  // namespace

ReferenceState map_reference_state(const util::StateDict& reference, const std::string& source) {
  ReferenceState out;
  std::map<int64_t, torch::Tensor> text_deep, vision_deep;
  for (const auto& [raw_key, tensor] : reference) {
    const auto key = starts_with(raw_key, "module.") ? raw_key.substr(7) : raw_key;
    const auto value = tensor.to(torch::kFloat32);
    if (key == "image_encoder.VPT") {
      out.prompts["prompt_learner.vision_ctx"] = value;
    } else if (starts_with(key, "image_encoder.") && deep_prompt_block(key.substr(14)) > 0) {
      vision_deep[deep_prompt_block(key.substr(14))] = value;
    } else if (starts_with(key, "text_encoder.") && deep_prompt_block(key.substr(13)) > 0) {
      text_deep[deep_prompt_block(key.substr(13))] = value;
    } else if (key == "prompt_learner.ctx") {
      out.prompts["prompt_learner.text_ctx"] = value;
    } else if (starts_with(key, "image_encoder.")) {
      out.clip["visual." + key.substr(14)] = value;
    } else if (starts_with(key, "text_encoder.")) {
      out.clip[key.substr(13)] = value;
    } else if (is_openai_key(key)) {
      out.clip[key] = value;
    } else if (!is_rebuilt_buffer(key) && key != "input_resolution" && key != "context_length" && key != "vocab_size") {
      throw std::runtime_error(source + ": unexpected key '" + raw_key +
                               "' (expected the authors' image_encoder.*, text_encoder.*, prompt_learner.*, "
                               "logit_scale, or OpenAI CLIP's visual.*, transformer.*, ...)");
    }
  }
  if (!vision_deep.empty()) {
    if (!out.prompts.count("prompt_learner.vision_ctx"))
      throw std::runtime_error(source + ": deep vision prompts (image_encoder.transformer.resblocks.*.VPT_shallow) "
                               "without image_encoder.VPT");
    out.prompts["prompt_learner.vision_deep"] = stack_deep(vision_deep, "vision", source);
  }
  if (!text_deep.empty()) {
    if (!out.prompts.count("prompt_learner.text_ctx"))
      throw std::runtime_error(source + ": deep text prompts (text_encoder.transformer.resblocks.*.VPT_shallow) "
                               "without prompt_learner.ctx");
    out.prompts["prompt_learner.text_deep"] = stack_deep(text_deep, "text", source);
  }
  return out;
}

util::StateDict to_reference_state(const util::StateDict& clip, const util::StateDict& prompts) {
  util::StateDict out;
  const std::string module = "module.";
  for (const auto& [key, tensor] : clip) {
    if (starts_with(key, "visual."))
      out[module + "image_encoder." + key.substr(7)] = tensor;
    else if (key == "logit_scale" || key == "token_embedding.weight")
      out[module + key] = tensor;
    else
      out[module + "text_encoder." + key] = tensor;  // transformer.*, positional_embedding, ln_final.*, text_projection
  }
  const auto deep = [&](const std::string& name, const std::string& tower) {
    const auto it = prompts.find(name);
    if (it == prompts.end()) return;
    for (int64_t i = 0; i < it->second.size(0); ++i)
      out[module + tower + ".transformer.resblocks." + std::to_string(i + 1) + ".VPT_shallow"] = it->second[i].clone();
  };
  for (const auto& [key, tensor] : prompts) {
    if (key == "prompt_learner.text_ctx")
      out[module + "prompt_learner.ctx"] = tensor;
    else if (key == "prompt_learner.vision_ctx")
      out[module + "image_encoder.VPT"] = tensor;
    else if (key != "prompt_learner.text_deep" && key != "prompt_learner.vision_deep")
      throw std::invalid_argument("to_reference_state: unknown prompt tensor '" + key + "'");
  }
  deep("prompt_learner.text_deep", "text_encoder");
  deep("prompt_learner.vision_deep", "image_encoder");
  return out;
}

bool is_reference_checkpoint(const std::string& path) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return reader.hasRecord("data.pkl") && !reader.hasRecord("constants.pkl");
  } catch (const std::exception&) {
    return false;
  }
}

ReferenceFile reference_file_of(const util::TorchFile& file) {
  const auto& path = file.source();
  const auto& root = file.root();
  if (!root.has_entries()) throw std::runtime_error(path + ": holds a " + root.describe() + ", expected a dict");
  const auto* model = root.get("model");
  const bool wrapped = model && model->has_entries();
  const auto& state = wrapped ? *model : root;
  const std::string where = wrapped ? "'model' entry" : "state dict";
  ReferenceFile out;
  for (const auto& [key, value] : state.entries) {
    if (key->type != util::PickleValue::Type::string)
      throw std::runtime_error(path + ": its " + where + " has a " + key->describe() + " key, expected names");
    if (value->type != util::PickleValue::Type::tensor)
      throw std::runtime_error(path + ": " + where + " '" + key->text + "' is a " + value->describe() +
                               ", expected a tensor" + (wrapped ? "" : " (a checkpoint keeps its weights under 'model')"));
    out.state[key->text] = file.tensor(*value);
  }
  if (out.state.empty()) throw std::runtime_error(path + ": its " + where + " holds no tensors");
  out.trainer = recorded_trainer(root);
  return out;
}

ReferenceFile read_reference_checkpoint(const std::string& path) { return reference_file_of(util::torch_load(path)); }

void write_reference_checkpoint(const std::string& path, const util::StateDict& state) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [key, tensor] : state) dict.insert(key, tensor);
  const auto bytes = torch::pickle_save(dict);
  util::write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace vifi::model

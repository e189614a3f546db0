// The authors' released checkpoints, converted (see header).
#include "vifi/model/reference_checkpoint.h"

#include <caffe2/serialize/inline_container.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "vifi/util/atomic_file.h"

namespace vifi::model {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Class-dependent buffers of the reference's prompt learner: vifi rebuilds them from class names.
bool is_rebuilt_buffer(const std::string& key) {
  return key == "prompt_learner.complete_text_embeddings" || key == "prompt_learner.token_prefix" ||
         key == "prompt_learner.token_suffix";
}

}  // namespace

ReferenceState map_reference_state(const util::StateDict& reference, const std::string& source) {
  ReferenceState out;
  for (const auto& [raw_key, tensor] : reference) {
    const auto key = starts_with(raw_key, "module.") ? raw_key.substr(7) : raw_key;
    const auto value = tensor.to(torch::kFloat32);
    if (starts_with(key, "image_encoder."))
      out.clip["visual." + key.substr(14)] = value;
    else if (starts_with(key, "text_encoder."))
      out.clip[key.substr(13)] = value;
    else if (key == "logit_scale" || key == "token_embedding.weight")
      out.clip[key] = value;
    else if (key == "prompt_learner.ctx")
      out.prompt[key] = value;
    else if (!is_rebuilt_buffer(key))
      throw std::runtime_error(source + ": unexpected key '" + raw_key +
                               "' for a ViFi-CLIP reference checkpoint (expected image_encoder.*, text_encoder.*, "
                               "logit_scale, prompt_learner.*)");
  }
  if (!out.clip.count("token_embedding.weight"))
    throw std::runtime_error(source + ": no token_embedding.weight (the reference does not save it); convert with "
                             "tools/convert_checkpoint.py --clip ViT-B-16.pt to copy it from OpenAI's archive");
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

util::StateDict read_reference_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto value = torch::pickle_load(bytes);
  if (!value.isGenericDict()) throw std::runtime_error(path + ": not a {name: tensor} dict (convert_checkpoint.py)");
  util::StateDict state;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      throw std::runtime_error(path + ": entries must be name -> tensor (convert_checkpoint.py output)");
    state[entry.key().toStringRef()] = entry.value().toTensor();
  }
  return state;
}

void write_reference_checkpoint(const std::string& path, const util::StateDict& state) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [key, tensor] : state) dict.insert(key, tensor);
  const auto bytes = torch::pickle_save(dict);
  util::write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace vifi::model

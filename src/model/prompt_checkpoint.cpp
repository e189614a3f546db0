// Prompt checkpoint format, base checksum and checked loading (see header).
#include "vifi/model/prompt_checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "vifi/util/atomic_file.h"
#include "vifi/util/crc32c.h"
#include "vifi/util/state_dict.h"

namespace vifi::model {
namespace {

constexpr const char* kFormat = "vifi-prompts-v1";
constexpr const char* kPrefix = "prompt_learner.";

bool is_prompt_key(const std::string& key) { return key.rfind(kPrefix, 0) == 0; }


uint32_t tensor_crc(const torch::Tensor& t) {
  const auto cpu = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return util::crc32c({static_cast<const char*>(cpu.data_ptr()), static_cast<size_t>(cpu.nbytes())});
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

torch::serialize::InputArchive open_prompts(const std::string& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path + ": prompt checkpoint not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a readable prompt checkpoint: " +
                             std::string(e.what_without_backtrace()).substr(0, 200));
  }
  c10::IValue format;
  if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kFormat)
    throw std::runtime_error(path + ": not a vifi prompt checkpoint (no '" + std::string(kFormat) + "' tag)");
  return archive;
}

c10::IValue read_value(torch::serialize::InputArchive& archive, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!archive.try_read(key, v)) throw std::runtime_error(path + ": prompt checkpoint lacks '" + key + "'");
  return v;
}

void write_options(torch::serialize::OutputArchive& archive, const PromptOptions& o) {
  archive.write("n_ctx_vision", c10::IValue(o.n_ctx_vision));
  archive.write("n_ctx_text", c10::IValue(o.n_ctx_text));
  archive.write("ctx_init", c10::IValue(o.ctx_init));
  archive.write("depth_vision", c10::IValue(o.depth_vision));
  archive.write("depth_text", c10::IValue(o.depth_text));
}

PromptOptions read_options(torch::serialize::InputArchive& archive, const std::string& path) {
  PromptOptions o;
  o.enabled = true;
  o.n_ctx_vision = read_value(archive, "n_ctx_vision", path).toInt();
  o.n_ctx_text = read_value(archive, "n_ctx_text", path).toInt();
  o.ctx_init = read_value(archive, "ctx_init", path).toStringRef();
  o.depth_vision = read_value(archive, "depth_vision", path).toInt();
  o.depth_text = read_value(archive, "depth_text", path).toInt();
  return o;
}

}  // namespace

BaseModelIdentity base_model_identity(ViFiCLIPImpl& model) {
  std::ostringstream manifest;  // one line per tensor; its CRC is the model's
  for (const auto& [key, value] : util::module_state(model)) {
    if (is_prompt_key(key)) continue;
    manifest << key << " " << util::shape_string(value.sizes()) << " " << util::hex32(tensor_crc(value)) << "\n";
  }
  return {model.clip()->config().to_string(), util::hex32(util::crc32c(manifest.str()))};
}

void save_prompts(const std::string& path, ViFiCLIPImpl& model, const std::string& config_yaml) {
  TORCH_CHECK(model.prompt_learner(), "save_prompts needs a model with a prompt learner (PROMPT_MODEL true), got none");
  const auto base = base_model_identity(model);
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  torch::serialize::OutputArchive tensors;
  for (const auto& [key, value] : util::module_state(*model.prompt_learner())) tensors.write(key, value.detach().cpu());
  archive.write("prompts", tensors);
  write_options(archive, model.prompt_learner()->options());
  archive.write("base_arch", c10::IValue(base.arch));
  archive.write("base_checksum", c10::IValue(base.checksum));
  archive.write("class_names", c10::IValue(join_lines(model.class_names())));
  archive.write("config", c10::IValue(config_yaml));
  util::write_file_atomic(path, [&](std::ostream& out) { archive.save_to(out); });
}

PromptCheckpointInfo read_prompt_info(const std::string& path) {
  auto archive = open_prompts(path);
  PromptCheckpointInfo info;
  info.options = read_options(archive, path);
  info.base = {read_value(archive, "base_arch", path).toStringRef(), read_value(archive, "base_checksum", path).toStringRef()};
  info.class_names = split_lines(read_value(archive, "class_names", path).toStringRef());
  info.config_yaml = read_value(archive, "config", path).toStringRef();
  return info;
}

void load_prompts(const std::string& path, ViFiCLIPImpl& model) {
  const auto info = read_prompt_info(path);
  if (!model.prompt_learner())
    throw std::runtime_error(path + ": holds prompts but the model has no prompt learner (set PROMPT_MODEL true)");
  const auto base = base_model_identity(model);
  if (!(base == info.base))
    throw std::runtime_error(path + ": prompts were learned on base model " + info.base.arch + " (checksum " +
                             info.base.checksum + ") but the loaded base model is " + base.arch + " (checksum " +
                             base.checksum + "); pass the --weights the prompts were trained from");
  auto archive = open_prompts(path);
  torch::serialize::InputArchive tensors;
  if (!archive.try_read("prompts", tensors)) throw std::runtime_error(path + ": prompt checkpoint lacks 'prompts'");
  util::StateDict state;
  for (const auto& key : tensors.keys()) {
    torch::Tensor t;
    tensors.read(key, t);
    state[key] = t;
  }
  util::load_state_dict(*model.prompt_learner(), state, util::strict_load(path));
  model.clear_text_cache();
}

}  // namespace vifi::model

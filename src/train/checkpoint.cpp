// Checkpoint files are LibTorch serialize archives: "model" and "optimizer" sub-archives plus
// scalar entries. The format tag (model/weights, which tells weight files apart) lets loaders tell
// them from OpenAI's TorchScript archives.
#include "vifi/train/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "vifi/model/weights.h"
#include "vifi/util/atomic_file.h"
#include "vifi/util/parse_number.h"

namespace vifi::train {
namespace {

template <typename T>
T read_scalar(torch::serialize::InputArchive& archive, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!archive.try_read(key, v)) throw std::runtime_error(path + ": checkpoint lacks '" + key + "'");
  if constexpr (std::is_same_v<T, std::string>) return v.toStringRef();
  else if constexpr (std::is_same_v<T, double>) return v.toDouble();
  else return v.toInt();
}

}  // namespace

void save_checkpoint(const std::string& path, const torch::nn::Module& model, const torch::optim::Optimizer* optimizer,
                     const TrainingProgress& progress) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(model::kVifiCheckpointFormat)));
  torch::serialize::OutputArchive model_archive;
  for (const auto& [key, value] : util::module_state(model)) model_archive.write(key, value.detach().cpu());
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("epoch", c10::IValue(progress.epoch));
  archive.write("step_in_epoch", c10::IValue(progress.step_in_epoch));
  archive.write("optimizer_steps", c10::IValue(progress.optimizer_steps));
  archive.write("best_acc1", c10::IValue(progress.best_acc1));
  archive.write("config", c10::IValue(progress.config_yaml));
  archive.write("accumulation_steps", c10::IValue(progress.accumulation_steps));
  archive.write("global_batch", c10::IValue(progress.global_batch));
  // LibTorch's zip writer throws when a write comes up short, and again from its destructor
  // (std::terminate, a stack trace, a temporary file left behind). So it is never told: the bytes
  // go to the stream, which remembers the failure, and write_file_atomic reports it in one line.
  util::write_file_atomic(path, [&](std::ostream& out) {
    archive.save_to([&out](const void* data, size_t size) -> size_t {
      if (out) out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
      return size;
    });
  });
}

TrainingProgress read_checkpoint_progress(const std::string& path) {
  auto archive = model::open_vifi_checkpoint(path);
  TrainingProgress p;
  p.epoch = read_scalar<int64_t>(archive, "epoch", path);
  p.step_in_epoch = read_scalar<int64_t>(archive, "step_in_epoch", path);
  p.optimizer_steps = read_scalar<int64_t>(archive, "optimizer_steps", path);
  p.best_acc1 = read_scalar<double>(archive, "best_acc1", path);
  p.config_yaml = read_scalar<std::string>(archive, "config", path);
  c10::IValue v;  // absent in checkpoints written before the batch plan
  if (archive.try_read("accumulation_steps", v)) p.accumulation_steps = v.toInt();
  if (archive.try_read("global_batch", v)) p.global_batch = v.toInt();
  return p;
}

TrainingProgress load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer) {
  util::load_state_dict(model, model::read_vifi_checkpoint_model(path), util::strict_load(path));
  if (optimizer) {
    auto archive = model::open_vifi_checkpoint(path);
    torch::serialize::InputArchive optimizer_archive;
    if (!archive.try_read("optimizer", optimizer_archive))
      throw std::runtime_error(path + ": checkpoint has no optimiser state; cannot resume training from it");
    optimizer->load(optimizer_archive);
  }
  return read_checkpoint_progress(path);
}

std::optional<std::string> find_latest_checkpoint(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) return std::nullopt;
  std::optional<std::filesystem::path> best;
  std::filesystem::file_time_type best_time;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    const bool candidate = (name.rfind("ckpt_epoch_", 0) == 0 || name == "interrupted.pth") &&
                           entry.path().extension() == ".pth";
    if (!candidate) continue;
    const auto time = entry.last_write_time();
    if (!best || time > best_time) best = entry.path(), best_time = time;
  }
  if (!best) return std::nullopt;
  return best->string();
}

std::vector<std::string> prune_epoch_checkpoints(const std::string& dir, int64_t keep) {
  std::vector<std::string> removed;
  if (keep <= 0 || !std::filesystem::is_directory(dir)) return removed;
  std::vector<std::pair<int64_t, std::filesystem::path>> epochs;
  const std::string prefix = "ckpt_epoch_";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || entry.path().extension() != ".pth") continue;
    const auto number = name.substr(prefix.size(), name.size() - prefix.size() - 4);
    // Not an epoch this code wrote (no digits, or more than an int64 holds): never touched.
    if (const auto epoch = util::parse_non_negative(number)) epochs.emplace_back(*epoch, entry.path());
  }
  std::sort(epochs.begin(), epochs.end());
  for (size_t i = 0; i + static_cast<size_t>(keep) < epochs.size(); ++i) {
    std::error_code error;
    if (std::filesystem::remove(epochs[i].second, error)) removed.push_back(epochs[i].second.string());
  }
  return removed;
}

}  // namespace vifi::train

// Config -> runtime objects (see header).
#include "experiment.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "vifi/data/dataset.h"
#include "vifi/data/labels.h"
#include "vifi/data/video_batch_source.h"
#include "vifi/model/weights.h"
#include "vifi/util/logging.h"

namespace vifi::cli {

torch::Device pick_device() { return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::kCPU; }

void set_threads(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
}

model::ViFiCLIPOptions vificlip_options(const train::Config& config) {
  model::ViFiCLIPOptions o;
  o.ctx_init = config.trainer.ctx_init;
  o.zero_shot_prompt = config.trainer.zs_eval;
  o.use = config.trainer.use;
  o.fusion = config.trainer.fusion;
  const auto& t = config.trainer;
  o.prompt = {t.prompt_model, t.n_ctx_vision, t.n_ctx_text, t.ctx_init, t.prompt_depth_vision, t.prompt_depth_text};
  return o;
}

std::vector<std::string> load_class_names(const train::Config& config) {
  auto names = data::load_class_names(config.data.label_list);
  if (static_cast<int64_t>(names.size()) != config.data.num_classes)
    throw std::runtime_error(config.data.label_list + ": has " + std::to_string(names.size()) +
                             " classes but DATA.NUM_CLASSES is " + std::to_string(config.data.num_classes));
  return names;
}

model::ViFiCLIP build_model(const train::Config& config, const std::vector<std::string>& class_names) {
  auto clip = model::load_or_init_clip(config.model.pretrained, config.model.arch);
  const auto resolution = clip->config().image_resolution;
  if (resolution != config.data.input_size)
    throw std::runtime_error("DATA.INPUT_SIZE is " + std::to_string(config.data.input_size) + " but the model (" +
                             (config.model.pretrained.empty() ? config.model.arch : config.model.pretrained) +
                             ") takes " + std::to_string(resolution) + "x" + std::to_string(resolution) + " inputs");
  auto tokenizer = std::make_shared<const clip::Tokenizer>();
  return model::ViFiCLIP(clip, tokenizer, class_names, vificlip_options(config));
}

std::unique_ptr<train::BatchSource> make_batch_source(const train::Config& config, const std::string& list_file,
                                                      data::LoaderMode mode, int rank, int world_size) {
  auto records = data::load_annotation_list(list_file, config.data.root);
  data::check_labels(records, config.data.num_classes, list_file);
  return std::make_unique<data::VideoBatchSource>(std::move(records), data::clip_config_from(config),
                                                  data::loader_config_from(config, mode, rank, world_size), mode);
}

eval::RunReport evaluate_config(model::ViFiCLIP& model, const train::Config& config, const std::string& name) {
  const auto names = load_class_names(config);
  model->set_class_names(names);
  auto source = make_batch_source(config, config.data.val_file, data::LoaderMode::eval);
  const auto device = pick_device();
  model->to(device);
  auto result = eval::evaluate(model, *source, {device, {}});
  util::log_info(name + ": top-1 " + eval::format_percent(result.counts.top1()) + "%, top-5 " +
                 eval::format_percent(result.counts.top5()) + "% over " + std::to_string(result.counts.total()) +
                 " videos x " + std::to_string(result.num_views) + " views");
  for (const auto& f : result.failed) util::log_warn("not evaluated: " + f.path + ": " + f.reason);
  return {name, config.data.val_file, names, std::move(result)};
}

void add_log_file(const std::string& output_dir, int rank) {
  std::filesystem::create_directories(output_dir);
  const auto path = (std::filesystem::path(output_dir) / ("log_rank" + std::to_string(rank) + ".txt")).string();
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  spdlog::default_logger()->sinks().push_back(sink);
}

void set_log_rank(int rank) { spdlog::set_pattern("[%H:%M:%S] [rank " + std::to_string(rank) + "] [%^%l%$] %v"); }

}  // namespace vifi::cli

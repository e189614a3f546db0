// Config -> runtime objects (see header).
#include "vifi/experiment/components.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "vifi/data/dataset.h"
#include "vifi/data/labels.h"
#include "vifi/data/video_batch_source.h"
#include "vifi/dist/torchrun_env.h"
#include "vifi/eval/evaluator.h"
#include "vifi/model/weights.h"
#include "vifi/util/logging.h"

namespace vifi::experiment {

torch::Device pick_device() { return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::kCPU; }

void set_threads(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
}

RankContext join_job(int threads, std::chrono::milliseconds timeout) {
  RankContext ranks;
  ranks.threads = threads;
  ranks.device = pick_device();
  const auto env = dist::read_torchrun_env();
  if (!env) return ranks;
  set_log_rank(env->rank);
  ranks.placement.rank = env->rank;
  ranks.placement.world_size = env->world_size;
  ranks.device = dist::device_for(*env);
  dist::ProcessGroupOptions options;
  options.timeout = timeout;
  ranks.group = dist::ProcessGroup::connect(*env, ranks.device, options);
  util::log_info("rank " + std::to_string(env->rank) + " of " + std::to_string(env->world_size) + " joined (" +
                 ranks.group->backend_name() + ", " + ranks.device.str() + ")");
  // The node's cores are shared by its ranks.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads <= 0) ranks.threads = std::max(1, cores / env->local_world_size);
  return ranks;
}

std::vector<std::string> load_class_names(const Config& config) {
  auto names = data::load_class_names(config.data.label_list);
  if (static_cast<int64_t>(names.size()) != config.data.num_classes)
    throw std::runtime_error(config.data.label_list + ": has " + std::to_string(names.size()) +
                             " classes but DATA.NUM_CLASSES is " + std::to_string(config.data.num_classes));
  return names;
}

model::ViFiCLIP build_model(const Config& config, const std::vector<std::string>& class_names) {
  torch::manual_seed(static_cast<uint64_t>(config.seed));  // the same init on every rank and every run
  const auto& pretrained = config.model.pretrained;
  model::ModelWeights weights;
  if (!pretrained.empty()) weights = model::read_model_weights(pretrained, config.model.clip_archive);
  auto clip = pretrained.empty() ? model::load_or_init_clip("", config.model.arch)
                                 : model::build_clip(weights.clip, pretrained);
  const auto resolution = clip->config().image_resolution;
  if (resolution != config.data.input_size)
    throw std::runtime_error("DATA.INPUT_SIZE is " + std::to_string(config.data.input_size) + " but the model (" +
                             (config.model.pretrained.empty() ? config.model.arch : config.model.pretrained) +
                             ") takes " + std::to_string(resolution) + "x" + std::to_string(resolution) + " inputs");
  auto tokenizer = std::make_shared<const clip::Tokenizer>();
  model::ViFiCLIP model(clip, tokenizer, class_names, vificlip_options(config));
  model::load_weight_prompts(*model, weights, "MODEL.PRETRAINED " + pretrained);  // a prompted release's prompts
  return model;
}

std::vector<data::VideoRecord> load_video_list(const Config& config, const std::string& list_file) {
  auto records = data::load_annotation_list(list_file, config.data.root);
  data::check_labels(records, config.data.num_classes, list_file);
  return records;
}

std::unique_ptr<BatchSource> make_eval_source(const Config& config, const std::string& list_file,
                                              const Placement& placement) {
  return std::make_unique<data::VideoBatchSource>(load_video_list(config, list_file), clip_config(config),
                                                  loader_config(config, data::LoaderMode::eval, placement),
                                                  data::LoaderMode::eval);
}

TrainingData make_training_data(const Config& config, const std::string& list_file, const Placement& placement) {
  auto records = load_video_list(config, list_file);
  auto plan = train::plan_batches(config.train, static_cast<int64_t>(records.size()), placement.world_size);
  auto loader = training_loader_config(config, placement, plan);
  return {std::make_unique<data::VideoBatchSource>(std::move(records), clip_config(config), loader,
                                                   data::LoaderMode::train),
          plan};
}

void log_result(const std::string& what, const eval::EvalResult& r) {
  util::log_info(what + ": top-1 " + eval::format_percent(r.counts.top1()) + "%, top-5 " +
                 eval::format_percent(r.counts.top5()) + "% over " + std::to_string(r.counts.total()) + " videos x " +
                 std::to_string(r.num_views) + " views" +
                 (r.failed.empty() ? "" : "; " + std::to_string(r.failed.size()) + " videos failed to decode"));
  for (const auto& f : r.failed) util::log_warn("not evaluated: " + f.path + ": " + f.reason);
}

eval::RunReport evaluate_config(model::ViFiCLIP& model, const Config& config, const std::string& name,
                                const RankContext& ranks) {
  const auto names = load_class_names(config);
  model->set_class_names(names);
  auto source = make_eval_source(config, config.data.val_file, ranks.placement);
  model->to(ranks.device);
  eval::EvalOptions options;
  options.device = ranks.device;
  options.group = ranks.group.get();
  auto result = eval::evaluate(model, *source, options);
  log_result(name, result);
  return {name, config.data.val_file, names, std::move(result)};
}

void add_log_file(const std::string& output_dir, int rank) {
  std::filesystem::create_directories(output_dir);
  const auto path = (std::filesystem::path(output_dir) / ("log_rank" + std::to_string(rank) + ".txt")).string();
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
  spdlog::default_logger()->sinks().push_back(sink);
}

void set_log_rank(int rank) { spdlog::set_pattern("[%H:%M:%S] [rank " + std::to_string(rank) + "] [%^%l%$] %v"); }

}  // namespace vifi::experiment

// Protocol run lists (see header).
#include "vifi/experiment/runs.h"

#include <filesystem>
#include <stdexcept>

#include "vifi/eval/views.h"

namespace vifi::experiment {
namespace {

void check_pairs(const char* what, size_t configs, size_t others, const char* other_name) {
  if (others != 1 && others != configs)
    throw std::invalid_argument(std::string(what) + ": " + other_name + " needs one value, or one per --config (" +
                                std::to_string(configs) + "), got " + std::to_string(others));
}

}  // namespace

std::vector<EvalRun> supervised_runs(const Config& config) {
  Config single = config, multi = config;
  single.test = eval::with_views(config.test, eval::ViewLayout{});
  if (config.test.multi_view_inference) multi.test = eval::with_views(config.test, eval::kMultiViewInference);
  return {{"single_view", std::move(single)}, {"multi_view", std::move(multi)}};
}

std::vector<EvalRun> zeroshot_runs(const std::vector<Config>& splits) {
  if (splits.empty()) throw std::invalid_argument("zeroshot: no split configs");
  std::vector<EvalRun> runs;
  for (size_t i = 0; i < splits.size(); ++i) runs.push_back({"split" + std::to_string(i + 1), splits[i]});
  return runs;
}

std::vector<SeedRun> base2novel_runs(const std::vector<Config>& bases, const std::vector<Config>& novels) {
  if (bases.empty()) throw std::invalid_argument("base2novel: no base configs");
  check_pairs("base2novel", bases.size(), novels.size(), "--novel-config");
  std::vector<SeedRun> runs;
  for (size_t i = 0; i < bases.size(); ++i) {
    const auto seed = "s" + std::to_string(i + 1);
    runs.push_back({seed, {seed + "_base", bases[i]}, {seed + "_novel", novels[novels.size() == 1 ? 0 : i]}});
  }
  return runs;
}

std::vector<EvalRun> fewshot_runs(const std::vector<Config>& configs, const std::vector<int64_t>& shots) {
  if (configs.empty()) throw std::invalid_argument("fewshot: no K-shot configs");
  if (shots.size() != configs.size())
    throw std::invalid_argument("fewshot: --shots has " + std::to_string(shots.size()) + " values for " +
                                std::to_string(configs.size()) + " --config files");
  std::vector<EvalRun> runs;
  for (size_t i = 0; i < configs.size(); ++i) runs.push_back({"K" + std::to_string(shots[i]), configs[i]});
  return runs;
}

Config with_weights(Config config, const std::string& weights) {
  config.model.pretrained = std::filesystem::absolute(weights).string();
  config.model.resume.clear();
  return config;
}

Config with_training_output(Config config, const std::string& output, const std::string& name) {
  config.output = (std::filesystem::path(output) / ("train_" + name)).string();
  return config;
}

Config prompting_config(Config config, const std::string& source) {
  config.trainer.prompt_model = true;
  if (config.trainer.n_ctx_text == 0 && config.trainer.n_ctx_vision == 0)
    throw ConfigError(source + ": no prompts to learn (TRAINER.ViFi_CLIP.N_CTX_TEXT and N_CTX_VISION are 0)");
  return config;
}

Config full_finetuning_config(Config config) {
  config.trainer.prompt_model = false;
  config.trainer.use = EncoderUse::both;
  return config;
}

}  // namespace vifi::experiment

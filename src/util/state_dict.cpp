// Strict, named state loading (see header for why not torch::load).
#include "vifi/util/state_dict.h"

#include <sstream>
#include <stdexcept>

namespace vifi::util {

LoadStateOptions strict_load(const std::string& source) {
  LoadStateOptions options;
  options.source = source;
  return options;
}

LoadStateOptions partial_load(const std::string& source) {
  auto options = strict_load(source);
  options.allow_missing = true;
  return options;
}

std::string shape_string(const torch::IntArrayRef& sizes) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < sizes.size(); ++i) s << (i ? "," : "") << sizes[i];
  s << "]";
  return s.str();
}

StateDict module_state(const torch::nn::Module& module) {
  StateDict state;
  for (const auto& p : module.named_parameters(true)) state[p.key()] = p.value();
  for (const auto& b : module.named_buffers(true)) state[b.key()] = b.value();
  return state;
}

void load_state_dict(torch::nn::Module& module, const StateDict& state, const LoadStateOptions& options) {
  auto targets = module_state(module);
  torch::NoGradGuard no_grad;
  std::set<std::string> filled;
  for (const auto& [key, value] : state) {
    if (options.ignore.count(key)) continue;
    auto it = targets.find(key);
    if (it == targets.end())
      throw std::runtime_error(options.source + ": unexpected key '" + key + "' " + shape_string(value.sizes()) +
                               " (the model has no such parameter)");
    if (it->second.sizes() != value.sizes())
      throw std::runtime_error(options.source + ": shape mismatch for '" + key + "': expected " +
                               shape_string(it->second.sizes()) + ", got " + shape_string(value.sizes()));
    it->second.copy_(value);
    filled.insert(key);
  }
  if (options.allow_missing) return;
  for (const auto& [key, value] : targets)
    if (!filled.count(key))
      throw std::runtime_error(options.source + ": missing key '" + key + "' " + shape_string(value.sizes()) +
                               " (the file does not contain this parameter)");
}

}  // namespace vifi::util

// Comparing two trainings' parameters by name, to float rounding.
// The key part of each attention's in_proj_bias shifts every logit of a query equally, which the
// softmax ignores: its exact gradient is 0 and the computed one is rounding noise, which Adam
// scales up to +-lr per step whatever its size. Those elements are compared separately.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <string>

namespace vifi::test {

using NamedTensors = std::map<std::string, torch::Tensor>;

struct ParameterDiff {
  double rest = 0;        // max |a - b| over every element but the attention key biases
  double key_biases = 0;  // max |a - b| over the key third of each attn.in_proj_bias
};

inline bool is_in_proj_bias(const std::string& name) {
  const std::string suffix = "attn.in_proj_bias";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Both maps must hold the same names and shapes (checked with gtest assertions by the caller's
// expectations: a missing name fails).
inline ParameterDiff parameter_diff(const NamedTensors& a, const NamedTensors& b) {
  ParameterDiff d;
  for (const auto& [name, x] : a) {
    const auto it = b.find(name);
    if (it == b.end()) {
      ADD_FAILURE() << name << " is missing from the second set";
      continue;
    }
    const auto diff = (x.to(torch::kDouble) - it->second.to(torch::kDouble)).abs();
    if (!is_in_proj_bias(name)) {
      d.rest = std::max(d.rest, diff.max().item<double>());
      continue;
    }
    const auto third = diff.size(0) / 3;  // [q | k | v]
    d.rest = std::max({d.rest, diff.narrow(0, 0, third).max().item<double>(),
                       diff.narrow(0, 2 * third, third).max().item<double>()});
    d.key_biases = std::max(d.key_biases, diff.narrow(0, third, third).max().item<double>());
  }
  return d;
}

}  // namespace vifi::test

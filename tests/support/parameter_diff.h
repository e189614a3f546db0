// Comparing two trainings' parameters by name, to float rounding.
// The key part of each attention's in_proj_bias shifts every logit of a query equally, which the
// softmax ignores: its exact gradient is 0 and the computed one is rounding noise, which Adam
// scales up to +-lr per step whatever its size. Those elements are compared separately. Any other
// element whose exact gradient is (nearly) 0 can show the same noise, which `rest_over` counts.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vifi::test {

using NamedTensors = std::map<std::string, torch::Tensor>;

struct ParameterDiff {
  double rest = 0;        // max |a - b| over every element but the attention key biases
  double key_biases = 0;  // max |a - b| over the key third of each attn.in_proj_bias
  std::string rest_name;  // the parameter where `rest` is reached, for failure messages
  std::vector<torch::Tensor> rest_parts;  // |a - b| of those elements, per parameter

  // How many of the elements but the key biases differ by more than `threshold`, and of how many.
  std::pair<int64_t, int64_t> rest_over(double threshold) const {
    int64_t over = 0, total = 0;
    for (const auto& part : rest_parts) {
      over += (part > threshold).sum().item<int64_t>();
      total += part.numel();
    }
    return {over, total};
  }
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
    const auto note = [&](const torch::Tensor& part) {
      d.rest_parts.push_back(part.flatten());
      const double value = part.max().item<double>();
      if (value > d.rest) {
        d.rest = value;
        d.rest_name = name;
      }
    };
    if (!is_in_proj_bias(name)) {
      note(diff);
      continue;
    }
    const auto third = diff.size(0) / 3;  // [q | k | v]
    note(diff.narrow(0, 0, third));
    note(diff.narrow(0, 2 * third, third));
    d.key_biases = std::max(d.key_biases, diff.narrow(0, third, third).max().item<double>());
  }
  return d;
}

}  // namespace vifi::test

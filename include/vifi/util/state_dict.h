// Strict state loading by name and shape. torch::load assigns tensors of the wrong shape
// silently and ignores extra keys; every checkpoint vifi reads goes through here instead.
#pragma once
#include <torch/torch.h>

#include <map>
#include <set>
#include <string>

namespace vifi::util {

using StateDict = std::map<std::string, torch::Tensor>;

struct LoadStateOptions {
  std::string source;                 // file name for error messages
  std::set<std::string> ignore;       // keys in the file that are expected and skipped
  bool allow_missing = false;         // true: parameters absent from the file keep their values
};

// Every parameter must come from `source`, nothing else may be in it.
LoadStateOptions strict_load(const std::string& source);
// Entries of `source` overwrite theirs; parameters it lacks keep their values.
LoadStateOptions partial_load(const std::string& source);

// Copies every entry of `state` into the parameter/buffer of the same name (converting dtype,
// e.g. fp16 -> fp32), under NoGradGuard. Throws std::runtime_error naming the source and key on:
// an unexpected key, a shape mismatch ("expected [512,768], got [768,512]"), or a parameter
// of the module the file does not contain (unless allow_missing).
void load_state_dict(torch::nn::Module& module, const StateDict& state, const LoadStateOptions& options);

// named_parameters + named_buffers of a module, as one map (recursively named "a.b.c").
StateDict module_state(const torch::nn::Module& module);

std::string shape_string(const torch::IntArrayRef& sizes);

}  // namespace vifi::util

// What `vifi predict`, `vifi explain` and `vifi embed --videos-from` share: label lists from the
// command line, and one video read the way evaluation reads it (test-mode sampling, short-side
// resize and centre crop, normalised). Their models come from model::load_vificlip.
#pragma once
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "vifi/model/vificlip.h"

namespace vifi::cli {

// "a,b , c" -> {"a","b","c"} (trimmed). Throws naming the option when no label is left.
std::vector<std::string> split_labels(const std::string& text, const std::string& option);

// Class names from --labels text or a --label-file (CSV "id,name" or one name per line);
// exactly one of them must be given.
std::vector<std::string> labels_from(const std::string& labels, const std::string& label_file);

// `frames` frames of `path` sampled and cropped as in evaluation: [T,3,R,R] float32.
// Throws data::VideoError naming the file when it cannot be read.
torch::Tensor read_video_clip(const std::string& path, int64_t frames, int64_t resolution);

}  // namespace vifi::cli

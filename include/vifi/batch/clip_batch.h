// One batch of clips as it travels from the loader (data/) to the trainer and evaluator: the
// only batch type, so nothing is copied field by field between layers. Training batches are
// [B,T,3,H,W]; evaluation batches always carry a view axis, [B,V,T,3,H,W] with V >= 1, so one
// code path handles single- and multi-view inference. Namespace vifi (not vifi::batch): the
// type is vocabulary shared by every layer above, and `batch` is the name of its variables.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vifi {

struct FailedVideo {
  int64_t index = -1;  // dataset index
  std::string path;
  std::string reason;
};

struct ClipBatch {
  torch::Tensor video;               // training [B,T,3,H,W]; evaluation [B,V,T,3,H,W], V >= 1 views
                                     // (eval/views owns their layout and averaging)
  torch::Tensor label;               // [B] int64
  std::vector<int64_t> index;        // [B] dataset index of each row
  std::vector<FailedVideo> failed;   // evaluation: videos that could not be decoded
};

}  // namespace vifi

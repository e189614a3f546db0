// The paper's four evaluation protocols (Section 3) as pure summaries of evaluated runs: which
// numbers each table reports and how they combine over splits, seeds and shots. Running the
// models is the CLI's job (src/cli/eval_command); this file only does the arithmetic, so every
// table is tested on known counts.
//
//  zeroshot   (Table 1): one model, S splits -> top-1 (and top-5) mean ± std over the splits.
//  base2novel (Table 2): per seed base top-1, novel top-1, HM(base, novel); the average row is
//                        the mean base, mean novel and the HM of those means (CoCoOp's convention,
//                        which the paper follows).
//  fewshot    (Table 3): top-1 per K (2, 4, 8, 16).
//  supervised (Table 4): top-1/top-5 single view and multi-view (TEST.NUM_CLIP x TEST.NUM_CROP).
//  prompting  (Sec. 5, Table 9): the frozen model without prompts against the learned prompts,
//                        top-1 (base, novel and HM in base-to-novel), with trainable parameters
//                        and training throughput against full fine-tuning.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vifi/eval/report.h"

namespace vifi::eval {

enum class Setting { zeroshot, base2novel, fewshot, supervised };
Setting setting_from_string(const std::string& name);  // throws listing the valid names
std::string to_string(Setting setting);

Summary zeroshot_summary(std::vector<RunReport> splits);
// base[i] and novel[i] are seed i's two halves (same number of each).
Summary base2novel_summary(std::vector<RunReport> base, std::vector<RunReport> novel);
// shots[i] is the K of runs[i].
Summary fewshot_summary(const std::vector<int64_t>& shots, std::vector<RunReport> runs);
Summary supervised_summary(RunReport single_view, RunReport multi_view);

// What prompting costs against full fine-tuning of the same model (measured by bench/).
struct PromptingCosts {
  int64_t full_parameters = 0, prompt_parameters = 0;    // trainable
  double full_clips_per_s = 0, prompt_clips_per_s = 0;  // training throughput; 0 = not measured
};
// `frozen`/`prompted` on the base classes; `frozen_novel`/`prompted_novel` (base-to-novel only,
// both or neither) on the novel ones. `setting` names the run ("fewshot K=16").
Summary prompting_summary(const std::string& setting, RunReport frozen, RunReport prompted,
                          std::optional<RunReport> frozen_novel, std::optional<RunReport> prompted_novel,
                          const PromptingCosts& costs);

}  // namespace vifi::eval

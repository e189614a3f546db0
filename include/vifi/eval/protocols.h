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
#pragma once
#include <cstdint>
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

}  // namespace vifi::eval

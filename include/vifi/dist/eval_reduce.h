// One evaluation result from every rank's shard. The eval shards (data/sharding eval_shard) hold
// each video exactly once, so summing the counts counts every video once; the failed-video lists
// are concatenated in rank order (gathered through the TCPStore: ragged strings).
#pragma once
#include "vifi/dist/process_group.h"
#include "vifi/eval/evaluator.h"

namespace vifi::dist {

// Collective: every rank calls it and gets the same merged result.
eval::EvalResult all_reduce_eval(const eval::EvalResult& local, ProcessGroup& group);

}  // namespace vifi::dist

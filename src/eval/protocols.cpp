// The paper's evaluation protocols as summaries (see header).
#include "vifi/eval/protocols.h"

#include <stdexcept>

namespace vifi::eval {
namespace {

std::vector<double> top1s(const std::vector<RunReport>& runs) {
  std::vector<double> out;
  for (const auto& r : runs) out.push_back(r.result.counts.top1());
  return out;
}

std::vector<double> top5s(const std::vector<RunReport>& runs) {
  std::vector<double> out;
  for (const auto& r : runs) out.push_back(r.result.counts.top5());
  return out;
}

std::string videos(const RunReport& run) { return std::to_string(run.result.counts.total()); }

}  // namespace

Setting setting_from_string(const std::string& name) {
  for (auto s : {Setting::zeroshot, Setting::base2novel, Setting::fewshot, Setting::supervised})
    if (to_string(s) == name) return s;
  throw std::invalid_argument("unknown setting '" + name + "'; valid: zeroshot|base2novel|fewshot|supervised");
}

std::string to_string(Setting setting) {
  switch (setting) {
    case Setting::zeroshot: return "zeroshot";
    case Setting::base2novel: return "base2novel";
    case Setting::fewshot: return "fewshot";
    case Setting::supervised: return "supervised";
  }
  return "?";
}

Summary zeroshot_summary(std::vector<RunReport> splits) {
  if (splits.empty()) throw std::invalid_argument("zeroshot: no splits were evaluated");
  const auto t1 = mean_std(top1s(splits)), t5 = mean_std(top5s(splits));
  Summary s{"zeroshot", {{"top1_mean", t1.mean}, {"top1_std", t1.std}, {"top5_mean", t5.mean}, {"top5_std", t5.std}},
            {{"split", "videos", "top-1", "top-5"}, {}}, {}, {}};
  for (const auto& r : splits)
    s.table.rows.push_back({r.name, videos(r), format_percent(r.result.counts.top1()),
                            format_percent(r.result.counts.top5())});
  s.table.rows.push_back({"mean ± std", "", format_mean_std(t1.mean, t1.std), format_mean_std(t5.mean, t5.std)});
  s.runs = std::move(splits);
  return s;
}

Summary base2novel_summary(std::vector<RunReport> base, std::vector<RunReport> novel) {
  if (base.empty() || base.size() != novel.size())
    throw std::invalid_argument("base2novel: need one base and one novel run per seed, got " +
                                std::to_string(base.size()) + " and " + std::to_string(novel.size()));
  const auto b = top1s(base), n = top1s(novel);
  const double mean_base = mean_std(b).mean, mean_novel = mean_std(n).mean;
  const double hm = harmonic_mean(mean_base, mean_novel);
  Summary s{"base2novel", {{"base", mean_base}, {"novel", mean_novel}, {"hm", hm}},
            {{"seed", "base", "novel", "HM"}, {}}, {}, {}};
  for (size_t i = 0; i < b.size(); ++i)
    s.table.rows.push_back(
        {"s" + std::to_string(i + 1), format_percent(b[i]), format_percent(n[i]), format_percent(harmonic_mean(b[i], n[i]))});
  s.table.rows.push_back({"average", format_percent(mean_base), format_percent(mean_novel), format_percent(hm)});
  for (auto& r : base) s.runs.push_back(std::move(r));
  for (auto& r : novel) s.runs.push_back(std::move(r));
  return s;
}

Summary fewshot_summary(const std::vector<int64_t>& shots, std::vector<RunReport> runs) {
  if (runs.empty() || shots.size() != runs.size())
    throw std::invalid_argument("fewshot: need one K per run, got " + std::to_string(shots.size()) + " K and " +
                                std::to_string(runs.size()) + " runs");
  Summary s{"fewshot", {}, {}, {}, {}};
  s.table.rows.resize(1);  // Table 3 is one row: top-1 per K
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto k = "K=" + std::to_string(shots[i]);
    const double top1 = runs[i].result.counts.top1();
    s.metrics.push_back({"top1_K" + std::to_string(shots[i]), top1});
    s.table.header.push_back(k);
    s.table.rows[0].push_back(format_percent(top1));
  }
  s.runs = std::move(runs);
  return s;
}

Summary supervised_summary(RunReport single_view, RunReport multi_view) {
  const auto& a = single_view.result.counts;
  const auto& b = multi_view.result.counts;
  Summary s{"supervised",
            {{"top1_single_view", a.top1()}, {"top5_single_view", a.top5()}, {"top1", b.top1()}, {"top5", b.top5()}},
            {{"views", "videos", "top-1", "top-5"}, {}}, {}, {}};
  s.table.rows.push_back({"1x1", videos(single_view), format_percent(a.top1()), format_percent(a.top5())});
  const auto views = multi_view.result.num_views;
  s.table.rows.push_back({std::to_string(views) + (views == 1 ? " view" : " views"), videos(multi_view),
                          format_percent(b.top1()), format_percent(b.top5())});
  s.runs = {std::move(single_view), std::move(multi_view)};
  return s;
}

namespace {

std::string rate(double clips_per_second) { return clips_per_second > 0 ? format_percent(clips_per_second) : "-"; }

}  // namespace

Summary prompting_summary(const std::string& setting, RunReport frozen, RunReport prompted,
                          std::optional<RunReport> frozen_novel, std::optional<RunReport> prompted_novel,
                          const PromptingCosts& costs) {
  if (frozen_novel.has_value() != prompted_novel.has_value())
    throw std::invalid_argument("prompting: the novel classes need both the frozen and the prompted run");
  const bool novel = prompted_novel.has_value();
  const double f1 = frozen.result.counts.top1(), p1 = prompted.result.counts.top1();
  Summary s{"prompting " + setting,
            {{"top1_no_prompt", f1},
             {"top1_prompt", p1},
             {"trainable_params_full", static_cast<double>(costs.full_parameters)},
             {"trainable_params_prompt", static_cast<double>(costs.prompt_parameters)},
             {"train_clips_per_s_full", costs.full_clips_per_s},
             {"train_clips_per_s_prompt", costs.prompt_clips_per_s}},
            {{"model", "trainable params", "train clips/s", novel ? "base top-1" : "top-1"}, {}},
            {},
            {}};
  s.table.rows = {{"frozen, no prompts", "0", "-", format_percent(f1)},
                  {"full fine-tuning (measured only)", std::to_string(costs.full_parameters),
                   rate(costs.full_clips_per_s), "-"},
                  {"prompts (trained)", std::to_string(costs.prompt_parameters), rate(costs.prompt_clips_per_s),
                   format_percent(p1)}};
  s.runs.push_back(std::move(frozen));
  s.runs.push_back(std::move(prompted));
  if (novel) {
    const double fn = frozen_novel->result.counts.top1(), pn = prompted_novel->result.counts.top1();
    s.metrics.insert(s.metrics.end(), {{"novel_top1_no_prompt", fn},
                                       {"novel_top1_prompt", pn},
                                       {"hm_no_prompt", harmonic_mean(f1, fn)},
                                       {"hm_prompt", harmonic_mean(p1, pn)}});
    s.table.header.insert(s.table.header.end(), {"novel top-1", "HM"});
    s.table.rows[0].insert(s.table.rows[0].end(), {format_percent(fn), format_percent(harmonic_mean(f1, fn))});
    s.table.rows[1].insert(s.table.rows[1].end(), {"-", "-"});
    s.table.rows[2].insert(s.table.rows[2].end(), {format_percent(pn), format_percent(harmonic_mean(p1, pn))});
    s.runs.push_back(std::move(*frozen_novel));
    s.runs.push_back(std::move(*prompted_novel));
  }
  return s;
}

}  // namespace vifi::eval

// `vifi plot OUTPUT`: training curves from OUTPUT/metrics.jsonl as PNGs in OUTPUT/plots/:
// loss.png (training loss per logged step), lr.png (learning rate), accuracy.png (validation
// top-1/top-5 per epoch, when the run validated) and curves.png (the three side by side).
#include <filesystem>

#include "commands.h"
#include "vifi/train/metrics_log.h"
#include "vifi/util/logging.h"
#include "vifi/viz/charts.h"
#include "vifi/viz/heatmap.h"
#include "vifi/viz/image_io.h"

namespace vifi::cli {
namespace {

struct PlotOptions {
  std::string output;
  std::string out;  // default OUTPUT/plots
  int width = 640;
  int height = 400;
};

struct NamedChart {
  std::string file;
  viz::LineChart chart;
};

std::vector<NamedChart> training_charts(const std::vector<train::MetricsRecord>& records, cv::Size size) {
  std::vector<NamedChart> charts;
  const auto loss = train::metric_series(records, "train", "optimizer_step", "loss");
  const auto lr = train::metric_series(records, "train", "optimizer_step", "lr");
  if (!loss.empty()) charts.push_back({"loss.png", {"training loss", "optimizer step", "loss", {{"loss", loss}}, size}});
  if (!lr.empty()) charts.push_back({"lr.png", {"learning rate", "optimizer step", "learning rate", {{"lr", lr}}, size}});
  const auto top1 = train::metric_series(records, "val", "epoch", "acc1");
  const auto top5 = train::metric_series(records, "val", "epoch", "acc5");
  if (!top1.empty())
    charts.push_back({"accuracy.png", {"validation accuracy", "epoch", "accuracy (%)", {{"top-1", top1}, {"top-5", top5}}, size}});
  return charts;
}

void run_plot(const PlotOptions& o) {
  const auto metrics = (std::filesystem::path(o.output) / "metrics.jsonl").string();
  const auto charts = training_charts(train::load_metrics_log(metrics), {o.width, o.height});
  if (charts.empty()) throw std::runtime_error(metrics + ": no train or val records to plot");
  const auto dir = o.out.empty() ? std::filesystem::path(o.output) / "plots" : std::filesystem::path(o.out);
  std::filesystem::create_directories(dir);
  std::vector<cv::Mat> images;
  for (const auto& [file, chart] : charts) {
    images.push_back(viz::draw_line_chart(chart));
    viz::write_png((dir / file).string(), images.back());
  }
  viz::write_png((dir / "curves.png").string(), viz::side_by_side(images));
  util::log_info("plot: " + std::to_string(images.size()) + " charts and curves.png in " + dir.string());
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto o = std::make_shared<PlotOptions>();
  auto* cmd = app.add_subcommand("plot", "Loss, learning-rate and accuracy curves of a training run as PNGs");
  cmd->add_option("output", o->output, "the run's OUTPUT directory (holds metrics.jsonl)")->required();
  cmd->add_option("--out", o->out, "where the PNGs go (default: OUTPUT/plots)");
  cmd->add_option("--width", o->width, "pixels per chart")->check(CLI::Range(320, 4096));
  cmd->add_option("--height", o->height, "pixels per chart")->check(CLI::Range(240, 4096));
  cmd->callback([o] { run_plot(*o); });
}

}  // namespace vifi::cli

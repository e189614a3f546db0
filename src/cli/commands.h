// One registration function per subcommand; each lives in src/cli/<name>_command.cpp and
// attaches its options and callback to the root app. Only implemented commands are registered,
// so --help lists exactly what exists.
#pragma once
#include <CLI/CLI.hpp>

namespace vifi::cli {

void add_embed_command(CLI::App& app);
void add_train_command(CLI::App& app);  // train_command.cpp
void add_demo_command(CLI::App& app);   // demo_command.cpp
void add_tokenize_command(CLI::App& app);
void add_data_command(CLI::App& app);  // data_command.cpp: index, check, frames, fewshot (+ synth)
void add_data_synth_command(CLI::App& data_app);  // data_synth_command.cpp: `data synth`
void add_data_prepare_command(CLI::App& data_app);  // data_prepare_command.cpp: `data prepare`
void add_bench_command(CLI::App& app);  // bench_command.cpp: bench loader (decode sparse vs full)
void add_eval_command(CLI::App& app);  // eval_command.cpp: the paper's four protocols and reports
void add_launch_command(CLI::App& app);  // launch_command.cpp: torchrun-style multi-process runs
void add_predict_command(CLI::App& app);  // predict_command.cpp: top-k labels of videos
void add_explain_command(CLI::App& app);  // explain_command.cpp: attention-rollout heatmaps
void add_plot_command(CLI::App& app);     // plot_command.cpp: training curves from metrics.jsonl
void add_prompt_command(CLI::App& app);   // prompt_command.cpp: prompt learning on a frozen CLIP
void add_export_command(CLI::App& app);   // export_command.cpp: openai / vificlip / safetensors files
void add_search_index_command(CLI::App& app);  // index_command.cpp: embed a video collection once
void add_search_command(CLI::App& app);   // search_command.cpp: rank an index by text or video
void add_serve_command(CLI::App& app);    // serve_command.cpp: HTTP predict, search and page
void add_config_command(CLI::App& app);   // config_command.cpp: the key table and resolved configs


}  // namespace vifi::cli

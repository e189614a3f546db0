// `vifi data synth`: a synthetic video dataset laid out like the real ones (videos, train.txt,
// val.txt, labels.csv), for the demo, the tests and the loader benchmark. Registered under the
// `data` group by data_command.cpp through add_data_synth_command.
#include <iostream>
#include <memory>

#include "commands.h"
#include "flag_checks.h"
#include "vifi/data/synthetic.h"

namespace vifi::cli {
namespace {

struct SynthOptions {
  std::string out;
  data::SyntheticDatasetSpec spec;
};

void run_synth(const SynthOptions& o) {
  if (!data::synthetic_codec_available(o.spec.codec)) {
    throw std::runtime_error("data synth: this FFmpeg build has no encoder for codec '" + o.spec.codec +
                             "'; try --codec mpeg4");
  }
  const auto names = data::write_synthetic_dataset(o.out, o.spec);
  const int per_class = o.spec.train_per_class + o.spec.val_per_class;
  std::cout << "wrote " << names.size() * static_cast<size_t>(per_class) << " " << o.spec.codec << " videos ("
            << names.size() << " classes x " << o.spec.train_per_class << " train + " << o.spec.val_per_class
            << " val, " << o.spec.num_frames << " frames of " << o.spec.width << "x" << o.spec.height << ") to "
            << o.out << "\n  lists: train.txt, val.txt; classes: labels.csv (" << names.front()
            << (names.size() > 1 ? ", ..." : "") << ")\n";
}

}  // namespace

void add_data_synth_command(CLI::App& data_app) {
  auto o = std::make_shared<SynthOptions>();
  auto& s = o->spec;
  auto* cmd = data_app.add_subcommand("synth", "Write a synthetic video dataset (classes differ in shape, colour "
                                               "and motion; every frame is stamped with its index)");
  cmd->add_option("--out", o->out, "Output directory")->required();
  cmd->add_option("--classes", s.num_classes, "Number of classes")
      ->capture_default_str()
      ->check(CLI::Range(1, data::kMaxSyntheticClasses));
  cmd->add_option("--train-per-class", s.train_per_class, "Training videos per class")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--val-per-class", s.val_per_class, "Validation videos per class")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--frames", s.num_frames, "Frames per video")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--width", s.width, "Frame width (even, >= 48)")->capture_default_str();
  cmd->add_option("--height", s.height, "Frame height (even, >= 32)")->capture_default_str();
  cmd->add_option("--fps", s.fps, "Frame rate")->capture_default_str()->check(finite_in(1, 240));
  cmd->add_option("--keyint", s.gop_size, "Keyframe interval in frames (x264's default: 250)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--noise", s.noise, "Per-pixel noise in grey levels: sets the bitrate")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--codec", s.codec, "mpeg4 (.avi), h264 (.mp4, B-frames), vp9 (.webm) or xvid (.avi, B-frames packed as HMDB-51's and UCF-101's)")
      ->capture_default_str()
      ->check(CLI::IsMember({"mpeg4", "h264", "vp9", "xvid"}));
  cmd->add_option("--x264-preset", s.x264_preset,
                  "h264: x264 speed preset (it also sets the reference frames: veryfast 1, medium 3)")
      ->capture_default_str()
      ->check(CLI::IsMember(data::x264_presets()));
  cmd->add_option("--crf", s.x264_crf, "h264: x264 constant rate factor (x264's default: 23)")
      ->capture_default_str()
      ->check(CLI::Range(0, 51));
  cmd->add_option("--seed", s.seed, "Seed; the same seed writes the same videos")->capture_default_str();
  cmd->callback([o] { run_synth(*o); });
}

}  // namespace vifi::cli

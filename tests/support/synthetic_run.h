// A synthetic video set on disk plus a `vifi train` config for the tiny model, for CLI tests.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>

#include "vifi/data/synthetic.h"

namespace vifi::test {

struct SyntheticRun {
  int classes = 3;
  int train_per_class = 4;
  int val_per_class = 2;
  int64_t video_frames = 16;
  int64_t epochs = 2;
  int64_t warmup_epochs = 1;
  int64_t batch_size = 4;
  int64_t workers = 2;
  double lr = 1e-4;
  std::string extra_yaml;  // appended verbatim, e.g. "AUG:\n  MIXUP: 0.8\n"
};

// Writes DIR/data (videos, lists, labels) and DIR/run.yaml; returns the config's path.
inline std::filesystem::path make_synthetic_run(const std::filesystem::path& dir, const SyntheticRun& run = {}) {
  data::SyntheticDatasetSpec spec;
  spec.num_classes = run.classes;
  spec.train_per_class = run.train_per_class;
  spec.val_per_class = run.val_per_class;
  spec.num_frames = run.video_frames;
  spec.width = 48;
  spec.height = 32;
  data::write_synthetic_dataset((dir / "data").string(), spec);
  std::ofstream(dir / "run.yaml") << "DATA:\n  ROOT: data\n  TRAIN_FILE: data/train.txt\n  VAL_FILE: data/val.txt\n"
                                  << "  LABEL_LIST: data/labels.csv\n  NUM_CLASSES: " << run.classes
                                  << "\n  NUM_FRAMES: 2\n  INPUT_SIZE: 32\n  NUM_WORKERS: " << run.workers
                                  << "\nMODEL:\n  ARCH: vifi-tiny\nTRAIN:\n  EPOCHS: " << run.epochs
                                  << "\n  WARMUP_EPOCHS: " << run.warmup_epochs << "\n  BATCH_SIZE: " << run.batch_size
                                  << "\n  LR: " << run.lr << "\n"
                                  << run.extra_yaml << "SAVE_FREQ: 1\nPRINT_FREQ: 1\n";
  return dir / "run.yaml";
}

}  // namespace vifi::test

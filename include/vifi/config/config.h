// Typed run configuration: the reference's YAML schema (ViFi-CLIP utils/config.py) as C++ structs.
// Owns: the structs and their defaults (the reference's), the enums with from_string, the one
// table of keys that the YAML reader, --opts, the command-line flags, closest-key suggestions,
// validation messages and to_yaml all go through, and ConfigBuilder, which sets keys one at a
// time remembering where each value came from so every error names its file (or flag) and key.
// Pure C++/LibTorch-free: vifi_core can embed to_yaml() text in checkpoints; YAML *reading*
// (yaml-cpp) lives in config/config_yaml, built into the application library.
//
// Paths: keys of type `path` (DATA.ROOT, DATA.TRAIN_FILE, DATA.VAL_FILE, DATA.LABEL_LIST,
// MODEL.PRETRAINED, MODEL.RESUME, OUTPUT) are stored absolute. A relative value resolves against
// the directory of the YAML file that wrote it (so shipped configs find configs/labels and
// configs/splits from any working directory), or against the working directory when it comes from
// --opts, a flag or a default (the reference's behaviour). Empty means "not set".
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vifi {

// Every configuration error: unknown key, wrong type, missing file, invalid value, BASE cycle.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- enums: names are the YAML spellings, in declaration order ---------------------------------
enum class EncoderUse { both, image, text };          // TRAINER.ViFi_CLIP.USE: which encoders train
enum class Fusion { embedding, decision, image };     // TRAINER.ViFi_CLIP.FUSION (paper Table 5)
enum class OptLevel { O0, O1, O2 };                   // TRAIN.OPT_LEVEL: O0 fp32, O1/O2 AMP on CUDA
enum class LrSchedulerKind { cosine };                // TRAIN.LR_SCHEDULER (the reference has one)
enum class OptimizerKind { adamw };                   // TRAIN.OPTIMIZER (the reference has one)
// DATA.PASSED_FRAMES (training reads) and TEST.PASSED_FRAMES (evaluation reads) (vifi): what the
// decoder does with frames decoded only to reach a wanted one.
//   skip_unreferenced: frames no other frame references are not decoded; wanted frames stay
//                      bit-identical to a full decode (the evaluation default)
//   decode:            every frame decoded in full, as the FFmpeg CLI does
//   skip_deblocking:   also no loop filter on passed reference frames (H.264/HEVC): faster, but
//                      wanted frames drift from a full decode by a few grey levels, growing with
//                      their distance from the keyframe (the training default, asked for by
//                      issue 17; docs/performance.md, docs/reproducing.md)
enum class PassedFrames { skip_unreferenced, decode, skip_deblocking };
// DATA.SCALE_FRAMES (vifi): where frames are brought to the short side the transforms resize to.
//   after_decode:  converted at the stored size, resized by the transforms with OpenCV (the
//                  reference's order and pixels, and faster: swscale's scaled path costs 1.8-3.5x
//                  its unscaled conversion plus OpenCV's resize, docs/performance.md)
//   in_conversion: by swscale's bilinear filter in the YUV->RGB conversion (pixels differ from
//                  the reference's by a few grey levels)
enum class FrameScaling { in_conversion, after_decode };

template <class E>
struct EnumNames;
template <>
struct EnumNames<EncoderUse> {
  static constexpr std::array<std::string_view, 3> names{"both", "image", "text"};
};
template <>
struct EnumNames<Fusion> {
  static constexpr std::array<std::string_view, 3> names{"embedding", "decision", "image"};
};
template <>
struct EnumNames<OptLevel> {
  static constexpr std::array<std::string_view, 3> names{"O0", "O1", "O2"};
};
template <>
struct EnumNames<LrSchedulerKind> {
  static constexpr std::array<std::string_view, 1> names{"cosine"};
};
template <>
struct EnumNames<OptimizerKind> {
  static constexpr std::array<std::string_view, 1> names{"adamw"};
};

template <>
struct EnumNames<PassedFrames> {
  static constexpr std::array<std::string_view, 3> names{"skip_unreferenced", "decode", "skip_deblocking"};
};
template <>
struct EnumNames<FrameScaling> {
  static constexpr std::array<std::string_view, 2> names{"in_conversion", "after_decode"};
};

template <class E>
std::string_view to_string(E value) {
  return EnumNames<E>::names.at(static_cast<size_t>(value));
}

// "both|image|text"
template <class E>
std::string enum_choices() {
  std::string out;
  for (auto name : EnumNames<E>::names) out += (out.empty() ? "" : "|") + std::string(name);
  return out;
}

template <class E>
std::optional<E> try_from_string(std::string_view text) {
  const auto& names = EnumNames<E>::names;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<E>(i);
  return std::nullopt;
}

// Throws ConfigError "unknown value 'x'; valid: both|image|text".
template <class E>
E from_string(std::string_view text) {
  if (auto value = try_from_string<E>(text)) return *value;
  throw ConfigError("unknown value '" + std::string(text) + "'; valid: " + enum_choices<E>());
}

// ---- the structs: one per YAML section, defaults = the reference's ------------------------------
struct DataConfig {                       // DATA.*
  std::string root;                       // ROOT: folder the annotation paths are relative to
  std::string train_file;                 // TRAIN_FILE: "<video> <label>" per line
  std::string val_file;                   // VAL_FILE
  std::string dataset = "kinetics400";    // DATASET: name used in reports
  int64_t input_size = 224;               // INPUT_SIZE: crop side in pixels
  int64_t num_frames = 8;                 // NUM_FRAMES: frames per clip (T)
  int64_t num_classes = 400;              // NUM_CLASSES: rows of LABEL_LIST
  std::string label_list = "labels/kinetics_400_labels.csv";  // LABEL_LIST: "id,name" CSV
  int64_t num_workers = 16;               // NUM_WORKERS (vifi; the reference hard-codes 16)
  // Training stops once the distinct bad videos exceed max(MAX_BAD_FRACTION x videos,
  // MIN_BAD_LIMIT); the floor keeps a small list from dying on its first bad file (vifi).
  double max_bad_fraction = 0.01;         // MAX_BAD_FRACTION
  int64_t min_bad_limit = 10;             // MIN_BAD_LIMIT
  PassedFrames passed_frames = PassedFrames::skip_deblocking;    // PASSED_FRAMES (vifi): training reads
  FrameScaling scale_frames = FrameScaling::after_decode;        // SCALE_FRAMES (vifi)
  int64_t decoder_threads = 1;            // DECODER_THREADS (vifi): per worker; 0 = the idle cores
  // NUMBERING_CACHE (vifi): where learned frame numberings persist; "" = the user's cache folder,
  // "none" = memory only (data::numbering_store_dir).
  std::string numbering_cache;
};

struct ModelConfig {                      // MODEL.*
  std::string arch = "ViT-B/32";          // ARCH: CLIP preset name
  double drop_path_rate = 0.0;            // DROP_PATH_RATE (in the reference's schema, unused)
  std::string pretrained;                 // PRETRAINED: OpenAI archive, vifi or torch.save checkpoint
  std::string clip_archive;               // CLIP_ARCHIVE (vifi): OpenAI archive lending token_embedding
  std::string resume;                     // RESUME: vifi checkpoint to continue or evaluate
  bool fix_text = true;                   // FIX_TEXT (in the reference's schema, unused)
};

struct TrainerConfig {                    // TRAINER.ViFi_CLIP.*
  bool prompt_model = false;              // PROMPT_MODEL: train only the V-L prompts
  int64_t n_ctx_vision = 0;               // N_CTX_VISION: learned vision tokens
  int64_t n_ctx_text = 0;                 // N_CTX_TEXT: learned text context tokens
  std::string ctx_init = "a photo of a";  // CTX_INIT: prompt prefix / context initialisation
  int64_t prompt_depth_vision = 0;        // PROMPT_DEPTH_VISION: blocks with own vision prompts
  int64_t prompt_depth_text = 1;          // PROMPT_DEPTH_TEXT: blocks with own text prompts
  EncoderUse use = EncoderUse::both;      // USE: which encoders are fine-tuned
  bool zs_eval = false;                   // ZS_EVAL: evaluate vanilla CLIP (prompt "<class>")
  Fusion fusion = Fusion::embedding;      // FUSION (vifi): where frames are fused, Table 5
};

struct TrainConfig {                      // TRAIN.*
  int64_t epochs = 30;                    // EPOCHS
  int64_t warmup_epochs = 5;              // WARMUP_EPOCHS: linear warmup from 0
  double weight_decay = 0.001;            // WEIGHT_DECAY: AdamW decoupled decay
  double lr = 8e-6;                       // LR: peak learning rate (not scaled by batch size)
  int64_t batch_size = 8;                 // BATCH_SIZE: clips per process per micro-batch
  int64_t accumulation_steps = 1;         // ACCUMULATION_STEPS: micro-batches per update
  // GLOBAL_BATCH (vifi): clips per update over all ranks. 0 (the reference's schema): it is
  // world size x BATCH_SIZE x ACCUMULATION_STEPS, so it changes with the number of GPUs; > 0:
  // the accumulation is derived for each world size (train/batch_plan), ACCUMULATION_STEPS stays 1.
  int64_t global_batch = 0;
  // DROP_LAST (vifi): an epoch is whole updates only, as the reference trains (its loader drops
  // the short batch, its loop never steps on a short last accumulation group); false trains
  // every clip, the short last update weighted by its number of clips.
  bool drop_last = true;
  LrSchedulerKind lr_scheduler = LrSchedulerKind::cosine;  // LR_SCHEDULER
  OptimizerKind optimizer = OptimizerKind::adamw;          // OPTIMIZER
  OptLevel opt_level = OptLevel::O1;      // OPT_LEVEL: AMP on CUDA (fp32 on CPU)
  bool auto_resume = false;               // AUTO_RESUME: continue from the newest in OUTPUT
  bool use_checkpoint = false;            // USE_CHECKPOINT: activation checkpointing
  double clip_grad = 0.0;                 // CLIP_GRAD (vifi): max global grad norm, 0 = off
  // KEEP_CHECKPOINTS (vifi): the newest N ckpt_epoch_*.pth are kept, older ones removed once the
  // next is written; 0 keeps all (the reference). best.pth and interrupted.pth are never removed.
  int64_t keep_checkpoints = 0;
};

struct AugConfig {                        // AUG.*
  double label_smooth = 0.1;              // LABEL_SMOOTH: off-value s/C, on-value 1-s+s/C
  double color_jitter = 0.8;              // COLOR_JITTER: probability
  double gray_scale = 0.2;                // GRAY_SCALE: probability
  double mixup = 0.8;                     // MIXUP: Beta alpha; 0 turns mixup and cutmix off
  double cutmix = 1.0;                    // CUTMIX: Beta alpha; 0 = mixup only (vifi)
  double mixup_switch_prob = 0.5;         // MIXUP_SWITCH_PROB: probability of cutmix per batch
};

struct TestConfig {                       // TEST.*
  int64_t num_clip = 1;                   // NUM_CLIP: temporal views
  int64_t num_crop = 1;                   // NUM_CROP: spatial views, 1 or 3
  bool only_test = false;                 // ONLY_TEST: evaluate and exit
  bool multi_view_inference = false;      // MULTI_VIEW_INFERENCE: 4x3 views after training
  PassedFrames passed_frames = PassedFrames::skip_unreferenced;  // PASSED_FRAMES (vifi): evaluation reads
};

struct Config {
  DataConfig data;
  ModelConfig model;
  TrainerConfig trainer;
  TrainConfig train;
  AugConfig aug;
  TestConfig test;
  std::string output;                     // OUTPUT: run directory
  int64_t save_freq = 1;                  // SAVE_FREQ: validate + checkpoint every N epochs
  int64_t print_freq = 50;                // PRINT_FREQ: progress line every N steps
  int64_t seed = 1024;                    // SEED: rank r uses SEED + r
};

// ---- the key table ---------------------------------------------------------------------------
enum class ValueType { integer, real, boolean, string, path, choice };

struct ConfigKey {
  std::string name;                      // full dotted name, e.g. "TRAINER.ViFi_CLIP.USE"
  ValueType type;
  std::string choices;                   // choice keys: "both|image|text"; else empty
  std::string help;                      // one line for docs and --help
  std::function<bool(Config&, const std::string&)> parse;  // false: not a value of `type`
  std::function<std::string(const Config&)> format;         // canonical text, unquoted
};

// All keys, grouped by section in YAML order (every section's keys are contiguous).
const std::vector<ConfigKey>& config_keys();
const ConfigKey* find_config_key(std::string_view name);
// True for "DATA", "TRAINER", "TRAINER.ViFi_CLIP": a proper prefix of some key.
bool is_config_section(std::string_view name);
// The valid key nearest to `name` by edit distance (case-insensitive).
std::string closest_config_key(std::string_view name);
// "int", "float", "bool", "string", "path", "one of both|image|text".
std::string expected_type(const ConfigKey& key);

// Error texts shared by ConfigBuilder and the YAML reader, so every reader words them alike.
// "<origin>: unknown key 'DATA.NUM_FRAME' (did you mean DATA.NUM_FRAMES?)"
std::string unknown_key_message(const std::string& origin, std::string_view name);
// "<origin>: TRAIN.EPOCHS: expected int, got 'ten'"  (got: the value or a description of it)
std::string type_error_message(const std::string& origin, const ConfigKey& key,
                               const std::string& got);

// Where a value comes from: "configs/a.yaml:12" or "--opts"; relative paths resolve against
// base_dir (empty: the working directory).
struct ConfigSource {
  std::string origin;
  std::filesystem::path base_dir;
};

// Flags of `vifi train`/`eval` that override keys; applied after --opts, as the reference does.
struct ConfigFlags {
  std::optional<std::string> output;              // --output        -> OUTPUT
  std::optional<std::string> resume;              // --resume        -> MODEL.RESUME
  std::optional<std::string> pretrained;          // --pretrained    -> MODEL.PRETRAINED
  std::optional<std::string> clip_archive;        // --clip          -> MODEL.CLIP_ARCHIVE
  std::optional<int64_t> batch_size;              // --batch-size    -> TRAIN.BATCH_SIZE
  std::optional<int64_t> accumulation_steps;      // --accumulation-steps -> ...ACCUMULATION_STEPS
  std::optional<int64_t> global_batch;            // --global-batch  -> TRAIN.GLOBAL_BATCH
  std::optional<int64_t> seed;                    // --seed          -> SEED
  bool only_test = false;                         // --only-test     -> TEST.ONLY_TEST true
};

// A Config under construction. Each set() records the key's source; finish() makes remaining
// relative paths absolute, validates, and reports each invalid value with the source that set it.
class ConfigBuilder {
 public:
  ConfigBuilder() = default;
  explicit ConfigBuilder(Config start) : config_(std::move(start)) {}

  // Throws ConfigError (unknown key with suggestion, or wrong type naming the value).
  void set(std::string_view name, const std::string& text, const ConfigSource& source);
  void set(const ConfigKey& key, const std::string& text, const ConfigSource& source);
  // "KEY VALUE KEY VALUE ..."; one level of matching quotes around a value is removed.
  void apply_opts(const std::vector<std::string>& opts);
  void apply_flags(const ConfigFlags& flags);

  const Config& current() const { return config_; }
  // Throws ConfigError listing every invalid value as "<source>: KEY: problem".
  Config finish() const;

 private:
  Config config_;
  std::map<std::string, std::string> origin_;  // key -> where its value was last set
};

// Value checks after all merges: {key, "must be >= 1, got 0"} for each problem; empty if valid.
struct ConfigIssue {
  std::string key;
  std::string problem;
};
std::vector<ConfigIssue> validate(const Config& config);

// The resolved config as YAML (sections in table order, strings double-quoted). Reading it back
// gives an identical Config; checkpoints and OUTPUT/config.yaml store this text.
std::string to_yaml(const Config& config);

// Field-by-field equality through the key table (used by round-trip checks and resume).
bool same_config(const Config& a, const Config& b);

}  // namespace vifi

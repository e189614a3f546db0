// The key table and everything driven by it: parsing values by type, suggestions, validation,
// ConfigBuilder and the YAML writer. See include/vifi/config/config.h.
#include "vifi/config/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <type_traits>

#include "vifi/util/parse_number.h"
namespace vifi {
namespace {

// ---- parsing and formatting one value by C++ type ----------------------------------------------

bool parse_int(const std::string& text, int64_t& out) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto value = util::parse_int64(s);
  if (value) out = *value;
  return value.has_value();
}

bool parse_real(const std::string& text, double& out) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto value = util::parse_double(s);
  if (value) out = *value;
  return value.has_value();
}

bool parse_bool(const std::string& text, bool& out) {
  const bool is_true = text == "true" || text == "True" || text == "TRUE";
  const bool is_false = text == "false" || text == "False" || text == "FALSE";
  if (is_true || is_false) out = is_true;
  return is_true || is_false;
}

// Shortest text that reads back to the same double, always recognisable as a float in YAML.
std::string format_real(double value) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    double back = 0;
    if (parse_real(buf, back) && back == value) break;
  }
  std::string out = buf;
  if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
  return out;
}

template <class T>
bool parse_value(const std::string& text, T& out) {
  if constexpr (std::is_same_v<T, int64_t>) {
    return parse_int(text, out);
  } else if constexpr (std::is_same_v<T, double>) {
    return parse_real(text, out);
  } else if constexpr (std::is_same_v<T, bool>) {
    return parse_bool(text, out);
  } else if constexpr (std::is_same_v<T, std::string>) {
    out = text;
    return true;
  } else {
    static_assert(std::is_enum_v<T>, "config fields are int64_t, double, bool, string or enum");
    auto value = try_from_string<T>(text);
    if (value) out = *value;
    return value.has_value();
  }
}

template <class T>
std::string format_value(const T& value) {
  if constexpr (std::is_same_v<T, int64_t>) {
    return std::to_string(value);
  } else if constexpr (std::is_same_v<T, double>) {
    return format_real(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else {
    return std::string(to_string(value));
  }
}

template <class T>
constexpr ValueType value_type_of() {
  if constexpr (std::is_same_v<T, int64_t>)
    return ValueType::integer;
  else if constexpr (std::is_same_v<T, double>)
    return ValueType::real;
  else if constexpr (std::is_same_v<T, bool>)
    return ValueType::boolean;
  else if constexpr (std::is_same_v<T, std::string>)
    return ValueType::string;
  else
    return ValueType::choice;
}

template <class T>
std::string choices_of() {
  if constexpr (std::is_enum_v<T>)
    return enum_choices<T>();
  else
    return "";
}

// ---- table entries ---------------------------------------------------------------------------

// A key for field `member` of section `section` of Config.
template <class S, class T>
ConfigKey key(std::string name, S Config::*section, T S::*member, std::string help,
              ValueType type = value_type_of<T>()) {
  ConfigKey k{std::move(name), type, choices_of<T>(), std::move(help), nullptr, nullptr};
  k.parse = [section, member](Config& c, const std::string& text) {
    return parse_value(text, (c.*section).*member);
  };
  k.format = [section, member](const Config& c) { return format_value((c.*section).*member); };
  return k;
}

// A top-level key (OUTPUT, SEED, ...).
template <class T>
ConfigKey key(std::string name, T Config::*member, std::string help,
              ValueType type = value_type_of<T>()) {
  ConfigKey k{std::move(name), type, choices_of<T>(), std::move(help), nullptr, nullptr};
  k.parse = [member](Config& c, const std::string& text) { return parse_value(text, c.*member); };
  k.format = [member](const Config& c) { return format_value(c.*member); };
  return k;
}

constexpr ValueType kPath = ValueType::path;

std::vector<ConfigKey> data_keys() {
  using D = DataConfig;
  auto s = &Config::data;
  return {
      key("DATA.ROOT", s, &D::root, "folder the annotation lists' video paths are relative to",
          kPath),
      key("DATA.TRAIN_FILE", s, &D::train_file, "training list, '<video> <label>' per line", kPath),
      key("DATA.VAL_FILE", s, &D::val_file, "validation list, '<video> <label>' per line", kPath),
      key("DATA.DATASET", s, &D::dataset, "dataset name used in reports"),
      key("DATA.INPUT_SIZE", s, &D::input_size, "crop side in pixels"),
      key("DATA.NUM_FRAMES", s, &D::num_frames, "frames sampled per clip"),
      key("DATA.NUM_CLASSES", s, &D::num_classes, "number of classes in LABEL_LIST"),
      key("DATA.LABEL_LIST", s, &D::label_list, "class names, CSV 'id,name'", kPath),
      key("DATA.NUM_WORKERS", s, &D::num_workers, "decoding threads (vifi)"),
      key("DATA.MAX_BAD_FRACTION", s, &D::max_bad_fraction,
          "training stops when more than this fraction of its videos is bad (vifi)"),
      key("DATA.MIN_BAD_LIMIT", s, &D::min_bad_limit,
          "bad training videos always tolerated, whatever the fraction (vifi)"),
      key("DATA.PASSED_FRAMES", s, &D::passed_frames,
          "training reads: frames decoded only to reach a sampled one: skip_deblocking (no loop filter on "
          "them: faster, sampled frames a few grey levels off), skip_unreferenced (exact) or decode (vifi)"),
      key("DATA.SCALE_FRAMES", s, &D::scale_frames,
          "after_decode (convert at the stored size, then resize as the reference does) or in_conversion "
          "(scale to the transforms' short side while converting to RGB: slower, pixels a few grey levels off) "
          "(vifi)"),
      key("DATA.DECODER_THREADS", s, &D::decoder_threads,
          "FFmpeg threads per decoding worker; 0 gives workers the cores they leave idle (they only pay "
          "when passed frames are decoded in full; docs/performance.md) (vifi)"),
      key("DATA.NUMBERING_CACHE", s, &D::numbering_cache,
          "folder keeping the frame numberings learned by a full decode (files whose timestamps cannot number "
          "their frames: HMDB-51's and UCF-101's packed AVIs) for other ranks and later runs; empty: "
          "$XDG_CACHE_HOME/vifi/frame-numbering or ~/.cache/vifi/frame-numbering; 'none': memory only; a "
          "relative folder is taken from the working directory (vifi)"),
  };
}

std::vector<ConfigKey> model_keys() {
  using M = ModelConfig;
  auto s = &Config::model;
  return {
      key("MODEL.ARCH", s, &M::arch, "CLIP architecture, e.g. ViT-B/16"),
      key("MODEL.DROP_PATH_RATE", s, &M::drop_path_rate, "kept for the reference's schema"),
      key("MODEL.PRETRAINED", s, &M::pretrained,
          "OpenAI CLIP archive (ViT-B-16.pt), vifi checkpoint or torch.save checkpoint (the authors' releases)", kPath),
      key("MODEL.CLIP_ARCHIVE", s, &M::clip_archive,
          "OpenAI CLIP archive supplying token_embedding.weight to a checkpoint without it (the authors' releases)", kPath),
      key("MODEL.RESUME", s, &M::resume, "vifi checkpoint to resume or evaluate", kPath),
      key("MODEL.FIX_TEXT", s, &M::fix_text, "kept for the reference's schema"),
  };
}

std::vector<ConfigKey> trainer_keys() {
  using T = TrainerConfig;
  auto s = &Config::trainer;
  return {
      key("TRAINER.ViFi_CLIP.PROMPT_MODEL", s, &T::prompt_model, "train only V-L prompts"),
      key("TRAINER.ViFi_CLIP.N_CTX_VISION", s, &T::n_ctx_vision, "learned vision prompt tokens"),
      key("TRAINER.ViFi_CLIP.N_CTX_TEXT", s, &T::n_ctx_text, "learned text context tokens"),
      key("TRAINER.ViFi_CLIP.CTX_INIT", s, &T::ctx_init, "prompt prefix / context init words"),
      key("TRAINER.ViFi_CLIP.PROMPT_DEPTH_VISION", s, &T::prompt_depth_vision,
          "vision blocks with their own prompts"),
      key("TRAINER.ViFi_CLIP.PROMPT_DEPTH_TEXT", s, &T::prompt_depth_text,
          "text blocks with their own prompts"),
      key("TRAINER.ViFi_CLIP.USE", s, &T::use, "encoders fine-tuned: both, image or text"),
      key("TRAINER.ViFi_CLIP.ZS_EVAL", s, &T::zs_eval, "evaluate vanilla zero-shot CLIP"),
      key("TRAINER.ViFi_CLIP.FUSION", s, &T::fusion, "frame fusion (vifi, paper Table 5)"),
  };
}

std::vector<ConfigKey> train_keys() {
  using T = TrainConfig;
  auto s = &Config::train;
  return {
      key("TRAIN.EPOCHS", s, &T::epochs, "training epochs"),
      key("TRAIN.WARMUP_EPOCHS", s, &T::warmup_epochs, "linear warmup epochs from LR 0"),
      key("TRAIN.WEIGHT_DECAY", s, &T::weight_decay, "AdamW weight decay"),
      key("TRAIN.LR", s, &T::lr, "peak learning rate"),
      key("TRAIN.BATCH_SIZE", s, &T::batch_size, "clips per process per micro-batch"),
      key("TRAIN.ACCUMULATION_STEPS", s, &T::accumulation_steps, "micro-batches per update"),
      key("TRAIN.GLOBAL_BATCH", s, &T::global_batch,
          "clips per update over all ranks; accumulation derived per world size, 0 = ranks x "
          "BATCH_SIZE x ACCUMULATION_STEPS (vifi)"),
      key("TRAIN.DROP_LAST", s, &T::drop_last,
          "train whole updates only, as the reference; false also trains the short last one (vifi)"),
      key("TRAIN.LR_SCHEDULER", s, &T::lr_scheduler, "learning-rate schedule"),
      key("TRAIN.OPTIMIZER", s, &T::optimizer, "optimiser"),
      key("TRAIN.OPT_LEVEL", s, &T::opt_level, "mixed precision level on CUDA"),
      key("TRAIN.AUTO_RESUME", s, &T::auto_resume, "resume from the newest checkpoint in OUTPUT"),
      key("TRAIN.USE_CHECKPOINT", s, &T::use_checkpoint, "activation checkpointing"),
      key("TRAIN.CLIP_GRAD", s, &T::clip_grad, "max gradient norm, 0 = off (vifi)"),
      key("TRAIN.KEEP_CHECKPOINTS", s, &T::keep_checkpoints,
          "keep the newest N epoch checkpoints, 0 = all; best.pth is always kept (vifi)"),
  };
}

std::vector<ConfigKey> aug_keys() {
  using A = AugConfig;
  auto s = &Config::aug;
  return {
      key("AUG.LABEL_SMOOTH", s, &A::label_smooth, "label smoothing"),
      key("AUG.COLOR_JITTER", s, &A::color_jitter, "colour jitter probability"),
      key("AUG.GRAY_SCALE", s, &A::gray_scale, "grayscale probability"),
      key("AUG.MIXUP", s, &A::mixup, "mixup Beta alpha; 0 disables mixup and cutmix"),
      key("AUG.CUTMIX", s, &A::cutmix, "cutmix Beta alpha; 0 = mixup only"),
      key("AUG.MIXUP_SWITCH_PROB", s, &A::mixup_switch_prob, "probability of cutmix per batch"),
  };
}

std::vector<ConfigKey> test_keys() {
  using T = TestConfig;
  auto s = &Config::test;
  return {
      key("TEST.NUM_CLIP", s, &T::num_clip, "temporal views"),
      key("TEST.NUM_CROP", s, &T::num_crop, "spatial views (1 or 3)"),
      key("TEST.ONLY_TEST", s, &T::only_test, "evaluate only"),
      key("TEST.MULTI_VIEW_INFERENCE", s, &T::multi_view_inference, "4x3-view test after training"),
      key("TEST.PASSED_FRAMES", s, &T::passed_frames,
          "evaluation reads (validation, test, predict, embed, index): as DATA.PASSED_FRAMES; "
          "skip_unreferenced keeps sampled frames a full decode's (vifi)"),
  };
}

std::vector<ConfigKey> misc_keys() {
  return {
      key("OUTPUT", &Config::output, "run directory", kPath),
      key("SAVE_FREQ", &Config::save_freq, "validate and checkpoint every N epochs"),
      key("PRINT_FREQ", &Config::print_freq, "progress line every N steps"),
      key("SEED", &Config::seed, "random seed: data order, augmentation; mixup on rank r uses SEED + r"),
  };
}

std::vector<ConfigKey> build_table() {
  std::vector<ConfigKey> all;
  for (auto part : {data_keys(), model_keys(), trainer_keys(), train_keys(), aug_keys(),
                    test_keys(), misc_keys()})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

// ---- suggestions -----------------------------------------------------------------------------

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::toupper(static_cast<unsigned char>(a[i - 1])) ==
                        std::toupper(static_cast<unsigned char>(b[j - 1]));
      const size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

// ---- paths and quoting -----------------------------------------------------------------------

std::string resolve_path(const std::string& text, const std::filesystem::path& base_dir) {
  if (text.empty()) return text;
  std::filesystem::path p(text);
  if (p.is_relative()) p = base_dir.empty() ? std::filesystem::absolute(p) : base_dir / p;
  return std::filesystem::absolute(p).lexically_normal().string();
}

std::string strip_quotes(const std::string& text) {
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
      text.back() == text.front())
    return text.substr(1, text.size() - 2);
  return text;
}

// YAML double-quoted scalar.
std::string quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// ---- validation helpers ----------------------------------------------------------------------

template <class T>
void require(std::vector<ConfigIssue>& issues, const char* key, bool ok, const char* rule,
             T value) {
  if (ok) return;
  std::ostringstream os;
  os << "must be " << rule << ", got " << value;
  issues.push_back({key, os.str()});
}

void validate_data(const DataConfig& d, std::vector<ConfigIssue>& out) {
  require(out, "DATA.INPUT_SIZE", d.input_size >= 1, ">= 1", d.input_size);
  require(out, "DATA.NUM_FRAMES", d.num_frames >= 1, ">= 1", d.num_frames);
  require(out, "DATA.NUM_CLASSES", d.num_classes >= 1, ">= 1", d.num_classes);
  // Threads of one process; past a thousand, thread creation fails before anything is gained.
  require(out, "DATA.NUM_WORKERS", d.num_workers >= 0 && d.num_workers <= 1024, "in [0, 1024]", d.num_workers);
  require(out, "DATA.MAX_BAD_FRACTION", d.max_bad_fraction >= 0 && d.max_bad_fraction <= 1, "in [0, 1]",
          d.max_bad_fraction);
  require(out, "DATA.MIN_BAD_LIMIT", d.min_bad_limit >= 0, ">= 0", d.min_bad_limit);
  require(out, "DATA.DECODER_THREADS", d.decoder_threads >= 0 && d.decoder_threads <= 64, "in [0, 64]",
          d.decoder_threads);
}

void validate_model(const ModelConfig& m, const TrainerConfig& t, std::vector<ConfigIssue>& out) {
  require(out, "MODEL.ARCH", !m.arch.empty(), "a CLIP architecture name", "''");
  require(out, "MODEL.DROP_PATH_RATE", m.drop_path_rate >= 0 && m.drop_path_rate < 1, "in [0, 1)",
          m.drop_path_rate);
  require(out, "TRAINER.ViFi_CLIP.N_CTX_VISION", t.n_ctx_vision >= 0, ">= 0", t.n_ctx_vision);
  require(out, "TRAINER.ViFi_CLIP.N_CTX_TEXT", t.n_ctx_text >= 0, ">= 0", t.n_ctx_text);
  require(out, "TRAINER.ViFi_CLIP.PROMPT_DEPTH_VISION", t.prompt_depth_vision >= 0, ">= 0",
          t.prompt_depth_vision);
  // The reference asserts this for V-L prompting (trainers/vificlip.py).
  require(out, "TRAINER.ViFi_CLIP.PROMPT_DEPTH_TEXT",
          t.prompt_depth_text >= (t.prompt_model ? 1 : 0),
          t.prompt_model ? ">= 1 when PROMPT_MODEL is true" : ">= 0", t.prompt_depth_text);
}

void validate_train(const TrainConfig& t, std::vector<ConfigIssue>& out) {
  require(out, "TRAIN.EPOCHS", t.epochs >= 1, ">= 1", t.epochs);
  require(out, "TRAIN.WARMUP_EPOCHS", t.warmup_epochs >= 0, ">= 0", t.warmup_epochs);
  require(out, "TRAIN.WEIGHT_DECAY", t.weight_decay >= 0, ">= 0", t.weight_decay);
  require(out, "TRAIN.LR", t.lr > 0, "> 0", t.lr);
  require(out, "TRAIN.BATCH_SIZE", t.batch_size >= 1, ">= 1", t.batch_size);
  require(out, "TRAIN.ACCUMULATION_STEPS", t.accumulation_steps >= 1, ">= 1", t.accumulation_steps);
  require(out, "TRAIN.GLOBAL_BATCH", t.global_batch >= 0, ">= 0 (0 = ranks x BATCH_SIZE x ACCUMULATION_STEPS)",
          t.global_batch);
  if (t.global_batch > 0) {
    // A BATCH_SIZE below 1 is reported above; it must not reach the modulo (SIGFPE at 0).
    require(out, "TRAIN.GLOBAL_BATCH", t.batch_size < 1 || t.global_batch % t.batch_size == 0,
            ("a multiple of TRAIN.BATCH_SIZE " + std::to_string(t.batch_size)).c_str(), t.global_batch);
    const auto rule = "1 when TRAIN.GLOBAL_BATCH is set (" + std::to_string(t.global_batch) +
                      " fixes the accumulation for each world size; set TRAIN.GLOBAL_BATCH 0 to choose it yourself)";
    require(out, "TRAIN.ACCUMULATION_STEPS", t.accumulation_steps == 1, rule.c_str(), t.accumulation_steps);
  }
  require(out, "TRAIN.CLIP_GRAD", t.clip_grad >= 0, ">= 0 (0 = off)", t.clip_grad);
  require(out, "TRAIN.KEEP_CHECKPOINTS", t.keep_checkpoints >= 0, ">= 0 (0 = keep all)", t.keep_checkpoints);
}

void validate_aug(const AugConfig& a, std::vector<ConfigIssue>& out) {
  require(out, "AUG.LABEL_SMOOTH", a.label_smooth >= 0 && a.label_smooth < 1, "in [0, 1)",
          a.label_smooth);
  require(out, "AUG.COLOR_JITTER", a.color_jitter >= 0 && a.color_jitter <= 1, "in [0, 1]",
          a.color_jitter);
  require(out, "AUG.GRAY_SCALE", a.gray_scale >= 0 && a.gray_scale <= 1, "in [0, 1]", a.gray_scale);
  require(out, "AUG.MIXUP", a.mixup >= 0, ">= 0 (0 = off)", a.mixup);
  require(out, "AUG.CUTMIX", a.cutmix >= 0, ">= 0 (0 = mixup only)", a.cutmix);
  require(out, "AUG.MIXUP_SWITCH_PROB", a.mixup_switch_prob >= 0 && a.mixup_switch_prob <= 1,
          "in [0, 1]", a.mixup_switch_prob);
}

void validate_rest(const Config& c, std::vector<ConfigIssue>& out) {
  require(out, "TEST.NUM_CLIP", c.test.num_clip >= 1, ">= 1", c.test.num_clip);
  require(out, "TEST.NUM_CROP", c.test.num_crop == 1 || c.test.num_crop == 3, "1 or 3",
          c.test.num_crop);
  require(out, "SAVE_FREQ", c.save_freq >= 1, ">= 1", c.save_freq);
  require(out, "PRINT_FREQ", c.print_freq >= 1, ">= 1", c.print_freq);
}

}  // namespace

// ---- table queries ---------------------------------------------------------------------------

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> table = build_table();
  return table;
}

const ConfigKey* find_config_key(std::string_view name) {
  for (const auto& k : config_keys())
    if (k.name == name) return &k;
  return nullptr;
}

bool is_config_section(std::string_view name) {
  if (name.empty()) return false;
  for (const auto& k : config_keys())
    if (k.name.size() > name.size() && k.name.compare(0, name.size(), name) == 0 &&
        k.name[name.size()] == '.')
      return true;
  return false;
}

std::string closest_config_key(std::string_view name) {
  const ConfigKey* best = nullptr;
  size_t best_distance = 0;
  for (const auto& k : config_keys()) {
    const size_t d = edit_distance(name, k.name);
    if (best && d >= best_distance) continue;
    best = &k;
    best_distance = d;
  }
  return best->name;
}

std::string expected_type(const ConfigKey& key) {
  switch (key.type) {
    case ValueType::integer:
      return "int";
    case ValueType::real:
      return "float";
    case ValueType::boolean:
      return "bool (true/false)";
    case ValueType::string:
      return "string";
    case ValueType::path:
      return "path";
    case ValueType::choice:
      return "one of " + key.choices;
  }
  return "?";
}

std::string unknown_key_message(const std::string& origin, std::string_view name) {
  return origin + ": unknown key '" + std::string(name) + "' (did you mean " +
         closest_config_key(name) + "?)";
}

std::string type_error_message(const std::string& origin, const ConfigKey& key,
                               const std::string& got) {
  return origin + ": " + key.name + ": expected " + expected_type(key) + ", got " + got;
}

// ---- ConfigBuilder ---------------------------------------------------------------------------

void ConfigBuilder::set(std::string_view name, const std::string& text,
                        const ConfigSource& source) {
  const ConfigKey* k = find_config_key(name);
  if (!k) throw ConfigError(unknown_key_message(source.origin, name));
  set(*k, text, source);
}

void ConfigBuilder::set(const ConfigKey& key, const std::string& text, const ConfigSource& source) {
  const std::string value =
      key.type == ValueType::path ? resolve_path(text, source.base_dir) : text;
  if (!key.parse(config_, value))
    throw ConfigError(type_error_message(source.origin, key, "'" + text + "'"));
  origin_[key.name] = source.origin;
}

void ConfigBuilder::apply_opts(const std::vector<std::string>& opts) {
  if (opts.size() % 2 != 0)
    throw ConfigError("--opts: expected KEY VALUE pairs, got " + std::to_string(opts.size()) +
                      " items (last: '" + opts.back() + "')");
  const ConfigSource source{"--opts", {}};
  for (size_t i = 0; i < opts.size(); i += 2) set(opts[i], strip_quotes(opts[i + 1]), source);
}

void ConfigBuilder::apply_flags(const ConfigFlags& flags) {
  auto apply = [this](const char* flag, const char* key, const std::string& text) {
    set(key, text, ConfigSource{flag, {}});
  };
  if (flags.output) apply("--output", "OUTPUT", *flags.output);
  if (flags.resume) apply("--resume", "MODEL.RESUME", *flags.resume);
  if (flags.pretrained) apply("--pretrained", "MODEL.PRETRAINED", *flags.pretrained);
  if (flags.clip_archive) apply("--clip", "MODEL.CLIP_ARCHIVE", *flags.clip_archive);
  if (flags.batch_size)
    apply("--batch-size", "TRAIN.BATCH_SIZE", std::to_string(*flags.batch_size));
  if (flags.accumulation_steps)
    apply("--accumulation-steps", "TRAIN.ACCUMULATION_STEPS",
          std::to_string(*flags.accumulation_steps));
  if (flags.global_batch) apply("--global-batch", "TRAIN.GLOBAL_BATCH", std::to_string(*flags.global_batch));
  if (flags.seed) apply("--seed", "SEED", std::to_string(*flags.seed));
  if (flags.only_test) apply("--only-test", "TEST.ONLY_TEST", "true");
}

Config ConfigBuilder::finish() const {
  Config out = config_;
  for (const auto& k : config_keys())  // defaults hold the reference's cwd-relative paths
    if (k.type == ValueType::path) k.parse(out, resolve_path(k.format(out), {}));
  const auto issues = validate(out);
  if (issues.empty()) return out;
  std::string message = "invalid configuration:";
  for (const auto& issue : issues) {
    auto it = origin_.find(issue.key);
    message += "\n  " + (it == origin_.end() ? std::string("default") : it->second) + ": " +
               issue.key + ": " + issue.problem;
  }
  throw ConfigError(message);
}

// ---- validation and writing ------------------------------------------------------------------

std::vector<ConfigIssue> validate(const Config& config) {
  std::vector<ConfigIssue> issues;
  validate_data(config.data, issues);
  validate_model(config.model, config.trainer, issues);
  validate_train(config.train, issues);
  validate_aug(config.aug, issues);
  validate_rest(config, issues);
  return issues;
}

std::string to_yaml(const Config& config) {
  std::string out;
  std::vector<std::string> open;  // sections of the previous key, outermost first
  for (const auto& k : config_keys()) {
    std::vector<std::string> parts;
    std::stringstream ss(k.name);
    for (std::string part; std::getline(ss, part, '.');) parts.push_back(part);
    const std::string leaf = parts.back();
    parts.pop_back();
    size_t common = 0;
    while (common < open.size() && common < parts.size() && open[common] == parts[common]) ++common;
    for (size_t i = common; i < parts.size(); ++i)
      out += std::string(2 * i, ' ') + parts[i] + ":\n";
    open = parts;
    const bool textual = k.type == ValueType::string || k.type == ValueType::path;
    out += std::string(2 * parts.size(), ' ') + leaf + ": " +
           (textual ? quote(k.format(config)) : k.format(config)) + "\n";
  }
  return out;
}

bool same_config(const Config& a, const Config& b) {
  for (const auto& k : config_keys())
    if (k.format(a) != k.format(b)) return false;
  return true;
}

}  // namespace vifi

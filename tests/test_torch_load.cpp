// util/torch_load: torch.save files read without Python. The checkpoints are made by the
// authors' own code (tools/make_reference_fixtures.py: their trainers/vificlip.py and
// epoch_saving, a yacs config, AdamW state and a numpy scalar inside); small hand-written
// pickles pin the opcodes; thousands of corrupted copies of a real data.pkl must each read or
// fail with a std::runtime_error, never anything worse.
#include <gtest/gtest.h>

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <random>

#include "support/test_paths.h"
#include "vifi/util/torch_load.h"

namespace vifi {
namespace {

using test::fixture;
using Type = util::PickleValue::Type;
using namespace std::string_literals;

std::string bytes_of(std::initializer_list<float> values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

util::TorchFile read_pickle(const std::string& pickle, const std::string& record = "") {
  return util::TorchFile::from_pickle(pickle, [record](const std::string&) { return record; }, "test.pkl");
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TorchLoad, ReadsTheAuthorsCheckpointWithEverythingPickledNextToTheWeights) {
  const auto file = util::torch_load(fixture("vificlip_ref/vl_prompted.pth"));
  const auto& root = file.root();
  ASSERT_EQ(root.type, Type::dict);
  std::vector<std::string> keys;
  for (const auto& [k, v] : root.entries) keys.push_back(k->text);
  EXPECT_EQ(keys, (std::vector<std::string>{"model", "optimizer", "lr_scheduler", "max_accuracy", "epoch", "config"}));
  EXPECT_EQ(root.get("epoch")->integer, 9);
  // numpy.float64(41.25): kept as an inert object, its class and arguments recorded.
  EXPECT_EQ(root.get("max_accuracy")->describe(), "object numpy.core.multiarray.scalar");
  // yacs CfgNode: a dict subclass (NEWOBJ + SETITEMS + BUILD); its items are readable.
  const auto* config = root.get("config");
  ASSERT_EQ(config->describe(), "object yacs.config.CfgNode");
  const auto* trainer = config->get("TRAINER")->get("ViFi_CLIP");
  EXPECT_EQ(trainer->get("CTX_INIT")->text, "a photo of a");
  EXPECT_EQ(trainer->get("N_CTX_TEXT")->integer, 4);
  EXPECT_TRUE(trainer->get("PROMPT_MODEL")->boolean);
  ASSERT_NE(config->state, nullptr);  // yacs' bookkeeping (__immutable__, ...) is recorded, not applied
  EXPECT_EQ(config->state->get("__immutable__")->type, Type::boolean);

  const auto* model = root.get("model");
  const auto ctx = file.tensor(*model->get("module.prompt_learner.ctx"));
  EXPECT_EQ(ctx.sizes(), (std::vector<int64_t>{4, 64}));
  EXPECT_EQ(ctx.scalar_type(), torch::kFloat);
  // The generator's fp16-exact prompts, moved by one AdamW step at lr 1e-9.
  EXPECT_TRUE(torch::allclose(ctx, ctx.to(torch::kHalf).to(torch::kFloat), 0, 1e-7));
  EXPECT_GT(ctx.abs().max().item<double>(), 0.1);
  // AdamW's state: integer keys, and exp_avg shaped like the parameter it belongs to.
  const auto* state = root.get("optimizer")->get("state");
  ASSERT_FALSE(state->entries.empty());
  EXPECT_EQ(state->entries.front().first->type, Type::integer);
  EXPECT_EQ(file.tensor(*state->entries.front().second->get("exp_avg")).dim(), 2);
}

TEST(TorchLoad, ProtocolTwoValuesSharedThroughTheMemo) {
  // {'a': 5, 'b': 1.5, 'c': [True, None, -1], 'd': <the same list>}
  const std::string pickle =
      "\x80\x02}q\x00(X\x01\x00\x00\x00" "aK\x05" "X\x01\x00\x00\x00" "bG\x3f\xf8\x00\x00\x00\x00\x00\x00"
      "X\x01\x00\x00\x00" "c]q\x01(\x88N\x8a\x01\xff" "e" "X\x01\x00\x00\x00" "dh\x01u."s;
  const auto file = read_pickle(pickle);
  const auto& root = file.root();
  EXPECT_EQ(root.get("a")->integer, 5);
  EXPECT_DOUBLE_EQ(root.get("b")->floating, 1.5);
  const auto* list = root.get("c");
  ASSERT_EQ(list->items.size(), 3u);
  EXPECT_TRUE(list->items[0]->boolean);
  EXPECT_EQ(list->items[1]->type, Type::none);
  EXPECT_EQ(list->items[2]->integer, -1);
  EXPECT_EQ(root.get("d"), list);
  EXPECT_EQ(root.get("e"), nullptr);
}

TEST(TorchLoad, GlobalsAreRecordedNeverCalled) {
  // os.system('touch <marker>'): a pickle's classic payload. It must come back as data.
  const auto marker = test::scratch_dir() / "pwned";
  const auto command = "touch " + marker.string();
  std::string pickle = "\x80\x02" "cos\nsystem\nX";
  const auto n = static_cast<uint32_t>(command.size());
  pickle.append(reinterpret_cast<const char*>(&n), 4);
  pickle += command + "\x85R.";
  const auto file = read_pickle(pickle);
  EXPECT_EQ(file.root().describe(), "object os.system");
  ASSERT_EQ(file.root().args.size(), 1u);
  EXPECT_EQ(file.root().args[0]->text, command);
  EXPECT_FALSE(std::filesystem::exists(marker));
}

// _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 6), offset, size, stride, False, OrderedDict())
std::string tensor_pickle(int offset, int rows) {
  std::string p = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(";
  p += "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x06tQ"s;
  p += "K" + std::string(1, static_cast<char>(offset));
  p += "K" + std::string(1, static_cast<char>(rows)) + "K\x02\x86K\x02K\x01\x86\x89" "ccollections\nOrderedDict\n)Rt" "R.";
  return p;
}

TEST(TorchLoad, TensorsAreViewsOfTheirStorageRecord) {
  const auto file = read_pickle(tensor_pickle(1, 2), bytes_of({0, 1, 2, 3, 4, 5}));
  const auto t = file.tensor(file.root());
  EXPECT_TRUE(torch::equal(t, torch::tensor({{1.f, 2.f}, {3.f, 4.f}})));
  // A view reaching past its storage is refused when the pickle is read.
  const auto error = error_of([] { read_pickle(tensor_pickle(1, 3)); });
  EXPECT_NE(error.find("of a storage of 6"), std::string::npos) << error;
  // A record shorter than its storage claims is refused when the tensor is read.
  const auto short_file = read_pickle(tensor_pickle(0, 2), bytes_of({0, 1, 2}));
  const auto short_error = error_of([&] { short_file.tensor(short_file.root()); });
  EXPECT_NE(short_error.find("storage data/0 holds 12 bytes"), std::string::npos) << short_error;
}

// _rebuild_tensor_v2 of storage '0' (6 floats) with any offset, size and stride (int32 each).
std::string view_pickle(int32_t offset, const std::vector<int32_t>& size, const std::vector<int32_t>& stride) {
  const auto int32 = [](int32_t v) { return "J"s + std::string(reinterpret_cast<const char*>(&v), 4); };
  const auto tuple = [&](const std::vector<int32_t>& values) {
    std::string t = "(";
    for (const auto v : values) t += int32(v);
    return t + "t";
  };
  std::string p = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(";
  p += "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x06tQ"s;
  return p + int32(offset) + tuple(size) + tuple(stride) + "\x89" "ccollections\nOrderedDict\n)Rt" "R.";
}

// Found by fuzz/torch_checkpoint_fuzzer.cpp: values LibTorch would refuse with a c10::Error (no
// file name, a C++ backtrace) are refused by the reader itself, naming the file.
TEST(TorchLoad, StoragesAndViewsLibTorchWouldRejectAreRefusedNamingTheFile) {
  // {'w': ('storage', FloatStorage, '0', 'cpu', n)}: a storage never rebuilt into a tensor.
  for (const char numel : {'\x00', '\x06'}) {
    const auto pickle = "\x80\x02}X\x01\x00\x00\x00w(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
                        "0X\x03\x00\x00\x00" "cpuK"s + numel + "tQs.";
    const auto file = read_pickle(pickle, bytes_of({0, 1, 2, 3, 4, 5}));
    const auto* w = file.root().get("w");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->describe(), "storage");
    const auto error = error_of([&] { file.tensor(*w); });
    EXPECT_NE(error.find("test.pkl: a bare storage (data/0) where a tensor was expected"), std::string::npos) << error;
  }
  // A zero-sized dimension holds no element, but a negative size or stride after it is still refused.
  for (const auto& [size, stride] : std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>>{
           {{0, -1}, {1, 1}}, {{2, 0, 3}, {3, 1, -1}}, {{-2, 0}, {1, 1}}}) {
    const auto error = error_of([&] { read_pickle(view_pickle(0, size, stride)); });
    EXPECT_NE(error.find("test.pkl: data.pkl: a negative tensor size or stride"), std::string::npos) << error;
  }
  // Zero-sized views that are sound read as empty tensors.
  const auto empty = read_pickle(view_pickle(0, {0, 3}, {3, 1}), bytes_of({0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(empty.tensor(empty.root()).sizes(), (std::vector<int64_t>{0, 3}));
  // A rebuilt tensor is not a storage to rebuild from.
  auto nested = view_pickle(0, {2}, {1});
  nested.pop_back();  // STOP
  nested = "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(" + nested.substr(2) + "K\x00(K\x01t(K\x01t\x89" "ccollections\nOrderedDict\n)Rt" "R."s;
  const auto nested_error = error_of([&] { read_pickle(nested); });
  EXPECT_NE(nested_error.find("test.pkl: data.pkl: _rebuild_tensor of a tensor, expected a storage"), std::string::npos)
      << nested_error;
}

// Sets the compression method of `record`'s central directory entry in a zip archive's bytes to
// one no reader knows (99): the archive opens, the record does not.
void damage_record(std::string& zip, const std::string& record) {
  for (size_t at = zip.find("PK\x01\x02"s); at != std::string::npos; at = zip.find("PK\x01\x02"s, at + 4)) {
    uint16_t name_length = 0;
    std::memcpy(&name_length, zip.data() + at + 28, 2);
    if (zip.compare(at + 46, name_length, record) == 0) {
      zip[at + 10] = 99;
      zip[at + 11] = 0;
      return;
    }
  }
  FAIL() << record << " is not in the archive";
}

// Found by fuzz/torch_checkpoint_fuzzer.cpp: LibTorch's zip reader throws its c10::Error at any
// record it cannot read, not only when the archive opens.
TEST(TorchLoad, DamagedArchivesAreRefusedNamingTheFileAndTheRecord) {
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("w", torch::arange(6, torch::kFloat32));
  const auto saved = torch::pickle_save(dict);
  const std::string archive(saved.begin(), saved.end());
  const auto dir = test::scratch_dir();
  const auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return (dir / name).string();
  };
  const auto sound = util::torch_load(write("sound.pt", archive));
  EXPECT_TRUE(torch::equal(sound.tensor(*sound.root().get("w")), torch::arange(6, torch::kFloat32)));

  auto pickle_damaged = archive;
  damage_record(pickle_damaged, "archive/data.pkl");
  const auto path = write("pickle_damaged.pt", pickle_damaged);
  const auto error = error_of([&] { util::torch_load(path); });
  EXPECT_NE(error.find(path + ": record data.pkl cannot be read (a damaged archive)"), std::string::npos) << error;

  auto storage_damaged = archive;
  damage_record(storage_damaged, "archive/data/0");
  const auto storage_path = write("storage_damaged.pt", storage_damaged);
  const auto file = util::torch_load(storage_path);  // the pickle reads; the weights do not
  const auto storage_error = error_of([&] { file.tensor(*file.root().get("w")); });
  EXPECT_NE(storage_error.find(storage_path + ": record data/0 cannot be read (a damaged archive)"), std::string::npos)
      << storage_error;
}

TEST(TorchLoad, FilesThatAreNotTorchSaveZipsAreNamed) {
  const auto dir = test::scratch_dir();
  std::ofstream(dir / "legacy.pt", std::ios::binary) << std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8", 12);
  EXPECT_NE(error_of([&] { util::torch_load((dir / "legacy.pt").string()); }).find("legacy torch.save format"),
            std::string::npos);
  std::ofstream(dir / "notes.txt") << "hello";
  EXPECT_NE(error_of([&] { util::torch_load((dir / "notes.txt").string()); }).find("notes.txt: not a torch.save file"),
            std::string::npos);
  EXPECT_NE(error_of([] { util::torch_load(fixture("clip_tiny/clip_tiny.pt")); }).find("a TorchScript archive"),
            std::string::npos);
  EXPECT_NE(error_of([&] { util::torch_load((dir / "absent.pth").string()); }).find("absent.pth: cannot open (not found)"),
            std::string::npos);
}

TEST(TorchLoad, CorruptedPicklesReadOrFailWithAnError) {
  caffe2::serialize::PyTorchStreamReader archive(fixture("vificlip_ref/finetuned.pth"));
  const auto [ptr, size] = archive.getRecord("data.pkl");
  const std::string original(static_cast<const char*>(ptr.get()), size);
  auto records = [&archive](const std::string& key) {  // as torch_load reads them
    if (!archive.hasRecord("data/" + key)) throw std::runtime_error("mutant.pkl: no record data/" + key);
    const auto [p, n] = archive.getRecord("data/" + key);
    return std::string(static_cast<const char*>(p.get()), n);
  };
  std::mt19937 rng(17);
  int read = 0, refused = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    auto pickle = original;
    if (trial % 7 == 0) {
      pickle.resize(rng() % pickle.size());
    } else {
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k)
        pickle[rng() % pickle.size()] = static_cast<char>(rng() % 256);
    }
    try {
      const auto file = util::TorchFile::from_pickle(pickle, records, "mutant.pkl");
      // Whatever was read must also materialise: every tensor of the model entry.
      if (const auto* model = file.root().has_entries() ? file.root().get("model") : nullptr; model && model->has_entries())
        for (const auto& [k, v] : model->entries)
          if (v->type == Type::tensor) file.tensor(*v).sum();
      ++read;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("mutant.pkl"), std::string::npos) << e.what();
      ++refused;
    }
  }
  std::cout << read << " corrupted copies read, " << refused << " refused with an error\n";
  EXPECT_GT(refused, 1000);  // most corruptions are caught...
  EXPECT_GT(read, 100);      // ...and flips inside names or numbers still read
}

}  // namespace
}  // namespace vifi

// experiment/runs: each protocol's list of runs, built up front from parsed configs that are
// never edited (derived runs are new values).
#include <gtest/gtest.h>

#include "vifi/experiment/runs.h"

namespace vifi {
namespace {

Config named(const std::string& val_file) {
  Config c;
  c.data.val_file = val_file;
  return c;
}

TEST(Runs, SupervisedIsSingleViewThenTheReferences4x3) {
  Config c = named("k400_val.txt");
  c.test.num_clip = 2;
  c.test.num_crop = 1;
  c.test.multi_view_inference = true;
  const auto runs = experiment::supervised_runs(c);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].name, "single_view");
  EXPECT_EQ(runs[0].config.test.num_clip, 1);
  EXPECT_EQ(runs[0].config.test.num_crop, 1);
  EXPECT_EQ(runs[1].name, "multi_view");
  EXPECT_EQ(runs[1].config.test.num_clip, 4);
  EXPECT_EQ(runs[1].config.test.num_crop, 3);
  EXPECT_EQ(c.test.num_clip, 2);  // the parsed config is untouched
  // Without MULTI_VIEW_INFERENCE the multi-view run takes the config's own views.
  c.test.multi_view_inference = false;
  EXPECT_EQ(experiment::supervised_runs(c)[1].config.test.num_clip, 2);
  EXPECT_EQ(experiment::supervised_runs(c)[1].config.test.num_crop, 1);
}

TEST(Runs, ZeroShotNamesSplitsInOrder) {
  const auto runs = experiment::zeroshot_runs({named("a"), named("b"), named("c")});
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[2].name, "split3");
  EXPECT_EQ(runs[2].config.data.val_file, "c");
  EXPECT_THROW(experiment::zeroshot_runs({}), std::invalid_argument);
}

TEST(Runs, BaseToNovelPairsSeedsWithOneOrEachNovelConfig) {
  const auto shared = experiment::base2novel_runs({named("b1"), named("b2")}, {named("n")});
  ASSERT_EQ(shared.size(), 2u);
  EXPECT_EQ(shared[1].seed, "s2");
  EXPECT_EQ(shared[1].base.name, "s2_base");
  EXPECT_EQ(shared[1].base.config.data.val_file, "b2");
  EXPECT_EQ(shared[1].novel.name, "s2_novel");
  EXPECT_EQ(shared[1].novel.config.data.val_file, "n");
  const auto each = experiment::base2novel_runs({named("b1"), named("b2")}, {named("n1"), named("n2")});
  EXPECT_EQ(each[1].novel.config.data.val_file, "n2");
  try {
    experiment::base2novel_runs({named("b1"), named("b2"), named("b3")}, {named("n1"), named("n2")});
    FAIL() << "3 bases with 2 novel configs must not pair up";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("(3), got 2"), std::string::npos) << e.what();
  }
}

TEST(Runs, FewShotNeedsOneKPerConfig) {
  const auto runs = experiment::fewshot_runs({named("k2"), named("k16")}, {2, 16});
  EXPECT_EQ(runs[0].name, "K2");
  EXPECT_EQ(runs[1].name, "K16");
  EXPECT_EQ(runs[1].config.data.val_file, "k16");
  EXPECT_THROW(experiment::fewshot_runs({named("k2")}, {2, 4}), std::invalid_argument);
}

TEST(Runs, DerivedConfigsAreNewValues) {
  Config c = named("v");
  c.model.resume = "/runs/a/best.pth";
  const auto w = experiment::with_weights(c, "/weights/ViT-B-16.pt");
  EXPECT_EQ(w.model.pretrained, "/weights/ViT-B-16.pt");
  EXPECT_TRUE(w.model.resume.empty());
  EXPECT_EQ(c.model.resume, "/runs/a/best.pth");
  EXPECT_EQ(experiment::with_training_output(c, "/out", "s1").output, "/out/train_s1");
  EXPECT_THROW(experiment::prompting_config(c, "p.yaml"), ConfigError);  // no prompt tokens
  c.trainer.n_ctx_text = 4;
  const auto p = experiment::prompting_config(c, "p.yaml");
  EXPECT_TRUE(p.trainer.prompt_model);
  const auto full = experiment::full_finetuning_config(p);
  EXPECT_FALSE(full.trainer.prompt_model);
  EXPECT_EQ(full.trainer.use, EncoderUse::both);
}

}  // namespace
}  // namespace vifi

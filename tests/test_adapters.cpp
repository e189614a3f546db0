// experiment/adapters: every Config -> component-options conversion, field by field. Each key gets
// a value no other key of the same type has, so swapping two same-typed fields (vision and text
// prompt sizes, rank and world size, clips and crops) in an adapter fails here.
#include <gtest/gtest.h>

#include "vifi/experiment/adapters.h"

namespace vifi {
namespace {

Config distinct_config() {
  Config c;
  c.trainer.prompt_model = true;
  c.trainer.n_ctx_vision = 3;
  c.trainer.n_ctx_text = 5;
  c.trainer.ctx_init = "a video of";
  c.trainer.prompt_depth_vision = 7;
  c.trainer.prompt_depth_text = 9;
  c.trainer.use = EncoderUse::image;
  c.trainer.fusion = Fusion::decision;
  c.trainer.zs_eval = false;
  c.data.num_frames = 11;
  c.data.input_size = 96;
  c.data.num_workers = 6;
  c.data.max_bad_fraction = 0.0625;
  c.data.min_bad_limit = 17;
  c.data.passed_frames = PassedFrames::decode;
  c.test.passed_frames = PassedFrames::skip_deblocking;
  c.data.scale_frames = FrameScaling::in_conversion;
  c.data.decoder_threads = 5;
  c.data.numbering_cache = "/scratch/numberings";
  c.aug.color_jitter = 0.25;
  c.aug.gray_scale = 0.125;
  c.test.num_clip = 4;
  c.test.num_crop = 3;
  c.train.batch_size = 13;
  c.seed = 4242;
  return c;
}

TEST(Adapters, PromptOptionsTakeEachKeyFromItsOwnField) {
  const auto p = experiment::prompt_options(distinct_config().trainer);
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.n_ctx_vision, 3);
  EXPECT_EQ(p.n_ctx_text, 5);
  EXPECT_EQ(p.ctx_init, "a video of");
  EXPECT_EQ(p.depth_vision, 7);
  EXPECT_EQ(p.depth_text, 9);
}

TEST(Adapters, PromptKeysSurviveTheRoundTrip) {
  const auto original = distinct_config();
  Config back;  // defaults everywhere, then the prompt keys from the options
  back.trainer = experiment::with_prompt_options(back.trainer, experiment::prompt_options(original.trainer));
  EXPECT_EQ(back.trainer.prompt_model, original.trainer.prompt_model);
  EXPECT_EQ(back.trainer.n_ctx_vision, 3);
  EXPECT_EQ(back.trainer.n_ctx_text, 5);
  EXPECT_EQ(back.trainer.ctx_init, "a video of");
  EXPECT_EQ(back.trainer.prompt_depth_vision, 7);
  EXPECT_EQ(back.trainer.prompt_depth_text, 9);
  // Only the prompt keys move: the rest of TRAINER keeps its own values.
  EXPECT_EQ(back.trainer.use, Config{}.trainer.use);
  auto expected = Config{};
  expected.trainer.prompt_model = true;
  expected.trainer.n_ctx_vision = 3;
  expected.trainer.n_ctx_text = 5;
  expected.trainer.ctx_init = "a video of";
  expected.trainer.prompt_depth_vision = 7;
  expected.trainer.prompt_depth_text = 9;
  EXPECT_TRUE(same_config(back, expected)) << to_yaml(back);
}

TEST(Adapters, ViFiCLIPOptions) {
  const auto o = experiment::vificlip_options(distinct_config());
  EXPECT_EQ(o.prompt.ctx_init, "a video of");  // CTX_INIT is stored once
  EXPECT_FALSE(o.zero_shot_prompt);
  EXPECT_EQ(o.use, EncoderUse::image);
  EXPECT_EQ(o.fusion, Fusion::decision);
  EXPECT_EQ(o.prompt.n_ctx_vision, 3);
  EXPECT_EQ(o.prompt.n_ctx_text, 5);
}

TEST(Adapters, ClipConfigTakesFramesSizesAugmentationAndViews) {
  const auto c = experiment::clip_config(distinct_config());
  EXPECT_EQ(c.num_frames, 11);
  EXPECT_EQ(c.augment.input_size, 96);
  EXPECT_EQ(c.eval.input_size, 96);
  EXPECT_DOUBLE_EQ(c.augment.color_jitter, 0.25);
  EXPECT_DOUBLE_EQ(c.augment.gray_scale, 0.125);
  EXPECT_EQ(c.num_clips, 4);      // TEST.NUM_CLIP: temporal views
  EXPECT_EQ(c.eval.num_crops, 3);  // TEST.NUM_CROP: spatial views
  EXPECT_EQ(c.decode.train_passed_frames, PassedFrames::decode);          // DATA.PASSED_FRAMES
  EXPECT_EQ(c.decode.eval_passed_frames, PassedFrames::skip_deblocking);  // TEST.PASSED_FRAMES
  EXPECT_EQ(c.decode.scaling, FrameScaling::in_conversion);          // DATA.SCALE_FRAMES
  EXPECT_EQ(c.decode.decoder_threads, 5);                            // DATA.DECODER_THREADS
  EXPECT_EQ(c.decode.numbering_store, "/scratch/numberings");        // DATA.NUMBERING_CACHE
}

// The defaults: training reads skip the passed frames' loop filter (issue 17), evaluation reads
// are exact.
TEST(Adapters, TrainingReadsSkipPassedDeblockingAndEvaluationReadsAreExactByDefault) {
  const auto clip = experiment::clip_config(Config{});
  EXPECT_EQ(data::train_reader_options(clip).passed_frames, PassedFrames::skip_deblocking);
  EXPECT_EQ(data::eval_reader_options(clip).passed_frames, PassedFrames::skip_unreferenced);
}

// DATA.NUMBERING_CACHE reaches the reader; 'none' keeps numberings in memory only.
TEST(Adapters, NumberingCacheReachesTheReader) {
  Config config = distinct_config();
  EXPECT_EQ(data::train_reader_options(experiment::clip_config(config)).numbering_store, "/scratch/numberings");
  EXPECT_EQ(data::eval_reader_options(experiment::clip_config(config)).numbering_store, "/scratch/numberings");
  config.data.numbering_cache = "none";
  EXPECT_EQ(data::train_reader_options(experiment::clip_config(config)).numbering_store, "");
}

// Scaling in the conversion decodes to the short side the train (eval) transforms resize to.
TEST(Adapters, ReaderOptionsScaleToTheTransformsShortSide) {
  Config config = distinct_config();
  config.data.scale_frames = FrameScaling::in_conversion;
  auto clip = experiment::clip_config(config);
  EXPECT_EQ(data::train_reader_options(clip).short_side, 109);  // int(256 / 224 * 96)
  EXPECT_EQ(data::eval_reader_options(clip).short_side, 96);    // three crops: the crop side
  clip.eval.num_crops = 1;
  EXPECT_EQ(data::eval_reader_options(clip).short_side, 109);  // centre crop after the 256/224 resize
  EXPECT_EQ(data::train_reader_options(clip).passed_frames, PassedFrames::decode);
  EXPECT_EQ(data::eval_reader_options(clip).passed_frames, PassedFrames::skip_deblocking);
  EXPECT_EQ(data::train_reader_options(clip).decoder_threads, 5);
  config.data.scale_frames = FrameScaling::after_decode;
  EXPECT_EQ(data::train_reader_options(experiment::clip_config(config)).short_side, 0);
}

TEST(Adapters, LoaderConfigTakesPlacementAndShufflesOnlyTraining) {
  experiment::Placement placement;
  placement.rank = 1;
  placement.world_size = 3;
  const auto train = experiment::loader_config(distinct_config(), data::LoaderMode::train, placement);
  EXPECT_EQ(train.batch_size, 13);
  EXPECT_EQ(train.num_workers, 6);
  EXPECT_EQ(train.rank, 1);
  EXPECT_EQ(train.world_size, 3);
  EXPECT_EQ(train.seed, 4242u);
  EXPECT_DOUBLE_EQ(train.max_bad_fraction, 0.0625);  // DATA.MAX_BAD_FRACTION
  EXPECT_EQ(train.min_bad_limit, 17);                // DATA.MIN_BAD_LIMIT
  EXPECT_TRUE(train.shuffle);
  EXPECT_FALSE(experiment::loader_config(distinct_config(), data::LoaderMode::eval, placement).shuffle);
}

// TRAIN.DROP_LAST reaches the loader as the plan's clips per rank: whole updates only.
TEST(Adapters, TrainingLoaderLoadsThePlansClipsPerRank) {
  experiment::Placement placement;
  placement.rank = 2;
  placement.world_size = 3;
  auto config = distinct_config();
  config.train.global_batch = 3 * 13 * 2;  // accumulation 2 on 3 ranks
  const auto plan = train::plan_batches(config.train, 1000, placement.world_size);
  const auto loader = experiment::training_loader_config(config, placement, plan);
  EXPECT_EQ(plan.steps_per_epoch, 12);                 // floor(1000 / 78)
  EXPECT_EQ(loader.samples_per_epoch, 12 * 2 * 13);    // 12 updates x 2 micro-batches x 13 clips
  EXPECT_EQ(loader.rank, 2);
  EXPECT_EQ(loader.batch_size, 13);
  config.train.drop_last = false;                     // the whole padded shard, ceil(1000 / 3)
  EXPECT_EQ(experiment::training_loader_config(config, placement, train::plan_batches(config.train, 1000, 3))
                .samples_per_epoch,
            334);
}

}  // namespace
}  // namespace vifi

// data/video_files: which files are videos, finding them below a folder, and folders given where
// videos are expected (vifi predict DIR, vifi index DIR).
#include "vifi/data/video_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/test_paths.h"
#include "vifi/data/video_reader.h"

namespace vifi::data {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << "x";
}

TEST(VideoFiles, RecognisesVideoExtensionsInAnyCase) {
  for (const char* name : {"a.avi", "b.MP4", "c.WebM", "d.mkv", "e.MOV", "f.m4v", "dir/g.Avi", "x.y.webm", "h.MPG",
                           "i.flv", "j.3gp"}) {
    EXPECT_TRUE(has_video_extension(name)) << name;
  }
  for (const char* name : {"a.txt", "b.avi.bak", "mp4", "c.mp3", "d", ".avi.json", "notes.txt"}) {
    EXPECT_FALSE(has_video_extension(name)) << name;
  }
  EXPECT_EQ(video_extensions_text().rfind(".mp4 .avi", 0), 0u) << video_extensions_text();
}

TEST(VideoFiles, VideosUnderAFolderAreSortedWithoutHiddenOrUnfinishedFiles) {
  const auto dir = test::scratch_dir();
  for (const char* video : {"z.avi", "a/Clip.MP4", "a/b/deep.WebM", "a b/with space.mkv"}) touch(dir / video);
  for (const char* other : {"a/readme.txt", "a/b/deep.WebM.part", "a/b/noext", ".hidden.mp4", ".cache/x.mp4",
                            "a/x.partial-123.mp4"}) {
    touch(dir / other);
  }
  fs::create_directories(dir / "folder.mp4");
  EXPECT_EQ(videos_under(dir.string()),
            (std::vector<std::string>{(dir / "a b/with space.mkv").string(), (dir / "a/Clip.MP4").string(),
                                      (dir / "a/b/deep.WebM").string(), (dir / "z.avi").string()}));
  test::expect_error([&] { videos_under((dir / "missing").string()); }, {(dir / "missing").string(), "cannot be read"});
}

// Folders linked in from elsewhere are searched; a link named like a video whose target is gone
// stays in the list, so reading it fails naming it (the old walk dropped it without a word and
// left linked folders out); a FIFO named like a video is left out (opening it would block).
TEST(VideoFiles, LinkedFoldersAreSearchedAndBrokenVideoLinksFailByName) {
  const auto dir = test::scratch_dir();
  const fs::path root = dir / "root";
  touch(root / "a.mp4");
  touch(dir / "elsewhere/far.avi");
  fs::create_directory_symlink(dir / "elsewhere", root / "linked");
  fs::create_directory_symlink("..", root / "linked_up");
  fs::create_symlink("missing.mp4", root / "gone.mp4");
  fs::create_symlink("loop.mp4", root / "loop.mp4");
  ASSERT_EQ(::mkfifo((root / "pipe.mp4").c_str(), 0600), 0);
  EXPECT_EQ(videos_under(root.string()),
            (std::vector<std::string>{(root / "a.mp4").string(), (root / "gone.mp4").string(),
                                      (root / "linked/far.avi").string(), (root / "loop.mp4").string()}));
  test::expect_error([&] { VideoReader reader((root / "gone.mp4").string()); },
                     {(root / "gone.mp4").string(), "cannot open: a broken symbolic link (No such file or directory)"});
  test::expect_error([&] { VideoReader reader((root / "loop.mp4").string()); },
                     {(root / "loop.mp4").string(), "cannot open: a broken symbolic link (Too many levels"});
}

TEST(VideoFiles, FoldersAmongVideoArgumentsStandForTheirVideos) {
  const auto dir = test::scratch_dir();
  touch(dir / "clips/b.mp4");
  touch(dir / "clips/a/c.avi");
  touch(dir / "clips/notes.txt");
  fs::create_directories(dir / "empty");
  touch(dir / "empty/readme.txt");
  // Files stay as given (a missing one too: reading it names it later), in argument order.
  const auto single = (dir / "single.webm").string(), missing = (dir / "missing.mp4").string();
  touch(single);
  EXPECT_EQ(expand_video_folders({single, (dir / "clips").string(), missing}),
            (std::vector<std::string>{single, (dir / "clips/a/c.avi").string(), (dir / "clips/b.mp4").string(), missing}));
  test::expect_error([&] { expand_video_folders({(dir / "empty").string()}); },
                     {(dir / "empty").string(), "a folder without videos", ".mp4"});
}

}  // namespace
}  // namespace vifi::data

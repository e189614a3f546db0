// util/file_tree: the walk behind every "videos below this folder" (data index, data prepare,
// folders given to predict/index/embed, bench loader --videos) on a tree as messy as downloaded
// datasets get: folders linked in from elsewhere, links back up the tree, links to nothing,
// links to each other, a FIFO. std::filesystem's recursive iterator, which the walks used before,
// either left linked folders out or followed a loop until it threw.
#include "vifi/util/file_tree.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/test_paths.h"

namespace vifi::util {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& path) { vifi::test::write_text(path, "x"); }

struct Seen {
  std::vector<std::string> files;     // regular files, relative to the root
  std::vector<std::string> problems;  // "relative: detail" for other entries and folders not read
  std::vector<std::string> entered;
};

Seen walk(const fs::path& root, std::function<bool(const fs::path&)> enter = {}) {
  Seen seen;
  const auto rel = [&root](const fs::path& p) { return p.lexically_relative(root).generic_string(); };
  FileTreeVisitor visitor;
  visitor.enter = [&](const fs::path& p) {
    seen.entered.push_back(rel(p));
    return enter ? enter(p) : true;
  };
  visitor.entry = [&](const fs::path& p, TreeEntryKind kind, const std::string& detail) {
    if (kind == TreeEntryKind::regular_file) {
      EXPECT_EQ(detail, "") << p;
      seen.files.push_back(rel(p));
    } else {
      EXPECT_NE(detail, "") << p;
      seen.problems.push_back(rel(p) + (kind == TreeEntryKind::broken_link ? " [link]: " : " [other]: ") + detail);
    }
  };
  visitor.folder_not_read = [&](const fs::path& p, const std::string& reason) {
    seen.problems.push_back(rel(p) + "/: " + reason);
  };
  walk_file_tree(root, visitor);
  return seen;
}

TEST(FileTree, EntersLinkedFoldersOnceAndReportsLoopsBrokenLinksAndFifos) {
  const fs::path dir = vifi::test::scratch_dir();
  const fs::path root = dir / "root", elsewhere = dir / "elsewhere";
  touch(root / "b/clip.mp4");
  touch(root / "a.txt");
  touch(elsewhere / "deep/far.avi");
  fs::create_directory_symlink(elsewhere, root / "linked");       // a folder on "another disk"
  fs::create_directory_symlink("..", root / "b/up");               // back to the root
  fs::create_directory_symlink(".", root / "b/self");              // back to itself
  fs::create_directory_symlink("../..", root / "b/top");           // to the folder holding the root
  fs::create_directory_symlink("../root/b", elsewhere / "back");  // from the linked folder back into b
  fs::create_symlink("missing.mp4", root / "b/gone.mp4");
  fs::create_symlink("ping.mp4", root / "pong.mp4");
  fs::create_symlink("pong.mp4", root / "ping.mp4");
  fs::create_symlink("b/clip.mp4", root / "alias.mp4");  // a link to a file is a file
  ASSERT_EQ(::mkfifo((root / "pipe.mp4").c_str(), 0600), 0);

  const Seen seen = walk(root);
  // Depth-first, each folder sorted; paths as reached, through the link, not resolved. The
  // linked folder's link back into b is entered once (b is not a folder the walk is inside
  // there), and its own loops are caught against the folders above it on that path.
  EXPECT_EQ(seen.files, (std::vector<std::string>{"a.txt", "alias.mp4", "b/clip.mp4", "linked/back/clip.mp4",
                                                  "linked/deep/far.avi"}));
  EXPECT_EQ(seen.entered, (std::vector<std::string>{"b", "linked", "linked/back", "linked/deep"}));
  // The oracle: GNU find -L follows links the same way and skips links to the folders it is in.
  // It does not know the folders above its start, so it walks b/top (a link to the folder that
  // holds the root); the walker counts that as a loop too: files found through it are left out.
  std::string found;
  ASSERT_EQ(vifi::test::run_command("cd '" + root.string() + "' && find -L . -type f 2>/dev/null | LC_ALL=C sort", &found), 0);
  std::vector<std::string> find_files;
  std::istringstream lines(found);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("/top/") == std::string::npos) find_files.push_back(line.substr(2));  // without "./"
  }
  std::vector<std::string> sorted = seen.files;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, find_files) << found;
  const std::string loop = ", which holds it (a loop); not entered";
  const std::string missing = " [link]: a broken symbolic link to 'missing.mp4', which does not exist";
  const std::string cycle = " [link]: a symbolic link in a loop (" + std::string(std::strerror(ELOOP)) + ")";
  EXPECT_EQ(seen.problems, (std::vector<std::string>{
                               "b/gone.mp4" + missing,
                               "b/self/: a link back to '" + (root / "b").string() + "'" + loop,
                               "b/top/: a link back to '" + fs::canonical(dir).string() + "'" + loop,
                               "b/up/: a link back to '" + root.string() + "'" + loop,
                               "linked/back/gone.mp4" + missing,
                               "linked/back/self/: a link back to '" + (root / "linked/back").string() + "'" + loop,
                               "linked/back/top/: a link back to '" + fs::canonical(dir).string() + "'" + loop,
                               "linked/back/up/: a link back to '" + root.string() + "'" + loop,
                               "ping.mp4" + cycle,
                               "pipe.mp4 [other]: a FIFO (named pipe), not a file",
                               "pong.mp4" + cycle,
                           }));
}

TEST(FileTree, EnterDecidesWhichFoldersAreWalked) {
  const fs::path root = vifi::test::scratch_dir();
  touch(root / ".cache/hidden.mp4");
  touch(root / "keep/x.mp4");
  touch(root / "keep/.git/y.mp4");
  const Seen seen = walk(root, [](const fs::path& p) { return p.filename().string().front() != '.'; });
  EXPECT_EQ(seen.files, std::vector<std::string>{"keep/x.mp4"});
  EXPECT_EQ(seen.entered, (std::vector<std::string>{".cache", "keep", "keep/.git"}));
  EXPECT_TRUE(seen.problems.empty());
}

TEST(FileTree, AFolderThatCannotBeReadIsReportedAndTheWalkGoesOn) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every folder";
  const fs::path root = vifi::test::scratch_dir();
  touch(root / "closed/x.mp4");
  touch(root / "open/y.mp4");
  fs::permissions(root / "closed", fs::perms::none);
  const Seen seen = walk(root);
  fs::permissions(root / "closed", fs::perms::owner_all);
  EXPECT_EQ(seen.files, std::vector<std::string>{"open/y.mp4"});
  ASSERT_EQ(seen.problems.size(), 1U);
  EXPECT_EQ(seen.problems[0], "closed/: cannot be read (Permission denied)");
}

TEST(FileTree, ARootThatIsNotAReadableFolderThrowsNamingIt) {
  const fs::path dir = vifi::test::scratch_dir();
  touch(dir / "file.txt");
  FileTreeVisitor visitor;
  vifi::test::expect_error<std::runtime_error>([&] { walk_file_tree(dir / "missing", visitor); },
                                               {(dir / "missing").string() + ": cannot be read (No such file"});
  vifi::test::expect_error<std::runtime_error>([&] { walk_file_tree(dir / "file.txt", visitor); },
                                               {(dir / "file.txt").string() + ": not a folder"});
  fs::create_directory_symlink(dir / "nowhere", dir / "dangling");
  vifi::test::expect_error<std::runtime_error>([&] { walk_file_tree(dir / "dangling", visitor); },
                                               {(dir / "dangling").string() + ": cannot be read"});
}

}  // namespace
}  // namespace vifi::util

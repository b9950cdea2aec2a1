// Content hashes of path parameters (core/hash.h): what a folder's cache key
// line is a function of.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "core/hash.h"
#include "testing.h"

namespace wmgeom::testing {
namespace {

namespace fs = std::filesystem;

// A folder linked in from elsewhere (a ShapeNet category symlinked into the
// meshes folder) is read by the stages through the link, so its files are
// part of the hash: editing one behind the link changes it (before, the
// iterator did not follow folder links and the key stayed, a stale hit). A
// link back to a folder above is a cycle: hashed once, and the walk ends.
TEST(Hash, AFolderHashFollowsLinkedFoldersAndEndsAtCycles) {
  TempDir dir;
  fs::create_directories(dir / "real");
  fs::create_directories(dir / "tree" / "own");
  write_file(dir / "real" / "a.txt", "one");
  write_file(dir / "tree" / "own" / "b.txt", "two");
  fs::create_directory_symlink(dir / "real", dir / "tree" / "linked");
  fs::create_directory_symlink(dir / "tree", dir / "tree" / "own" / "up");
  const std::string before = hash_path_content(dir / "tree");
  write_file(dir / "real" / "a.txt", "uno");
  const std::string after = hash_path_content(dir / "tree");
  EXPECT_NE(after, before) << "a file behind a folder link is part of the hash";
  // The same tree with the folder copied in instead of linked: the same
  // files under the same names; the cycle adds nothing.
  fs::create_directories(dir / "copy" / "own");
  fs::create_directories(dir / "copy" / "linked");
  write_file(dir / "copy" / "own" / "b.txt", "two");
  write_file(dir / "copy" / "linked" / "a.txt", "uno");
  EXPECT_EQ(hash_path_content(dir / "copy"), after);
}

// The file names and contents are hashed with each file's size, so no two
// folders hash alike by moving bytes between a name and a content (without
// the size, {a.txt: "", b.txt: "x"} and {a.txt: "b.txt\0x"} hashed alike).
TEST(Hash, NoTwoFoldersHashAlikeByMovingBytesBetweenFiles) {
  TempDir dir;
  fs::create_directories(dir / "one");
  fs::create_directories(dir / "two");
  write_file(dir / "one" / "a.txt", "");
  write_file(dir / "one" / "b.txt", "x");
  write_file(dir / "two" / "a.txt", std::string("b.txt\0x", 7));
  EXPECT_NE(hash_path_content(dir / "one"), hash_path_content(dir / "two"));
  // A file is its bytes: the same content under another name hashes alike.
  write_file(dir / "c.bin", "x");
  EXPECT_EQ(hash_path_content(dir / "c.bin"), hash_path_content(dir / "one" / "b.txt"));
  EXPECT_THROW(hash_path_content(dir / "missing"), InputError);
}

// What a hash read (its stamp) tells later, by one stat per file, whether the
// contents are still the ones hashed: the executor refuses to store a result
// under a key whose files changed after the plan. Each kind of change is
// named with its file; a folder behind a link counts as the stages read it.
TEST(Hash, AStampNamesTheFirstFileChangedAddedOrRemovedSinceTheHash) {
  TempDir dir;
  fs::create_directories(dir / "tree" / "sub");
  fs::create_directories(dir / "real");
  write_file(dir / "tree" / "a.obj", "abc");
  write_file(dir / "tree" / "sub" / "b.obj", "def");
  write_file(dir / "real" / "c.obj", "ghi");
  fs::create_directory_symlink(dir / "real", dir / "tree" / "linked");
  ContentStamp stamp;
  const std::string hash = hash_path_content(dir / "tree", &stamp);
  EXPECT_EQ(hash, hash_path_content(dir / "tree")) << "the stamp does not change the hash";
  ASSERT_EQ(stamp.files.size(), 3U);
  EXPECT_EQ(content_changed(stamp), "");
  // Another size.
  write_file(dir / "tree" / "sub" / "b.obj", "defg");
  EXPECT_EQ(content_changed(stamp), (dir / "tree" / "sub/b.obj").string() + " was modified");
  write_file(dir / "tree" / "sub" / "b.obj", "def");
  hash_path_content(dir / "tree", &stamp);
  // The same size, a later modification time (an edit a second later; a
  // rewrite within the file system's timestamp tick that keeps the size is
  // not seen, core/hash.h).
  write_file(dir / "real" / "c.obj", "xyz");
  fs::last_write_time(dir / "real" / "c.obj",
                      fs::last_write_time(dir / "real" / "c.obj") + std::chrono::seconds(1));
  EXPECT_EQ(content_changed(stamp), (dir / "tree" / "linked/c.obj").string() + " was modified")
      << "a file behind a folder link is one the stages read";
  hash_path_content(dir / "tree", &stamp);
  // Replaced by a new file of the same size and time (another inode).
  const auto when = fs::last_write_time(dir / "tree" / "a.obj");
  write_file(dir / "tree" / "a2.obj", "ABC");
  fs::last_write_time(dir / "tree" / "a2.obj", when);
  fs::rename(dir / "tree" / "a2.obj", dir / "tree" / "a.obj");
  EXPECT_EQ(content_changed(stamp), (dir / "tree" / "a.obj").string() + " was modified");
  hash_path_content(dir / "tree", &stamp);
  write_file(dir / "tree" / "new.obj", "");
  EXPECT_EQ(content_changed(stamp), (dir / "tree" / "new.obj").string() + " was added");
  fs::remove(dir / "tree" / "new.obj");
  EXPECT_EQ(content_changed(stamp), "");
  fs::remove(dir / "tree" / "sub" / "b.obj");
  EXPECT_EQ(content_changed(stamp), (dir / "tree" / "sub/b.obj").string() + " was removed");
  // A single file.
  ContentStamp one;
  hash_path_content(dir / "tree" / "a.obj", &one);
  EXPECT_EQ(content_changed(one), "");
  write_file(dir / "tree" / "a.obj", "ABCD");
  EXPECT_EQ(content_changed(one), (dir / "tree" / "a.obj").string() + " was modified");
  fs::remove(dir / "tree" / "a.obj");
  EXPECT_EQ(content_changed(one), (dir / "tree" / "a.obj").string() + " was removed");
}

// Hidden files and folders are not data (no stage lists them): creating or
// editing one (a .git folder, .DS_Store) leaves a folder's hash, and its
// stamp, as they were.
TEST(Hash, HiddenFilesAndFoldersAreNotPartOfAFolder) {
  TempDir dir;
  fs::create_directories(dir / "tree" / "sub");
  write_file(dir / "tree" / "sub" / "a.obj", "abc");
  ContentStamp stamp;
  const std::string before = hash_path_content(dir / "tree", &stamp);
  fs::create_directories(dir / "tree" / ".git" / "objects");
  write_file(dir / "tree" / ".git" / "index", "x");
  write_file(dir / "tree" / ".git" / "objects" / "a.obj", "not a mesh");
  write_file(dir / "tree" / "sub" / ".DS_Store", "y");
  EXPECT_EQ(hash_path_content(dir / "tree"), before);
  EXPECT_EQ(content_changed(stamp), "");
  write_file(dir / "tree" / ".git" / "index", "xx");
  EXPECT_EQ(content_changed(stamp), "");
  write_file(dir / "tree" / "sub" / "b.obj", "");
  EXPECT_NE(hash_path_content(dir / "tree"), before) << "a visible file is data";
  EXPECT_TRUE(hidden_name(".git"));
  EXPECT_FALSE(hidden_name("a.obj"));
  EXPECT_FALSE(hidden_name(fs::path("tree") / "."));
}

}  // namespace
}  // namespace wmgeom::testing

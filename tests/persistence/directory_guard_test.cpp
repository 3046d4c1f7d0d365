// A store directory mishandled from outside: its data file deleted while LMDB's lock file
// stays (Store::open must not start an empty store there), and two users at once
// (DirectoryLock refuses the second and names the first).

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "mgraph/persistence/directory_lock.hpp"
#include "mgraph/persistence/store.hpp"
#include "support/store_fixture.hpp"
#include "support/temp_dir.hpp"

namespace mgraph::persistence {
namespace {

using testing::TempDir;

TEST(DirectoryGuard, ADeletedDataFileIsRefusedAtOpen) {
  TempDir dir;
  const std::string store_dir = dir.sub("store");
  {
    auto store = Store::open(store_dir, testing::fast_options());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  }
  ASSERT_TRUE(std::filesystem::exists(store_dir + "/lock.mdb"));
  std::filesystem::remove(store_dir + "/data.mdb");
  auto reopened = Store::open(store_dir, testing::fast_options());
  ASSERT_FALSE(reopened.is_ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::failed_precondition);
  EXPECT_NE(reopened.status().message().find(store_dir + "/data.mdb: missing, but " + store_dir +
                                             "/lock.mdb is there"),
            std::string::npos)
      << reopened.status().message();
  EXPECT_FALSE(std::filesystem::exists(store_dir + "/data.mdb"));
  // An empty directory, or one holding only unrelated files, is where a store is created.
  std::filesystem::remove(store_dir + "/lock.mdb");
  std::ofstream(store_dir + "/notes.txt") << "x";
  EXPECT_TRUE(Store::open(store_dir, testing::fast_options()).is_ok());
}

TEST(DirectoryGuard, ASecondLockIsRefusedNamingTheHolder) {
  TempDir dir;
  const std::string store_dir = dir.sub("store");  // created by the lock
  auto first = DirectoryLock::acquire(store_dir);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->path(), store_dir + "/mgraph.lock");
  std::ifstream pid_file(first->path());
  pid_t written = 0;
  pid_file >> written;
  EXPECT_EQ(written, ::getpid());

  auto second = DirectoryLock::acquire(store_dir);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::failed_precondition);
  EXPECT_NE(second.status().message().find(store_dir + " is in use by process " +
                                           std::to_string(::getpid())),
            std::string::npos)
      << second.status().message();

  // Released with its holder, moved or destroyed; the file stays.
  DirectoryLock moved = std::move(first).value();
  EXPECT_FALSE(DirectoryLock::acquire(store_dir).is_ok());
  { DirectoryLock gone = std::move(moved); }
  EXPECT_TRUE(DirectoryLock::acquire(store_dir).is_ok());
  EXPECT_TRUE(std::filesystem::exists(store_dir + "/mgraph.lock"));
}

TEST(DirectoryGuard, ALockOnAFileOrAMissingParentFails) {
  TempDir dir;
  std::ofstream(dir.sub("file")) << "x";
  auto on_file = DirectoryLock::acquire(dir.sub("file"));
  ASSERT_FALSE(on_file.is_ok());
  EXPECT_NE(on_file.status().message().find(dir.sub("file")), std::string::npos);
  auto no_parent = DirectoryLock::acquire(dir.sub("absent/store"));
  ASSERT_FALSE(no_parent.is_ok());
  EXPECT_EQ(no_parent.status().code(), StatusCode::not_found);
}

}  // namespace
}  // namespace mgraph::persistence

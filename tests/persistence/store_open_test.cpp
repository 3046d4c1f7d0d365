#include <gtest/gtest.h>

#include <filesystem>

#include "mgraph/persistence/store.hpp"
#include "support/store_fixture.hpp"
#include "support/temp_dir.hpp"

namespace mgraph::persistence {
namespace {

using testing::TempDir;

TEST(StoreOpen, CreatesANewStoreWithItsMetaRecords) {
  TempDir dir;
  auto store = Store::open(dir.sub("store"), testing::fast_options());
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  const StoreInfo info = (*store)->info();
  EXPECT_EQ(info.format_version, format_version);
  EXPECT_EQ(info.data_file, dir.sub("store") + "/data.mdb");
  EXPECT_EQ(info.created_by.rfind("mgraph", 0), 0u) << info.created_by;
  EXPECT_GT(info.created_time_ns, 0u);
  EXPECT_EQ(info.map_size_bytes, StoreOptions().map_size_initial_bytes);
  EXPECT_EQ(info.durability, Durability::nosync);
  auto last = (*store)->last_epoch();
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(*last, 0u);
  auto report = (*store)->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(report->meta_entries, 4u);  // magic, format_version, created_time_ns, created_by
}

TEST(StoreOpen, ReopeningKeepsTheCreationInfo) {
  TempDir dir;
  StoreInfo first;
  {
    auto store = Store::open(dir.sub("store"));
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    first = (*store)->info();
  }
  auto store = Store::open(dir.sub("store"));
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ((*store)->info().created_time_ns, first.created_time_ns);
  EXPECT_EQ((*store)->info().created_by, first.created_by);
  EXPECT_EQ((*store)->info().durability, Durability::sync);
}

TEST(StoreOpen, FailsWithNotFoundWhenTheStoreIsMissingAndCreationIsOff) {
  TempDir dir;
  StoreOptions options;
  options.create_if_missing = false;
  auto missing_dir = Store::open(dir.sub("absent"), options);
  ASSERT_FALSE(missing_dir.is_ok());
  EXPECT_EQ(missing_dir.status().code(), StatusCode::not_found);
  EXPECT_NE(missing_dir.status().message().find(dir.sub("absent")), std::string::npos);

  std::filesystem::create_directory(dir.sub("empty"));
  auto empty_dir = Store::open(dir.sub("empty"), options);
  ASSERT_FALSE(empty_dir.is_ok());
  EXPECT_EQ(empty_dir.status().code(), StatusCode::not_found);
  EXPECT_NE(empty_dir.status().message().find("data.mdb"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.sub("empty") + "/data.mdb"));
}

TEST(StoreOpen, RejectsInvalidOptions) {
  TempDir dir;
  StoreOptions tiny;
  tiny.map_size_initial_bytes = 4096;
  EXPECT_EQ(Store::open(dir.sub("a"), tiny).status().code(), StatusCode::invalid_argument);
  StoreOptions inverted;
  inverted.map_size_max_bytes = inverted.map_size_initial_bytes / 2;
  EXPECT_EQ(Store::open(dir.sub("b"), inverted).status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(Store::open("", StoreOptions()).status().code(), StatusCode::invalid_argument);
}

TEST(StoreOpen, RefusesAPathThatIsAFile) {
  TempDir dir;
  {
    std::FILE* f = std::fopen(dir.sub("file").c_str(), "w");
    std::fclose(f);
  }
  auto store = Store::open(dir.sub("file"));
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::invalid_argument);
}

}  // namespace
}  // namespace mgraph::persistence

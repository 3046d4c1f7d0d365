#pragma once
// A GoogleTest fixture owning a temporary store directory, and assertions for Status.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mgraph/persistence/store.hpp"
#include "support/temp_dir.hpp"

#define MG_ASSERT_OK(expr)                                     \
  do {                                                         \
    const ::mgraph::Status mg_status_ = (expr);                \
    ASSERT_TRUE(mg_status_.is_ok()) << mg_status_.to_string(); \
  } while (0)

#define MG_EXPECT_OK(expr)                                     \
  do {                                                         \
    const ::mgraph::Status mg_status_ = (expr);                \
    EXPECT_TRUE(mg_status_.is_ok()) << mg_status_.to_string(); \
  } while (0)

namespace mgraph::persistence::testing {

/// Options of most tests: nosync, since they do not cut power; durability has its own tests.
inline StoreOptions fast_options() {
  StoreOptions options;
  options.durability = Durability::nosync;
  return options;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(fast_options()); }

  /// Closes the store (if open) and opens the directory again.
  void open(const StoreOptions& options) {
    store_.reset();
    auto store = Store::open(dir_.sub("store"), options);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }
  void reopen() { open(fast_options()); }

  std::string store_dir() const { return dir_.sub("store"); }
  std::string data_file() const { return dir_.sub("store") + "/data.mdb"; }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace mgraph::persistence::testing

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mgraph/persistence/log_writer.hpp"
#include "mgraph/persistence/store.hpp"
#include "support/store_fixture.hpp"

namespace mgraph::persistence {
namespace {

using testing::StoreTest;

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

StoreOptions small_map(std::uint64_t max_bytes) {
  StoreOptions options = testing::fast_options();
  options.map_size_initial_bytes = map_size_min_bytes;
  options.map_size_max_bytes = max_bytes;
  return options;
}

std::string payload(std::uint64_t epoch, std::size_t size) {
  std::string bytes(size, static_cast<char>('a' + epoch % 26));
  bytes[0] = static_cast<char>(epoch);
  return bytes;
}

class MapGrowth : public StoreTest {};

TEST_F(MapGrowth, GrowsTheMapTransparentlyWhenItIsFull) {
  open(small_map(256 * mib));
  const std::uint64_t initial = store_->info().map_size_bytes;
  auto writer = LogWriter::create(*store_, LogWriterOptions{16, 1u << 20});
  ASSERT_TRUE(writer.is_ok());
  const std::uint64_t epochs = 1000;  // 1000 * 8 KiB = 8 MiB, 32 times the initial map
  for (std::uint64_t epoch = 1; epoch <= epochs; ++epoch) {
    MG_ASSERT_OK(writer->append(epoch, epoch, payload(epoch, 8192)));
  }
  MG_ASSERT_OK(writer->flush());
  const StoreInfo info = store_->info();
  EXPECT_GE(info.map_growth_count, 5u);
  EXPECT_GE(info.map_size_bytes, initial * 32);
  EXPECT_LE(info.map_size_bytes, info.map_size_max_bytes);
  open(small_map(256 * mib));  // reopening a store larger than the initial map works
  std::vector<LogEntry> entries;
  MG_ASSERT_OK(store_->read_log(0, 2000, entries));
  ASSERT_EQ(entries.size(), epochs);
  for (std::uint64_t i = 0; i < epochs; ++i) ASSERT_EQ(entries[i].batch, payload(i + 1, 8192));
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
}

TEST_F(MapGrowth, OneWriteMayNeedSeveralDoublings) {
  open(small_map(64 * mib));
  WriteBatch batch;
  batch.append_log(1, 0, std::string(6 * mib, 'x'));  // 24 times the initial map
  MG_ASSERT_OK(store_->write(batch));
  EXPECT_GE(store_->info().map_growth_count, 5u);
  auto entry = store_->log_entry(1);
  ASSERT_TRUE(entry.is_ok() && entry->has_value());
  EXPECT_EQ((*entry)->batch.size(), 6 * mib);
}

TEST_F(MapGrowth, FailsClearlyAtMapSizeMaxAndKeepsTheStoreUsable) {
  open(small_map(2 * mib));
  std::uint64_t epoch = 0;
  Status failed;
  for (int i = 0; i < 100 && failed.is_ok(); ++i) {
    WriteBatch batch;
    batch.append_log(++epoch, 0, std::string(256 * 1024, 'y'));
    failed = store_->write(batch);
  }
  ASSERT_EQ(failed.code(), StatusCode::out_of_range) << failed.to_string();
  EXPECT_NE(failed.message().find("map_size_max_bytes"), std::string::npos) << failed.message();
  EXPECT_NE(failed.message().find("data.mdb"), std::string::npos);
  EXPECT_EQ(store_->info().map_size_bytes, 2 * mib);
  auto last = store_->last_epoch();
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(*last, epoch - 1);  // the failed write left nothing behind
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(report->log_entries, epoch - 1);
  open(small_map(64 * mib));  // a larger bound lets the same write through
  WriteBatch batch;
  batch.append_log(epoch, 0, std::string(256 * 1024, 'y'));
  MG_ASSERT_OK(store_->write(batch));
}

}  // namespace
}  // namespace mgraph::persistence

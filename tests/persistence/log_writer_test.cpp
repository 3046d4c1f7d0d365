#include "mgraph/persistence/log_writer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/store_fixture.hpp"

namespace mgraph::persistence {
namespace {

using testing::StoreTest;

class LogWriterTest : public StoreTest {
 protected:
  LogWriter make_writer(std::size_t batch_size_max) {
    auto writer = LogWriter::create(*store_, LogWriterOptions{batch_size_max, 1u << 20});
    MG_ASSERT(writer.is_ok());
    return std::move(writer).value();
  }
};

TEST_F(LogWriterTest, ReportsAnAppendDurableOnlyAfterItsBatchCommits) {
  LogWriter writer = make_writer(100);
  std::vector<std::uint64_t> reported;
  writer.set_on_durable([&](std::uint64_t epoch) { reported.push_back(epoch); });
  for (std::uint64_t epoch = 1; epoch <= 10; ++epoch) {
    MG_ASSERT_OK(writer.append(epoch, epoch, "batch"));
    EXPECT_EQ(writer.durable_epoch(), 0u);
  }
  EXPECT_TRUE(reported.empty());
  auto before = store_->last_epoch();
  ASSERT_TRUE(before.is_ok());
  EXPECT_EQ(*before, 0u);  // nothing committed yet

  MG_ASSERT_OK(writer.flush());
  EXPECT_EQ(writer.durable_epoch(), 10u);
  EXPECT_EQ(reported, std::vector<std::uint64_t>{10});
  EXPECT_EQ(writer.commit_count(), 1u);  // one transaction for the ten appends
  auto after = store_->last_epoch();
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(*after, 10u);
}

TEST_F(LogWriterTest, FlushesByItselfWhenTheBatchReachesBatchSizeMax) {
  LogWriter writer = make_writer(4);
  std::vector<std::uint64_t> reported;
  writer.set_on_durable([&](std::uint64_t epoch) { reported.push_back(epoch); });
  for (std::uint64_t epoch = 1; epoch <= 10; ++epoch) MG_ASSERT_OK(writer.append(epoch, 0, "b"));
  EXPECT_EQ(reported, (std::vector<std::uint64_t>{4, 8}));
  EXPECT_EQ(writer.pending_count(), 2u);
  EXPECT_EQ(writer.durable_epoch(), 8u);
  MG_ASSERT_OK(writer.flush());
  MG_ASSERT_OK(writer.flush());  // nothing pending: no commit
  EXPECT_EQ(writer.commit_count(), 3u);
  EXPECT_EQ(reported.back(), 10u);
}

TEST_F(LogWriterTest, RejectsAnOutOfOrderEpochWithoutQueueingIt) {
  LogWriter writer = make_writer(10);
  MG_ASSERT_OK(writer.append(3, 0, "three"));
  EXPECT_EQ(writer.append(3, 0, "again").code(), StatusCode::invalid_argument);
  EXPECT_EQ(writer.append(2, 0, "older").code(), StatusCode::invalid_argument);
  EXPECT_EQ(writer.pending_count(), 1u);
  MG_ASSERT_OK(writer.flush());
  EXPECT_EQ(writer.durable_epoch(), 3u);
}

TEST_F(LogWriterTest, ContinuesAfterTheStoresLastEpoch) {
  {
    LogWriter writer = make_writer(10);
    MG_ASSERT_OK(writer.append(41, 0, "x"));
    MG_ASSERT_OK(writer.flush());
  }
  reopen();
  LogWriter writer = make_writer(10);
  EXPECT_EQ(writer.durable_epoch(), 41u);
  EXPECT_EQ(writer.append(41, 0, "y").code(), StatusCode::invalid_argument);
  MG_ASSERT_OK(writer.append(42, 0, "y"));
}

TEST_F(LogWriterTest, SyncModeRoundTripsThroughReopen) {
  StoreOptions options;  // sync
  open(options);
  LogWriter writer = make_writer(3);
  for (std::uint64_t epoch = 1; epoch <= 7; ++epoch) {
    std::string batch = "e";  // (not "e" + ...: GCC 12 warns falsely, -Wrestrict)
    batch += std::to_string(epoch);
    MG_ASSERT_OK(writer.append(epoch, epoch * 2, batch));
  }
  MG_ASSERT_OK(writer.flush());
  open(options);
  std::vector<LogEntry> entries;
  MG_ASSERT_OK(store_->read_log(0, 100, entries));
  ASSERT_EQ(entries.size(), 7u);
  EXPECT_EQ(entries[6], (LogEntry{7, 14, "e7"}));
}

TEST_F(LogWriterTest, KeepsThePendingBatchWhenACommitFails) {
  StoreOptions small = testing::fast_options();
  small.map_size_initial_bytes = map_size_min_bytes;
  small.map_size_max_bytes = map_size_min_bytes;  // no room to grow
  open(small);
  LogWriter writer = make_writer(1000);
  const std::string big(16 * 1024, 'x');
  Status failed;
  std::uint64_t epoch = 0;
  for (int i = 0; i < 100 && failed.is_ok(); ++i) {
    failed = writer.append(++epoch, 0, big);
    if (failed.is_ok() && epoch % 4 == 0) failed = writer.flush();
  }
  ASSERT_EQ(failed.code(), StatusCode::out_of_range) << failed.to_string();
  EXPECT_NE(failed.message().find("map_size_max_bytes"), std::string::npos);
  EXPECT_GT(writer.pending_count(), 0u);
  EXPECT_LT(writer.durable_epoch(), epoch);
  auto last = store_->last_epoch();
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(*last, writer.durable_epoch());  // the failed batch left no trace
  writer.discard_pending();
  EXPECT_EQ(writer.pending_count(), 0u);
  EXPECT_EQ(writer.last_appended_epoch(), writer.durable_epoch());
}

TEST_F(LogWriterTest, RejectsInvalidOptions) {
  EXPECT_EQ(LogWriter::create(*store_, LogWriterOptions{0, 1}).status().code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(
      LogWriter::create(*store_, LogWriterOptions{write_batch_ops_max + 1, 1}).status().code(),
      StatusCode::invalid_argument);
}

}  // namespace
}  // namespace mgraph::persistence

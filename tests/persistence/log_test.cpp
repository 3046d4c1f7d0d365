#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mgraph/persistence/store.hpp"
#include "support/store_fixture.hpp"

namespace mgraph::persistence {
namespace {

using testing::StoreTest;

class Log : public StoreTest {};

std::string binary_batch(std::uint64_t epoch) {
  std::string batch;
  for (std::uint64_t i = 0; i < epoch % 50; ++i) batch.push_back(static_cast<char>(i * epoch));
  batch.push_back('\0');  // embedded zero bytes survive
  return batch;
}

TEST_F(Log, RoundTripsEntriesWithTheirTimeAndBytes) {
  WriteBatch batch;
  for (std::uint64_t epoch = 1; epoch <= 100; ++epoch) {
    batch.append_log(epoch, epoch * 1000 + 7, binary_batch(epoch));
  }
  batch.append_log(101, 0, "");  // an epoch without inputs
  MG_ASSERT_OK(store_->write(batch));
  reopen();
  auto last = store_->last_epoch();
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(*last, 101u);
  for (std::uint64_t epoch = 1; epoch <= 100; ++epoch) {
    auto entry = store_->log_entry(epoch);
    ASSERT_TRUE(entry.is_ok()) << entry.status().to_string();
    ASSERT_TRUE(entry->has_value());
    EXPECT_EQ(**entry, (LogEntry{epoch, epoch * 1000 + 7, binary_batch(epoch)}));
  }
  auto empty = store_->log_entry(101);
  ASSERT_TRUE(empty.is_ok() && empty->has_value());
  EXPECT_TRUE((*empty)->batch.empty());
  auto absent = store_->log_entry(102);
  ASSERT_TRUE(absent.is_ok());
  EXPECT_FALSE(absent->has_value());
}

TEST_F(Log, RejectsAnEpochNotAfterTheLastOneAndWritesNothingOfTheBatch) {
  WriteBatch first;
  first.append_log(5, 0, "five");
  MG_ASSERT_OK(store_->write(first));

  for (std::uint64_t bad : {5u, 4u}) {
    WriteBatch batch;
    batch.append_log(bad, 0, "again");
    const Status s = store_->write(batch);
    EXPECT_EQ(s.code(), StatusCode::invalid_argument) << s.to_string();
    EXPECT_NE(s.message().find("not after the last logged epoch 5"), std::string::npos);
    EXPECT_NE(s.message().find("data.mdb"), std::string::npos);
  }
  WriteBatch out_of_order;  // valid start, then a step back inside the batch
  out_of_order.append_log(6, 0, "six");
  out_of_order.append_log(8, 0, "eight");
  out_of_order.append_log(7, 0, "seven");
  EXPECT_EQ(store_->write(out_of_order).code(), StatusCode::invalid_argument);
  auto last = store_->last_epoch();
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(*last, 5u);  // all or nothing
  auto six = store_->log_entry(6);
  ASSERT_TRUE(six.is_ok());
  EXPECT_FALSE(six->has_value());

  WriteBatch zero;
  zero.append_log(0, 0, "");
  EXPECT_EQ(store_->write(zero).code(), StatusCode::invalid_argument);
}

TEST_F(Log, AllowsGapsBetweenEpochs) {
  WriteBatch batch;
  batch.append_log(1, 0, "a");
  batch.append_log(10, 0, "b");
  batch.append_log(1000000, 0, "c");
  MG_ASSERT_OK(store_->write(batch));
  std::vector<LogEntry> entries;
  MG_ASSERT_OK(store_->read_log(0, 10, entries));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].epoch, 10u);
  EXPECT_EQ(entries[2].epoch, 1000000u);
}

TEST_F(Log, CursorYieldsEveryEntryAfterItsStartInBoundedChunks) {
  for (std::uint64_t round = 0; round < 5; ++round) {
    WriteBatch batch;
    for (std::uint64_t i = 1; i <= 200; ++i) {
      const std::uint64_t epoch = round * 200 + i;
      batch.append_log(epoch, epoch, std::to_string(epoch));
    }
    MG_ASSERT_OK(store_->write(batch));
  }
  for (std::uint64_t start : {0u, 1u, 499u, 999u, 1000u, 5000u}) {
    LogCursor cursor = store_->log_cursor(start, 7);
    std::uint64_t expected = start + 1;
    for (int i = 0; i < 2000; ++i) {
      auto entry = cursor.next();
      ASSERT_TRUE(entry.is_ok()) << entry.status().to_string();
      if (*entry == nullptr) break;
      ASSERT_EQ((*entry)->epoch, expected);
      ASSERT_EQ((*entry)->batch, std::to_string(expected));
      ++expected;
    }
    EXPECT_EQ(expected, std::max<std::uint64_t>(start, 1000) + 1) << "start " << start;
  }
}

TEST_F(Log, ReadLogStopsAtItsEntryBound) {
  WriteBatch batch;
  for (std::uint64_t epoch = 1; epoch <= 50; ++epoch) batch.append_log(epoch, 0, "x");
  MG_ASSERT_OK(store_->write(batch));
  std::vector<LogEntry> entries(3);  // existing contents are replaced
  MG_ASSERT_OK(store_->read_log(10, 20, entries));
  ASSERT_EQ(entries.size(), 20u);
  EXPECT_EQ(entries.front().epoch, 11u);
  EXPECT_EQ(entries.back().epoch, 30u);
  EXPECT_EQ(store_->read_log(0, 0, entries).code(), StatusCode::invalid_argument);
  EXPECT_EQ(store_->read_log(0, read_entries_max + 1, entries).code(),
            StatusCode::invalid_argument);
}

TEST_F(Log, CursorSeesEntriesAppendedAfterItReachedTheEnd) {
  WriteBatch first;
  first.append_log(1, 0, "one");
  MG_ASSERT_OK(store_->write(first));
  LogCursor cursor = store_->log_cursor(0);
  auto one = cursor.next();
  ASSERT_TRUE(one.is_ok() && *one != nullptr);
  auto end = cursor.next();
  ASSERT_TRUE(end.is_ok());
  EXPECT_EQ(*end, nullptr);
  WriteBatch second;
  second.append_log(2, 0, "two");
  MG_ASSERT_OK(store_->write(second));
  auto two = cursor.next();
  ASSERT_TRUE(two.is_ok() && *two != nullptr);
  EXPECT_EQ((*two)->batch, "two");
}

TEST_F(Log, RejectsOversizedBatchesWithOutOfRange) {
  WriteBatch batch;
  batch.append_log(1, 0, std::string(log_batch_bytes_max + 1, 'x'));
  const Status s = store_->write(batch);
  EXPECT_EQ(s.code(), StatusCode::out_of_range) << s.to_string();
}

TEST_F(Log, EmptyWriteBatchCommitsNothing) {
  MG_ASSERT_OK(store_->write(WriteBatch()));
  auto last = store_->last_epoch();
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(*last, 0u);
}

}  // namespace
}  // namespace mgraph::persistence

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mgraph/persistence/store.hpp"
#include "support/store_fixture.hpp"

namespace mgraph::persistence {
namespace {

using testing::StoreTest;

class Ledger : public StoreTest {
 protected:
  /// Writes history version `version` of the effect field (effects always keep history).
  void effect_version(std::uint64_t field, std::uint64_t version, std::uint64_t epoch) {
    WriteBatch batch;
    batch.put_history(HistoryEntry{field, version, epoch, epoch, "true"});
    MG_ASSERT_OK(store_->write(batch));
  }
  Status put(const LedgerEntry& entry) {
    WriteBatch batch;
    batch.put_ledger(entry);
    return store_->write(batch);
  }
};

TEST_F(Ledger, RoundTripsEveryRecordKind) {
  effect_version(5, 1, 10);
  const std::vector<LedgerEntry> trail = {
      {5, 1, 0, LedgerKind::transition, 10, 100, "false->true"},
      {5, 1, 1, LedgerKind::delivery_attempt, 10, 110, "consumer-a"},
      {5, 1, 2, LedgerKind::delivery_failure, 10, 120, "timeout after 5000 ms"},
      {5, 1, 3, LedgerKind::delivery_attempt, 11, 130, "consumer-a"},
      {5, 1, 4, LedgerKind::dead_letter, 11, 140, "retries exhausted"},
      {5, 1, 5, LedgerKind::dead_letter_retry, 12, 150, "operator"},
      {5, 1, 6, LedgerKind::ack, 12, 160, ""},
  };
  for (const LedgerEntry& entry : trail) MG_ASSERT_OK(put(entry));
  reopen();
  auto read = store_->audit_trail(5);
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(*read, trail);
  EXPECT_STREQ(ledger_kind_name(LedgerKind::dead_letter_retry), "dead_letter_retry");
}

TEST_F(Ledger, AuditTrailListsEveryVersionInOrderAndPages) {
  WriteBatch batch;
  for (std::uint64_t version = 1; version <= 3; ++version) {
    batch.put_history(HistoryEntry{8, version, version, 0, "v"});
    batch.put_ledger(LedgerEntry{8, version, 0, LedgerKind::transition, version, 0, ""});
    batch.put_ledger(LedgerEntry{8, version, 1, LedgerKind::delivery_attempt, version, 0, ""});
    batch.put_ledger(LedgerEntry{8, version, 2, LedgerKind::ack, version, 0, ""});
  }
  batch.put_history(HistoryEntry{9, 1, 1, 0, "other effect"});
  batch.put_ledger(LedgerEntry{9, 1, 0, LedgerKind::transition, 1, 0, ""});
  MG_ASSERT_OK(store_->write(batch));  // history and ledger of one commit, in one transaction
  auto all = store_->audit_trail(8);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 9u);
  for (std::size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].version, i / 3 + 1);
    EXPECT_EQ((*all)[i].seq, i % 3);
  }
  auto page = store_->audit_trail(8, 2, 1, 4);  // from (version 2, seq 1), four records
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->size(), 4u);
  EXPECT_EQ(page->front().version, 2u);
  EXPECT_EQ(page->front().seq, 1u);
  EXPECT_EQ(page->back().version, 3u);
  EXPECT_EQ(page->back().seq, 1u);
}

TEST_F(Ledger, FirstRecordOfAVersionMustBeATransitionWithHistory) {
  const Status without_history = put(LedgerEntry{4, 1, 0, LedgerKind::transition, 1, 0, ""});
  EXPECT_EQ(without_history.code(), StatusCode::invalid_argument) << without_history.to_string();
  EXPECT_NE(without_history.message().find("history"), std::string::npos);
  effect_version(4, 1, 1);
  const Status ack_first = put(LedgerEntry{4, 1, 0, LedgerKind::ack, 1, 0, ""});
  EXPECT_EQ(ack_first.code(), StatusCode::invalid_argument) << ack_first.to_string();
  MG_ASSERT_OK(put(LedgerEntry{4, 1, 0, LedgerKind::transition, 1, 0, ""}));
  EXPECT_EQ(put(LedgerEntry{4, 1, 1, LedgerKind::transition, 1, 0, ""}).code(),
            StatusCode::invalid_argument);
}

TEST_F(Ledger, RejectsSequenceNumbersNotAfterTheLastOne) {
  effect_version(4, 1, 1);
  MG_ASSERT_OK(put(LedgerEntry{4, 1, 5, LedgerKind::transition, 1, 0, ""}));
  EXPECT_EQ(put(LedgerEntry{4, 1, 5, LedgerKind::ack, 1, 0, ""}).code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(put(LedgerEntry{4, 1, 3, LedgerKind::ack, 1, 0, ""}).code(),
            StatusCode::invalid_argument);
  MG_ASSERT_OK(put(LedgerEntry{4, 1, 6, LedgerKind::ack, 1, 0, ""}));
}

TEST_F(Ledger, ABatchWithOneBadRecordWritesNothing) {
  WriteBatch batch;
  batch.append_log(1, 0, "epoch");
  batch.put_history(HistoryEntry{4, 1, 1, 0, "v"});
  batch.put_ledger(LedgerEntry{4, 1, 0, LedgerKind::transition, 1, 0, ""});
  batch.put_ledger(LedgerEntry{4, 2, 0, LedgerKind::transition, 1, 0, "no history for v2"});
  EXPECT_EQ(store_->write(batch).code(), StatusCode::invalid_argument);
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->log_entries + report->history_entries + report->ledger_entries, 0u);
}

TEST_F(Ledger, RejectsAnUnknownKind) {
  effect_version(4, 1, 1);
  EXPECT_EQ(put(LedgerEntry{4, 1, 0, static_cast<LedgerKind>(0), 1, 0, ""}).code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(
      put(LedgerEntry{4, 1, 0, static_cast<LedgerKind>(ledger_kind_max + 1), 1, 0, ""}).code(),
      StatusCode::invalid_argument);
}

}  // namespace
}  // namespace mgraph::persistence

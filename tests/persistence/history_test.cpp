#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "mgraph/persistence/store.hpp"
#include "support/field_writes.hpp"
#include "support/store_fixture.hpp"

namespace mgraph::persistence {
namespace {

using testing::StoreTest;

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

class History : public StoreTest {
 protected:
  Status put(std::uint64_t field, std::uint64_t version, std::uint64_t epoch,
             std::string value = "") {
    WriteBatch batch;
    if (value.empty()) value = "f" + std::to_string(field) + "v" + std::to_string(version);
    batch.put_history(HistoryEntry{field, version, epoch, epoch * 10, value});
    return store_->write(batch);
  }
  /// Version of the field's value at `epoch`, 0 when it had none.
  std::uint64_t version_at(std::uint64_t field, std::uint64_t epoch) {
    auto entry = store_->value_at(field, epoch);
    MG_ASSERT_MSG(entry.is_ok(), entry.status().to_string().c_str());
    return entry->has_value() ? (*entry)->version : 0;
  }
};

TEST_F(History, ValueAtIsTheLatestVersionAtOrBeforeTheEpoch) {
  // Versions 1..5 at epochs 10, 20, 20, 35, 50 (two versions in one epoch).
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> versions = {
      {1, 10}, {2, 20}, {3, 20}, {4, 35}, {5, 50}};
  for (auto [version, epoch] : versions) MG_ASSERT_OK(put(7, version, epoch));
  EXPECT_EQ(version_at(7, 9), 0u);
  EXPECT_EQ(version_at(7, 10), 1u);
  EXPECT_EQ(version_at(7, 19), 1u);
  EXPECT_EQ(version_at(7, 20), 3u);
  EXPECT_EQ(version_at(7, 34), 3u);
  EXPECT_EQ(version_at(7, 35), 4u);
  EXPECT_EQ(version_at(7, 49), 4u);
  EXPECT_EQ(version_at(7, 50), 5u);
  EXPECT_EQ(version_at(7, u64_max), 5u);
  auto entry = store_->value_at(7, 36);
  ASSERT_TRUE(entry.is_ok() && entry->has_value());
  EXPECT_EQ(**entry, (HistoryEntry{7, 4, 35, 350, "f7v4"}));
  EXPECT_EQ(version_at(8, 100), 0u);  // a field without history
}

TEST_F(History, ValueAtAgreesWithALinearScanOnSparseVersions) {
  testing::Prng prng(3);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> versions;  // (version, epoch)
  std::uint64_t version = 0, epoch = 0;
  for (int i = 0; i < 300; ++i) {
    version += 1 + prng.below(i % 10 == 0 ? 1'000'000 : 3);
    epoch += prng.below(4);
    versions.emplace_back(version, epoch);
  }
  WriteBatch batch;
  for (auto [v, e] : versions) batch.put_history(HistoryEntry{42, v, e, 0, "x"});
  MG_ASSERT_OK(store_->write(batch));
  for (std::uint64_t e = 0; e <= epoch + 1; ++e) {
    std::uint64_t expected = 0;
    for (auto [v, ve] : versions) {
      if (ve <= e) expected = v;
    }
    ASSERT_EQ(version_at(42, e), expected) << "epoch " << e;
  }
}

TEST_F(History, FieldsWithAdjacentIdsDoNotLeakIntoEachOther) {
  for (std::uint64_t field :
       {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{256}, u64_max - 1, u64_max}) {
    MG_ASSERT_OK(put(field, 1, 5));
    MG_ASSERT_OK(put(field, u64_max, 9));  // the largest version is valid too
  }
  for (std::uint64_t field :
       {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{256}, u64_max - 1, u64_max}) {
    EXPECT_EQ(version_at(field, 4), 0u);
    EXPECT_EQ(version_at(field, 5), 1u);
    EXPECT_EQ(version_at(field, 9), u64_max);
    auto all = store_->history(field);
    ASSERT_TRUE(all.is_ok());
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].field_id, field);
    EXPECT_EQ((*all)[1].field_id, field);
  }
  EXPECT_EQ(version_at(0, 100), 0u);
  EXPECT_EQ(version_at(3, 100), 0u);
}

TEST_F(History, FullHistoryComesInVersionOrderPageByPage) {
  WriteBatch batch;
  for (std::uint64_t v = 1; v <= 25; ++v) {
    batch.put_history(HistoryEntry{9, v * 2, v, v, std::string(v, 'z')});
  }
  MG_ASSERT_OK(store_->write(batch));
  reopen();
  std::vector<HistoryEntry> all;
  std::uint64_t from = 0;
  for (int page = 0; page < 10; ++page) {
    auto entries = store_->history(9, from, 10);
    ASSERT_TRUE(entries.is_ok());
    if (entries->empty()) break;
    EXPECT_LE(entries->size(), 10u);
    all.insert(all.end(), entries->begin(), entries->end());
    from = entries->back().version + 1;
  }
  ASSERT_EQ(all.size(), 25u);
  for (std::uint64_t i = 0; i < 25; ++i) {
    EXPECT_EQ(all[i], (HistoryEntry{9, (i + 1) * 2, i + 1, i + 1, std::string(i + 1, 'z')}));
  }
  EXPECT_EQ(store_->history(9, 0, 0).status().code(), StatusCode::invalid_argument);
}

TEST_F(History, DropBeforeDeletesOnlyTheFieldsOlderVersions) {
  for (std::uint64_t v = 1; v <= 20; ++v) {
    MG_ASSERT_OK(put(5, v, v));
    MG_ASSERT_OK(put(4, v, v));  // neighbours on both sides keep everything
    MG_ASSERT_OK(put(6, v, v));
  }
  MG_ASSERT_OK(store_->drop_history_before(5, 12));
  reopen();
  auto left = store_->history(5);
  ASSERT_TRUE(left.is_ok());
  ASSERT_EQ(left->size(), 9u);
  EXPECT_EQ(left->front().version, 12u);
  EXPECT_EQ(left->back().version, 20u);
  EXPECT_EQ(version_at(5, 11), 0u);  // the value before the bound is gone
  EXPECT_EQ(version_at(5, 12), 12u);
  EXPECT_EQ(store_->history(4)->size(), 20u);
  EXPECT_EQ(store_->history(6)->size(), 20u);
  MG_ASSERT_OK(store_->drop_history_before(5, 3));  // below what is left: nothing to do
  EXPECT_EQ(store_->history(5)->size(), 9u);
  EXPECT_EQ(put(5, 20, 21).code(), StatusCode::invalid_argument);  // still after the last
  MG_ASSERT_OK(put(5, 21, 21));
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(report->history_entries, 50u);
}

TEST_F(History, DropFromDeletesTheFieldsVersionsFromOneOnAndTheyMayBeWrittenAgain) {
  for (std::uint64_t v = 1; v <= 10; ++v) {
    MG_ASSERT_OK(put(5, v, v));
    MG_ASSERT_OK(put(6, v, v));
  }
  MG_ASSERT_OK(store_->drop_history_from(5, 7));
  reopen();
  auto left = store_->history(5);
  ASSERT_TRUE(left.is_ok());
  ASSERT_EQ(left->size(), 6u);
  EXPECT_EQ(left->back().version, 6u);
  EXPECT_EQ(version_at(5, 100), 6u);
  EXPECT_EQ(store_->history(6)->size(), 10u);
  MG_ASSERT_OK(put(5, 7, 7, "again"));  // written again from there
  EXPECT_EQ(store_->history(5)->back().value, "again");
  // The ledger's versions are kept.
  WriteBatch batch;
  batch.put_ledger(LedgerEntry{6, 8, 0, LedgerKind::transition, 8, 0, ""});
  MG_ASSERT_OK(store_->write(batch));
  const Status s = store_->drop_history_from(6, 5);
  EXPECT_EQ(s.code(), StatusCode::failed_precondition) << s.to_string();
  EXPECT_EQ(store_->history(6)->size(), 10u);
  MG_ASSERT_OK(store_->drop_history_from(6, 9));
  EXPECT_EQ(store_->history(6)->size(), 8u);
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
}

TEST_F(History, DropBeforeRefusesVersionsTheLedgerNames) {
  for (std::uint64_t v = 1; v <= 4; ++v) MG_ASSERT_OK(put(8, v, v));
  WriteBatch batch;
  batch.put_ledger(LedgerEntry{8, 3, 0, LedgerKind::transition, 3, 0, ""});
  MG_ASSERT_OK(store_->write(batch));
  const Status s = store_->drop_history_before(8, 4);
  EXPECT_EQ(s.code(), StatusCode::failed_precondition) << s.to_string();
  EXPECT_NE(s.message().find("record of version 3"), std::string::npos) << s.to_string();
  EXPECT_EQ(store_->history(8)->size(), 4u);  // nothing deleted
  MG_ASSERT_OK(store_->drop_history_before(8, 3));  // the versions before the record's
  EXPECT_EQ(store_->history(8)->front().version, 3u);
}

TEST_F(History, RejectsAVersionNotAfterTheFieldsLastOne) {
  MG_ASSERT_OK(put(3, 10, 1));
  const Status same = put(3, 10, 2);
  EXPECT_EQ(same.code(), StatusCode::invalid_argument) << same.to_string();
  EXPECT_EQ(put(3, 9, 2).code(), StatusCode::invalid_argument);
  MG_ASSERT_OK(put(3, 11, 2));
  MG_ASSERT_OK(put(2, 5, 1));  // other fields are independent
  MG_ASSERT_OK(put(4, 1, 1));
}

TEST_F(History, RejectsAnEpochBeforeThePreviousVersions) {
  MG_ASSERT_OK(put(3, 1, 10));
  const Status s = put(3, 2, 9);
  EXPECT_EQ(s.code(), StatusCode::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find("before epoch 10"), std::string::npos);
  MG_ASSERT_OK(put(3, 2, 10));
}

TEST_F(History, OrderingIsCheckedWithinOneBatchToo) {
  WriteBatch batch;
  batch.put_history(HistoryEntry{1, 1, 1, 0, "a"});
  batch.put_history(HistoryEntry{1, 3, 2, 0, "b"});
  batch.put_history(HistoryEntry{1, 2, 3, 0, "c"});
  EXPECT_EQ(store_->write(batch).code(), StatusCode::invalid_argument);
  auto all = store_->history(1);
  ASSERT_TRUE(all.is_ok());
  EXPECT_TRUE(all->empty());  // all or nothing
}

}  // namespace
}  // namespace mgraph::persistence

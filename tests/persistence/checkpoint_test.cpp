// Checkpoints, recovery (newest checkpoint + log replay) and compaction.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mgraph/persistence/store.hpp"
#include "support/field_writes.hpp"
#include "support/store_fixture.hpp"

namespace mgraph::persistence {
namespace {

using testing::batch_for_epoch;
using testing::StoreTest;
using testing::SumState;

constexpr std::uint64_t seed = 7;

class CheckpointTest : public StoreTest {
 protected:
  /// Logs epochs (from, to] of the generated workload.
  void log_epochs(std::uint64_t from, std::uint64_t to) {
    WriteBatch batch;
    for (std::uint64_t epoch = from + 1; epoch <= to; ++epoch) {
      batch.append_log(epoch, epoch, batch_for_epoch(epoch, seed));
    }
    MG_ASSERT_OK(store_->write(batch));
  }
  /// Writes the in-memory replay of epochs 1..epoch as a checkpoint of `scope`.
  void checkpoint(std::string_view scope, std::uint64_t epoch) {
    WriteBatch batch;
    batch.put_checkpoint(scope, epoch, replay_in_memory(epoch).encode());
    MG_ASSERT_OK(store_->write(batch));
  }
  static SumState replay_in_memory(std::uint64_t epoch) {
    SumState state;
    for (std::uint64_t e = 1; e <= epoch; ++e) {
      const bool applied = state.apply(e, batch_for_epoch(e, seed));
      MG_ASSERT(applied);
    }
    return state;
  }
  /// Recovery of `scope` as a partition would run it.
  void expect_recovery_exact(std::string_view scope, std::uint64_t last_epoch) {
    auto recovery = store_->recover(scope);
    ASSERT_TRUE(recovery.is_ok()) << recovery.status().to_string();
    SumState state;
    if (recovery->checkpoint) {
      ASSERT_TRUE(state.decode(recovery->checkpoint->state));
    }
    for (std::uint64_t i = 0; i <= last_epoch; ++i) {
      auto entry = recovery->log.next();
      ASSERT_TRUE(entry.is_ok()) << entry.status().to_string();
      if (*entry == nullptr) break;
      ASSERT_EQ((*entry)->epoch, state.epoch + 1) << "the replayed log has a gap";
      ASSERT_TRUE(state.apply((*entry)->epoch, (*entry)->batch));
    }
    EXPECT_EQ(state, replay_in_memory(last_epoch)) << "scope " << scope;
  }
};

TEST_F(CheckpointTest, RoundTripsStateBytes) {
  log_epochs(0, 3);
  std::string state;
  for (int i = 0; i < 100000; ++i) state.push_back(static_cast<char>(i % 251));  // overflow pages
  WriteBatch batch;
  batch.put_checkpoint("partition-7", 3, state);
  MG_ASSERT_OK(store_->write(batch));
  reopen();
  auto newest = store_->newest_checkpoint("partition-7");
  ASSERT_TRUE(newest.is_ok()) << newest.status().to_string();
  ASSERT_TRUE(newest->has_value());
  EXPECT_EQ(**newest, (Checkpoint{"partition-7", 3, state}));
}

TEST_F(CheckpointTest, NewestIsPerScopeAndIgnoresScopesSharingAPrefix) {
  log_epochs(0, 30);
  WriteBatch batch;
  batch.put_checkpoint("a", 5, "a5");
  batch.put_checkpoint("a", 20, "a20");
  batch.put_checkpoint("a", 10, "a10");
  batch.put_checkpoint("ab", 30, "ab30");
  batch.put_checkpoint("b", 1, "b1");
  batch.put_checkpoint(std::string("a\0", 2), 25, "a-nul");
  MG_ASSERT_OK(store_->write(batch));
  const auto newest_state = [&](std::string_view scope) -> std::string {
    auto newest = store_->newest_checkpoint(scope);
    MG_ASSERT(newest.is_ok());
    return newest->has_value() ? (*newest)->state : std::string("none");
  };
  EXPECT_EQ(newest_state("a"), "a20");
  EXPECT_EQ(newest_state("ab"), "ab30");
  EXPECT_EQ(newest_state("b"), "b1");
  EXPECT_EQ(newest_state(std::string("a\0", 2)), "a-nul");
  EXPECT_EQ(newest_state("c"), "none");
  EXPECT_EQ(newest_state("0"), "none");
  EXPECT_EQ(store_->newest_checkpoint("").status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(store_->newest_checkpoint(std::string(scope_bytes_max + 1, 's')).status().code(),
            StatusCode::invalid_argument);
}

TEST_F(CheckpointTest, RejectsACheckpointAheadOfTheLog) {
  log_epochs(0, 4);
  WriteBatch batch;
  batch.put_checkpoint("p", 5, "ahead");
  const Status s = store_->write(batch);
  EXPECT_EQ(s.code(), StatusCode::invalid_argument) << s.to_string();
  EXPECT_NE(s.message().find("ahead of the log"), std::string::npos);
  WriteBatch with_log;  // a checkpoint may cover an epoch logged in the same batch
  with_log.append_log(5, 0, batch_for_epoch(5, seed));
  with_log.put_checkpoint("p", 5, "now fine");
  MG_ASSERT_OK(store_->write(with_log));
}

TEST_F(CheckpointTest, RecoveryWithoutACheckpointReplaysTheWholeLog) {
  log_epochs(0, 40);
  expect_recovery_exact("p", 40);
}

TEST_F(CheckpointTest, RecoveryStartsAtTheNewestCheckpointAndReplaysTheTail) {
  log_epochs(0, 25);
  checkpoint("p", 10);
  checkpoint("p", 20);
  log_epochs(25, 60);
  auto recovery = store_->recover("p");
  ASSERT_TRUE(recovery.is_ok());
  ASSERT_TRUE(recovery->checkpoint.has_value());
  EXPECT_EQ(recovery->checkpoint->epoch, 20u);
  EXPECT_EQ(recovery->log.position(), 20u);
  expect_recovery_exact("p", 60);
}

TEST_F(CheckpointTest, CompactionKeepsRecoveryExact) {
  log_epochs(0, 100);
  checkpoint("p1", 30);
  checkpoint("p2", 50);
  checkpoint("p1", 70);
  log_epochs(100, 120);
  MG_ASSERT_OK(store_->compact(51));  // p2 needs the log from 51 on
  EXPECT_EQ(store_->info().log_compacted_before, 51u);
  auto first = store_->log_entry(50);
  ASSERT_TRUE(first.is_ok());
  EXPECT_FALSE(first->has_value());
  auto kept = store_->log_entry(51);
  ASSERT_TRUE(kept.is_ok());
  EXPECT_TRUE(kept->has_value());
  expect_recovery_exact("p1", 120);
  expect_recovery_exact("p2", 120);
  reopen();  // the bound is durable
  EXPECT_EQ(store_->info().log_compacted_before, 51u);
  expect_recovery_exact("p1", 120);
  expect_recovery_exact("p2", 120);
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(report->log_entries, 70u);
}

TEST_F(CheckpointTest, CompactionDeletesCheckpointsThatCouldNoLongerBeReplayed) {
  log_epochs(0, 50);
  checkpoint("p", 10);
  checkpoint("p", 20);
  checkpoint("p", 40);
  MG_ASSERT_OK(store_->compact(21));  // 10 needs epoch 11: gone. 20 needs 21: kept.
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->checkpoints, 2u);
  WriteBatch stale;
  stale.put_checkpoint("q", 15, "too old to replay from");
  EXPECT_EQ(store_->write(stale).code(), StatusCode::invalid_argument);
}

TEST_F(CheckpointTest, CompactionRefusesToDropEntriesAScopeStillNeeds) {
  log_epochs(0, 50);
  const Status no_checkpoint = store_->compact(10);
  EXPECT_EQ(no_checkpoint.code(), StatusCode::failed_precondition) << no_checkpoint.to_string();
  checkpoint("fast", 40);
  checkpoint("slow", 12);
  const Status s = store_->compact(30);
  EXPECT_EQ(s.code(), StatusCode::failed_precondition) << s.to_string();
  EXPECT_NE(s.message().find("'slow'"), std::string::npos) << s.message();
  EXPECT_EQ(store_->compact(52).code(), StatusCode::invalid_argument);  // past the log's end
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->log_entries, 50u);  // nothing deleted
  MG_ASSERT_OK(store_->compact(13));
  expect_recovery_exact("slow", 50);
}

TEST_F(CheckpointTest, EmptyingTheLogStillRejectsOldEpochs) {
  log_epochs(0, 20);
  checkpoint("p", 20);
  MG_ASSERT_OK(store_->compact(21));
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->log_entries, 0u);
  reopen();
  auto last = store_->last_epoch();
  ASSERT_TRUE(last.is_ok());
  EXPECT_EQ(*last, 20u);
  WriteBatch old;
  old.append_log(20, 0, "replayed twice");
  EXPECT_EQ(store_->write(old).code(), StatusCode::invalid_argument);
  log_epochs(20, 25);
  expect_recovery_exact("p", 25);
}

TEST_F(CheckpointTest, ReadingFromBeforeTheCompactionBoundFailsClearly) {
  log_epochs(0, 30);
  checkpoint("p", 20);
  MG_ASSERT_OK(store_->compact(21));
  std::vector<LogEntry> entries;
  const Status s = store_->read_log(5, 10, entries);
  EXPECT_EQ(s.code(), StatusCode::failed_precondition) << s.to_string();
  EXPECT_NE(s.message().find("compacted"), std::string::npos);
  auto recovery = store_->recover("never-checkpointed");
  EXPECT_EQ(recovery.status().code(), StatusCode::failed_precondition);
  MG_ASSERT_OK(store_->read_log(20, 10, entries));
  EXPECT_EQ(entries.size(), 10u);
}

TEST_F(CheckpointTest, CompactionOfManyEntriesRunsInSeveralTransactions) {
  const std::uint64_t epochs = compact_entries_per_txn_max * 2 + 10;
  for (std::uint64_t from = 0; from < epochs; from += 20000) {
    WriteBatch batch;
    for (std::uint64_t e = from + 1; e <= std::min(epochs, from + 20000); ++e) {
      batch.append_log(e, 0, "");
    }
    MG_ASSERT_OK(store_->write(batch));
  }
  WriteBatch batch;
  batch.put_checkpoint("p", epochs - 5, "state");
  MG_ASSERT_OK(store_->write(batch));
  MG_ASSERT_OK(store_->compact(epochs - 4));
  auto report = store_->verify();
  ASSERT_TRUE(report.is_ok());
  EXPECT_EQ(report->log_entries, 5u);
}

TEST_F(CheckpointTest, CheckpointAtFindsExactlyThatEpoch) {
  log_epochs(0, 30);
  WriteBatch batch;
  batch.put_checkpoint("p", 10, "p10");
  batch.put_checkpoint("p", 20, "p20");
  batch.put_checkpoint("q", 15, "q15");
  MG_ASSERT_OK(store_->write(batch));
  const auto at = [&](std::string_view scope, std::uint64_t epoch) -> std::string {
    auto found = store_->checkpoint_at(scope, epoch);
    MG_ASSERT(found.is_ok());
    return found->has_value() ? (*found)->state : std::string("none");
  };
  EXPECT_EQ(at("p", 10), "p10");
  EXPECT_EQ(at("p", 20), "p20");
  EXPECT_EQ(at("p", 15), "none");  // p has 10 before it, but not 15 itself
  EXPECT_EQ(at("p", 30), "none");
  EXPECT_EQ(at("q", 15), "q15");
  EXPECT_EQ(at("q", 10), "none");
}

TEST_F(CheckpointTest, DroppingOldCheckpointsKeepsTheLaterOnesAndOtherScopes) {
  log_epochs(0, 30);
  WriteBatch batch;
  for (const std::uint64_t e : {5, 10, 20, 30}) batch.put_checkpoint("p", e, "p" + std::to_string(e));
  batch.put_checkpoint("pq", 5, "pq5");
  batch.put_checkpoint("o", 5, "o5");
  MG_ASSERT_OK(store_->write(batch));
  MG_ASSERT_OK(store_->drop_checkpoints_before("p", 20));
  for (const std::uint64_t e : {5, 10}) {
    auto found = store_->checkpoint_at("p", e);
    ASSERT_TRUE(found.is_ok());
    EXPECT_FALSE(found->has_value()) << e;
  }
  for (const std::uint64_t e : {20, 30}) {
    auto found = store_->checkpoint_at("p", e);
    ASSERT_TRUE(found.is_ok());
    EXPECT_TRUE(found->has_value()) << e;
  }
  for (const char* scope : {"pq", "o"}) {
    auto found = store_->checkpoint_at(scope, 5);
    ASSERT_TRUE(found.is_ok());
    EXPECT_TRUE(found->has_value()) << scope;
  }
  EXPECT_EQ(store_->drop_checkpoints_before("", 3).code(), StatusCode::invalid_argument);
}

TEST_F(CheckpointTest, AStoreOfCheckpointsOnlyTakesAnyEpochAndRefusesTheLog) {
  StoreOptions options = testing::fast_options();
  options.checkpoints_only = true;
  open(options);
  WriteBatch batch;
  batch.put_checkpoint("partition/0", 500, "at 500");  // no log here to be ahead of
  MG_ASSERT_OK(store_->write(batch));
  WriteBatch earlier;
  earlier.put_checkpoint("partition/0", 200, "at 200");  // a log run again from an older one
  MG_ASSERT_OK(store_->write(earlier));
  auto found = store_->checkpoint_at("partition/0", 500);
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->state, "at 500");
  WriteBatch log;
  log.append_log(1, 0, "x");
  const Status refused = store_->write(log);
  EXPECT_EQ(refused.code(), StatusCode::invalid_argument) << refused.to_string();
  EXPECT_NE(refused.message().find("checkpoints only"), std::string::npos) << refused.to_string();
  EXPECT_EQ(store_->compact(10).code(), StatusCode::failed_precondition);
  MG_ASSERT_OK(store_->drop_checkpoints_before("partition/0", 300));
  found = store_->checkpoint_at("partition/0", 200);
  ASSERT_TRUE(found.is_ok());
  EXPECT_FALSE(found->has_value());
}

}  // namespace
}  // namespace mgraph::persistence

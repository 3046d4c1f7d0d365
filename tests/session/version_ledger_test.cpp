// The history and ledger of versions (session/version_ledger.hpp) as a cluster's
// coordinator keeps them: records made from reported changes, each once however often the
// changes are reported again (epochs run again after a restart), with what an ack settles
// read back from what is stored; and the same reads from memory as from an LMDB store.

#include "mgraph/session/version_ledger.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mgraph/persistence/store.hpp"
#include "mgraph/persistence/write_batch.hpp"
#include "support/scratch_dir.hpp"

namespace mgraph::session {
namespace {

RecordedChange bool_effect(std::uint64_t version, bool value) {
  return RecordedChange{3, version, Value(value), true, ""};
}

RecordedChange versioned(std::uint64_t version, std::int64_t value) {
  return RecordedChange{8, version, Value(value), false, ""};
}

/// Records `changes` (epoch = index + 1) with `recorder` and stores them in `ledger`.
void record_all(VersionRecorder& recorder, MemoryLedger& ledger, const std::vector<RecordedChange>& changes,
                std::uint64_t first_epoch = 1) {
  VersionRecords records;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    ASSERT_TRUE(recorder.record(changes[i], first_epoch + i, 1000 * (first_epoch + i), &records).is_ok());
  }
  ledger.store(std::move(records));
}

std::string audit(const LedgerReader& reader, std::uint64_t node) {
  Result<std::string> r = read_ledger(reader, node, LedgerQuery{"audit", "o.e", std::nullopt});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : std::string();
}

TEST(VersionLedger, AnAckSettlesTheOldestTriggerAndItsRecordNamesItsKey) {
  MemoryLedger ledger;
  VersionRecorder recorder(ledger);
  VersionRecords records;
  // Created false, triggered at 2 and again (a counter would: here a bool raised, acked,
  // raised), acked at 4: the trigger of version 2 is settled first.
  for (const RecordedChange& c : {bool_effect(1, false), bool_effect(2, true), bool_effect(3, false)}) {
    ASSERT_TRUE(recorder.record(c, c.version, 0, &records).is_ok());
  }
  ASSERT_EQ(records.history.size(), 3u);
  ASSERT_EQ(records.ledger.size(), 4u);  // three transitions and one ack
  EXPECT_EQ(records.ledger[3].kind, persistence::LedgerKind::ack);
  EXPECT_EQ(records.ledger[3].version, 3u);
  EXPECT_EQ(records.ledger[3].seq, 1u);
  EXPECT_EQ(records.ledger[3].detail, R"({"key":{"field":3,"version":2},"before":true,"value":false})");
}

TEST(VersionLedger, ChangesReportedAgainAreRecordedOnceAndANewRecorderGoesOnFromTheStore) {
  MemoryLedger ledger;
  const std::vector<RecordedChange> first{bool_effect(1, false), versioned(1, 10), bool_effect(2, true),
                                          versioned(2, 20)};
  {
    VersionRecorder recorder(ledger);
    record_all(recorder, ledger, first);
    // The same changes again (the same run): nothing more.
    VersionRecords again;
    for (const RecordedChange& c : first) ASSERT_TRUE(recorder.record(c, 9, 0, &again).is_ok());
    EXPECT_TRUE(again.empty());
  }
  const std::string stored = audit(ledger, 3);
  // A restart: a new recorder, every epoch reported again, then a new one (the ack).
  VersionRecorder recorder(ledger);
  VersionRecords replayed;
  for (const RecordedChange& c : first) ASSERT_TRUE(recorder.record(c, 1, 0, &replayed).is_ok());
  EXPECT_TRUE(replayed.empty()) << "records stored before were made again";
  EXPECT_EQ(audit(ledger, 3), stored);
  record_all(recorder, ledger, {bool_effect(3, false), versioned(3, 30)}, 5);
  const std::string after = audit(ledger, 3);
  // The ack's "before" and its key come from the stored history.
  EXPECT_NE(after.find(R"(\"key\":{\"field\":3,\"version\":2},\"before\":true,\"value\":false)"), std::string::npos)
      << after;
  Result<std::string> history = read_ledger(ledger, 8, LedgerQuery{"history", "o.v", std::nullopt});
  ASSERT_TRUE(history.is_ok());
  EXPECT_EQ(*history,
            R"([{"version":1,"epoch":2,"time_ns":2000,"value":10},{"version":2,"epoch":4,"time_ns":4000,"value":20},)"
            R"({"version":3,"epoch":6,"time_ns":6000,"value":30}])");
}

TEST(VersionLedger, AResultIsRecordedAtItsRequestsKeyOnceAndOnlyAfterItsTrigger) {
  MemoryLedger ledger;
  VersionRecorder recorder(ledger);
  // The request (a trigger of the F@request effect, node 3) at version 2.
  record_all(recorder, ledger, {bool_effect(1, false), bool_effect(2, true)});
  const RequestResult written{3, 2, Value(0.75), "written"};
  VersionRecords records;
  ASSERT_TRUE(recorder.record_result(written, 3, 0, &records).is_ok());
  ASSERT_EQ(records.ledger.size(), 1u);
  EXPECT_EQ(records.ledger[0].version, 2u);
  EXPECT_EQ(records.ledger[0].seq, 1u);  // after the transition
  EXPECT_EQ(records.ledger[0].detail, R"({"key":{"field":3,"version":2},"result":0.75,"outcome":"written"})");
  // A second result in the same epoch goes after the first, though not stored yet.
  ASSERT_TRUE(recorder.record_result(RequestResult{3, 2, Value(0.5), "superseded"}, 3, 0, &records).is_ok());
  ASSERT_EQ(records.ledger.size(), 2u);
  EXPECT_EQ(records.ledger[1].seq, 2u);
  ledger.store(std::move(records));
  // The epoch again (a replay): nothing more.
  VersionRecords again;
  ASSERT_TRUE(recorder.record_result(written, 3, 0, &again).is_ok());
  EXPECT_TRUE(again.empty());
  // A key with no trigger recorded gets nothing.
  ASSERT_TRUE(recorder.record_result(RequestResult{3, 7, Value(1.0), "written"}, 4, 0, &again).is_ok());
  EXPECT_TRUE(again.empty());
}

TEST(VersionLedger, ADeadLettersChangesFollowItsTransitionOnceEach) {
  MemoryLedger ledger;
  VersionRecorder recorder(ledger);
  record_all(recorder, ledger, {bool_effect(1, false), bool_effect(2, true)});
  VersionRecords records;
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 2}, DeliveryChange::Kind::died, 8, {}}, 5, 0, &records).is_ok());
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 2}, DeliveryChange::Kind::retried, 0, {}}, 6, 0, &records).is_ok());
  ASSERT_EQ(records.ledger.size(), 2u);
  EXPECT_EQ(records.ledger[0].kind, persistence::LedgerKind::dead_letter);
  EXPECT_EQ(records.ledger[0].seq, 1u);
  EXPECT_EQ(records.ledger[0].detail, R"({"attempts":8})");
  EXPECT_EQ(records.ledger[1].kind, persistence::LedgerKind::dead_letter_retry);
  EXPECT_EQ(records.ledger[1].seq, 2u);
  ledger.store(std::move(records));
  // Died again after the retry, then dropped: later entries, later records.
  VersionRecords more;
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 2}, DeliveryChange::Kind::died, 8, {}}, 9, 0, &more).is_ok());
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 2}, DeliveryChange::Kind::dropped, 0, {}}, 10, 0, &more).is_ok());
  ASSERT_EQ(more.ledger.size(), 2u);
  EXPECT_EQ(more.ledger[1].kind, persistence::LedgerKind::dead_letter_drop);
  EXPECT_EQ(more.ledger[1].seq, 4u);
  ledger.store(std::move(more));
  // The same entry again (its records stored before a crash): nothing.
  VersionRecords again;
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 2}, DeliveryChange::Kind::died, 8, {}}, 5, 0, &again).is_ok());
  EXPECT_TRUE(again.empty());
  const std::string trail = audit(ledger, 3);
  EXPECT_NE(trail.find(R"("kind":"dead_letter_drop")"), std::string::npos) << trail;
}

TEST(VersionLedger, EachAttemptIsARecordAndEachRedeliveryFollowsTheFailureBeforeIt) {
  MemoryLedger ledger;
  VersionRecorder recorder(ledger);
  record_all(recorder, ledger, {bool_effect(1, false), bool_effect(2, true)});
  // Attempts 1 and 2 of one poll's entry (two polls' changes logged together), the second
  // after the first went unacknowledged: staged records at one key follow each other.
  VersionRecords records;
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 2}, DeliveryChange::Kind::attempted, 1, "billing"}, 5, 7,
                                     &records)
                  .is_ok());
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 2}, DeliveryChange::Kind::attempted, 2, ""}, 5, 7, &records)
                  .is_ok());
  std::vector<std::string> got;
  for (const persistence::LedgerEntry& e : records.ledger) {
    got.push_back(std::to_string(e.seq) + " " + persistence::ledger_kind_name(e.kind) + " " + e.detail);
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     R"(1 delivery_attempt {"attempt":1,"group":"billing"})",
                     R"(2 delivery_failure {"attempt":1,"why":"not acknowledged within its retry delay"})",
                     R"(3 delivery_attempt {"attempt":2,"group":""})"}));
  ledger.store(std::move(records));
  // A later entry's attempt follows what is stored.
  VersionRecords more;
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 2}, DeliveryChange::Kind::attempted, 3, ""}, 6, 7, &more)
                  .is_ok());
  ASSERT_EQ(more.ledger.size(), 2u);
  EXPECT_EQ(more.ledger[0].seq, 4u);
  EXPECT_EQ(more.ledger[1].seq, 5u);
  EXPECT_EQ(more.ledger[1].kind, persistence::LedgerKind::delivery_attempt);
  // A key with no transition gets no record.
  VersionRecords none;
  ASSERT_TRUE(recorder.record_change(DeliveryChange{{3, 9}, DeliveryChange::Kind::attempted, 1, ""}, 6, 7, &none)
                  .is_ok());
  EXPECT_TRUE(none.empty());
}

TEST(VersionLedger, MemoryReadsAsAnLmdbStoreReads) {
  testing::ScratchDir dir("mgraph_version_ledger");
  ASSERT_FALSE(dir.path().empty());
  persistence::StoreOptions options;
  options.create_if_missing = true;
  Result<std::unique_ptr<persistence::Store>> store = persistence::Store::open(dir.path(), options);
  ASSERT_TRUE(store.is_ok()) << store.status().message();
  StoreLedgerReader lmdb(**store);
  MemoryLedger memory;
  VersionRecorder recorder(memory);
  VersionRecords records;
  std::uint64_t version = 0;
  // Triggers and acks of a counter across epochs, two versions in one epoch included.
  for (const std::int64_t count : {0, 1, 2, 1, 2, 3, 1, 0}) {
    ++version;
    const RecordedChange c{5, version, Value(count), true, ""};
    ASSERT_TRUE(recorder.record(c, (version + 1) / 2, version * 10, &records).is_ok());
  }
  persistence::WriteBatch wb;
  wb.append_log(4, 0, "epochs");
  records.add_to(wb);
  ASSERT_TRUE((*store)->write(wb).is_ok());
  memory.store(std::move(records));
  for (const LedgerQuery& q : {LedgerQuery{"audit", "c.n", std::nullopt}, LedgerQuery{"history", "c.n", std::nullopt},
                               LedgerQuery{"history", "c.n", 0}, LedgerQuery{"history", "c.n", 2},
                               LedgerQuery{"history", "c.n", 99}}) {
    Result<std::string> a = read_ledger(lmdb, 5, q);
    Result<std::string> b = read_ledger(memory, 5, q);
    ASSERT_TRUE(a.is_ok() && b.is_ok());
    EXPECT_EQ(*b, *a) << q.cmd << " at " << q.at.value_or(0);
  }
  // Acks settle the oldest triggers (versions 2, 3, 5, 6): 2 by the drop to 1, 3 and 5 by
  // the drop of two, 6 by the last.
  Result<std::string> trail = read_ledger(memory, 5, LedgerQuery{"audit", "c.n", std::nullopt});
  ASSERT_TRUE(trail.is_ok());
  for (const char* key : {R"(\"version\":2},\"before\":2)", R"(\"version\":3},\"before\":3)",
                          R"(\"version\":5},\"before\":3)", R"(\"version\":6},\"before\":1)"}) {
    EXPECT_NE(trail->find(key), std::string::npos) << key << " in " << *trail;
  }
}

TEST(VersionLedger, QueriesAreParsedAndBadOnesNamed) {
  Result<LedgerQuery> q = parse_ledger_query("history o.total at 12   # the twelfth");
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  EXPECT_EQ(q->cmd, "history");
  EXPECT_EQ(q->ref, "o.total");
  EXPECT_EQ(q->at, 12u);
  EXPECT_EQ(ledger_line(*q, "null"), "{\"history\":\"o.total\",\"at\":12,\"version\":null}\n");
  q = parse_ledger_query("audit #3.big");
  ASSERT_TRUE(q.is_ok());
  EXPECT_EQ(q->ref, "#3.big");
  EXPECT_FALSE(q->at.has_value());
  EXPECT_EQ(ledger_line(*q, "[]"), "{\"audit\":\"#3.big\",\"records\":[]}\n");
  EXPECT_NE(parse_ledger_query("history o.total at x").status().message().find("'x' is not an epoch number"),
            std::string::npos);
  EXPECT_NE(parse_ledger_query("audit o.big at 3").status().message().find("usage: history REF.field"),
            std::string::npos);
}

}  // namespace
}  // namespace mgraph::session

// Subscriptions' buffer and targets (actors/watch.hpp, codec/watch_target.hpp): which
// epochs a poll gets, in order, filtered, bounded, and when it must resume instead.

#include "mgraph/actors/watch.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mgraph::actors {
namespace {

codec::FieldChange change(std::uint64_t record, const std::string& entity, const std::string& field,
                          std::int64_t value, std::uint64_t version) {
  return codec::FieldChange{record, entity, field, Value(value), version};
}

std::vector<WatchTarget> targets(const std::vector<std::string>& texts) {
  Result<std::vector<WatchTarget>> t = codec::parse_watch_targets(texts);
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return t.is_ok() ? *t : std::vector<WatchTarget>{};
}

TEST(WatchTarget, FieldsOfRecordsAndEntitiesParseAndAnythingElseIsNamed) {
  EXPECT_EQ(*codec::parse_watch_target("Order#12.total"), (WatchTarget{"Order", 12, "total"}));
  EXPECT_EQ(*codec::parse_watch_target("Order"), (WatchTarget{"Order", 0, ""}));
  for (const char* bad : {"", "Order#", "Order#1", "Order#x.total", "Order#0.total", "#1.total",
                          "Order#1.", "Or der", "Order.total", "Order#1.total.x"}) {
    const Result<WatchTarget> t = codec::parse_watch_target(bad);
    ASSERT_FALSE(t.is_ok()) << bad;
    EXPECT_EQ(t.status().message(), std::string("'") + bad +
                                        "' names no field or entity to watch (Entity#N.field or Entity)");
  }
  // A field the engine adds (a name with '@') is refused by name.
  for (const char* hidden : {"Order#1.risk@request", "global#1.@clock"}) {
    const Result<WatchTarget> t = codec::parse_watch_target(hidden);
    ASSERT_FALSE(t.is_ok()) << hidden;
    EXPECT_NE(t.status().message().find("is kept by the engine (a name with '@'), not watched"), std::string::npos)
        << t.status().message();
  }
  EXPECT_FALSE(codec::parse_watch_target("Or@der#1.total").is_ok());
  EXPECT_FALSE(codec::parse_watch_targets({}).is_ok());
  EXPECT_FALSE(codec::parse_watch_targets(std::vector<std::string>(codec::kWatchTargetsMax + 1, "A")).is_ok());
}

TEST(WatchBuffer, APollGetsTheEpochsAfterItsCursorThatChangedWhatItWatchesInOrder) {
  WatchBuffer buffer(100);
  buffer.restored(0);
  buffer.ran(1, true, {change(1, "Order", "total", 5, 0), change(2, "Order", "total", 7, 0)});
  buffer.ran(2, true, {change(2, "Order", "total", 8, 1)});
  buffer.ran(3, false, {change(1, "Order", "total", 99, 1)});  // aborted: nothing kept
  buffer.ran(4, true, {change(1, "Order", "total", 6, 1), change(3, "Customer", "name", 1, 0),
                       change(1, "Order", "total", 9, 2)});  // the field's last value stays
  const WatchBuffer::Answer a = buffer.read(targets({"Order#1.total", "Customer"}), 0, 10);
  EXPECT_FALSE(a.resume);
  EXPECT_EQ(a.through, 4u);
  ASSERT_EQ(a.epochs.size(), 2u);
  EXPECT_EQ(a.epochs[0],
            R"({"epoch":1,"changes":[{"ref":"Order#1","field":"total","value":5,"version":0}]})");
  EXPECT_EQ(a.epochs[1],
            R"({"epoch":4,"changes":[{"ref":"Order#1","field":"total","value":9,"version":2},)"
            R"({"ref":"Customer#3","field":"name","value":1,"version":0}]})");
  // From a cursor, and at most `max`: `through` is where the next poll starts.
  const WatchBuffer::Answer one = buffer.read(targets({"Order"}), 0, 1);
  ASSERT_EQ(one.epochs.size(), 1u);
  EXPECT_EQ(one.through, 1u);
  const WatchBuffer::Answer next = buffer.read(targets({"Order"}), one.through, 1);
  ASSERT_EQ(next.epochs.size(), 1u);
  EXPECT_EQ(next.epochs[0].rfind(R"({"epoch":2,)", 0), 0u) << next.epochs[0];
  EXPECT_EQ(next.through, 2u);
  // Nothing new: no epochs, through the newest.
  const WatchBuffer::Answer none = buffer.read(targets({"Order#2.total"}), 2, 10);
  EXPECT_TRUE(none.epochs.empty());
  EXPECT_EQ(none.through, 4u);
}

// A cursor past every epoch the log holds or has run comes from another log (the
// coordinator started again on a fresh one): it resumes instead of waiting for epochs the
// new log numbers as the old one did. One the log will run again waits for them.
TEST(WatchBuffer, ACursorPastEverythingTheLogHoldsIsToldToResumeAndOneItWillRunAgainWaits) {
  const std::vector<WatchTarget> x = targets({"A#1.x"});
  WatchBuffer fresh;
  // Before the coordinator restored its partitions the log's end is not known: a poll waits.
  const WatchBuffer::Answer early = fresh.read(x, 7, 10);
  EXPECT_FALSE(early.resume);
  EXPECT_TRUE(early.epochs.empty());
  fresh.restored(0, 0);  // a new, empty log
  const WatchBuffer::Answer other = fresh.read(x, 7, 10);
  EXPECT_TRUE(other.resume);
  EXPECT_EQ(other.through, 0u);
  fresh.ran(1, true, {change(1, "A", "x", 1, 1)});
  EXPECT_TRUE(fresh.read(x, 7, 10).resume);
  EXPECT_FALSE(fresh.read(x, 1, 10).resume);  // the newest epoch: nothing new yet
  EXPECT_EQ(fresh.read(x, 0, 10).epochs.size(), 1u);
  // Restored to a checkpoint at 4 with the log holding epochs up to 9: a cursor at 7 is
  // one the log will reach again, so it waits (no epochs yet), then gets 8 and 9.
  WatchBuffer again;
  again.restored(4, 9);
  const WatchBuffer::Answer waiting = again.read(x, 7, 10);
  EXPECT_FALSE(waiting.resume);
  EXPECT_TRUE(waiting.epochs.empty());
  EXPECT_EQ(waiting.through, 7u);
  EXPECT_TRUE(again.read(x, 10, 10).resume);  // past the log's end
  for (std::uint64_t e = 5; e <= 9; ++e) again.ran(e, true, {change(1, "A", "x", static_cast<std::int64_t>(e), e)});
  const WatchBuffer::Answer caught_up = again.read(x, 7, 10);
  EXPECT_FALSE(caught_up.resume);
  EXPECT_EQ(caught_up.epochs.size(), 2u);
  EXPECT_EQ(caught_up.through, 9u);
}

TEST(WatchBuffer, ACursorBehindWhatTheBoundKeepsIsToldToResume) {
  WatchBuffer buffer(2);
  buffer.restored(0);
  for (std::uint64_t e = 1; e <= 5; ++e) buffer.ran(e, true, {change(1, "A", "x", static_cast<std::int64_t>(e), e)});
  EXPECT_EQ(buffer.epochs_kept(), 2u);
  const std::vector<WatchTarget> x = targets({"A#1.x"});
  const WatchBuffer::Answer behind = buffer.read(x, 2, 10);
  EXPECT_TRUE(behind.resume);
  EXPECT_EQ(behind.through, 5u);
  const WatchBuffer::Answer kept = buffer.read(x, 3, 10);
  EXPECT_FALSE(kept.resume);
  ASSERT_EQ(kept.epochs.size(), 2u);
  // A restore forgets what was held: older cursors resume.
  buffer.restored(5);
  EXPECT_TRUE(buffer.read(x, 4, 10).resume);
  EXPECT_FALSE(buffer.read(x, 5, 10).resume);
  // The bound on changes: an epoch of more changes than it is kept alone.
  WatchBuffer small(100, 3);
  small.restored(0);
  small.ran(1, true, {change(1, "A", "x", 1, 1), change(2, "A", "x", 1, 1)});
  small.ran(2, true, {change(1, "A", "x", 2, 2), change(2, "A", "x", 2, 2)});
  EXPECT_EQ(small.epochs_kept(), 1u);
  EXPECT_TRUE(small.read(x, 0, 10).resume);
  EXPECT_EQ(small.read(x, 1, 10).epochs.size(), 1u);
}

TEST(WatchBuffer, TheLogRunningAgainReplacesTheEpochsFromWhereItStarts) {
  WatchBuffer buffer(10);
  buffer.restored(0);
  buffer.ran(1, true, {change(1, "A", "x", 1, 1)});
  buffer.ran(2, true, {change(1, "A", "x", 2, 2)});
  buffer.ran(2, true, {change(1, "A", "x", 3, 2)});
  const WatchBuffer::Answer a = buffer.read(targets({"A"}), 0, 10);
  ASSERT_EQ(a.epochs.size(), 2u);
  EXPECT_NE(a.epochs[1].find(R"("value":3)"), std::string::npos) << a.epochs[1];
}

}  // namespace
}  // namespace mgraph::actors

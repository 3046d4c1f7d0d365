// The coordinator's history of subscriptions in LMDB (lmdb_watch_history.hpp) and the
// buffer answering from it (actors/watch.hpp): every epoch run is held, in order, across a
// reopen; a restart from a checkpoint the history reaches keeps it, one it does not reach
// starts it again; the retention by epochs and by bytes drops the oldest; a history of
// another log is emptied; a cursor behind the memory buffer gets the epochs' deltas; and a
// failing history is said, and never claims an epoch it does not hold.

#include "lmdb_watch_history.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "mgraph/actors/watch.hpp"
#include "support/scratch_dir.hpp"

namespace mgraph::node {
namespace {

using actors::HeldEpoch;

void expect_ok(const Status& s) { EXPECT_TRUE(s.is_ok()) << s.to_string(); }

codec::FieldChange change(std::uint64_t record, const std::string& field, std::int64_t value, std::uint64_t version) {
  return codec::FieldChange{record, "A", field, Value(value), version};
}

std::vector<actors::WatchTarget> targets(const std::vector<std::string>& texts) {
  Result<std::vector<actors::WatchTarget>> t = codec::parse_watch_targets(texts);
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return t.is_ok() ? *t : std::vector<actors::WatchTarget>{};
}

class WatchHistoryTest : public ::testing::Test {
 protected:
  std::unique_ptr<LmdbWatchHistory> open(std::uint64_t log_id = 7, std::uint64_t epochs = 1000,
                                         std::uint64_t bytes = std::uint64_t{1} << 30) {
    auto h = LmdbWatchHistory::open(dir_.sub("watch"), log_id, epochs, bytes);
    EXPECT_TRUE(h.is_ok()) << h.status().message();
    return h.is_ok() ? std::move(h).value() : nullptr;
  }
  static std::vector<HeldEpoch> all(LmdbWatchHistory& h, codec::Epoch from) {
    auto read = h.read(from, 1'000'000, std::size_t{1} << 30);
    EXPECT_TRUE(read.is_ok()) << read.status().message();
    return read.is_ok() ? std::move(read).value() : std::vector<HeldEpoch>{};
  }
  static std::vector<codec::Epoch> epochs(const std::vector<HeldEpoch>& held) {
    std::vector<codec::Epoch> out;
    for (const HeldEpoch& e : held) out.push_back(e.epoch);
    return out;
  }

  testing::ScratchDir dir_{"mgraph_watch_history"};
};

TEST_F(WatchHistoryTest, EveryEpochAddedIsReadBackInOrderAfterAReopen) {
  {
    auto h = open();
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->floor(), 0u);
    EXPECT_EQ(h->newest(), 0u);
    expect_ok(h->add({{1, {change(1, "x", 5, 1), change(2, "x", 7, 1)}}}));
    expect_ok(h->add({{2, {}}}));  // aborted, or nothing changed: held empty
    expect_ok(h->add({{4, {change(1, "x", 9, 2)}}}));
    EXPECT_EQ(h->add({{4, {}}}).code(), StatusCode::invalid_argument);
    // Several epochs in one write.
    expect_ok(h->add({{5, {change(3, "x", 1, 1)}}, {6, {}}, {8, {change(3, "x", 2, 2)}}}));
  }
  auto h = open();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->floor(), 0u);
  EXPECT_EQ(h->newest(), 8u);
  const std::vector<HeldEpoch> held = all(*h, 0);
  ASSERT_EQ(epochs(held), (std::vector<codec::Epoch>{1, 2, 4, 5, 6, 8}));
  EXPECT_EQ(held[0].changes, (std::vector<codec::FieldChange>{change(1, "x", 5, 1), change(2, "x", 7, 1)}));
  EXPECT_TRUE(held[1].changes.empty());
  EXPECT_EQ(held[2].changes, (std::vector<codec::FieldChange>{change(1, "x", 9, 2)}));
  EXPECT_EQ(held[5].changes, (std::vector<codec::FieldChange>{change(3, "x", 2, 2)}));
  EXPECT_EQ(epochs(all(*h, 2)), (std::vector<codec::Epoch>{4, 5, 6, 8}));
  EXPECT_TRUE(all(*h, 8).empty());
  // Bounded reads: by epochs, and by bytes (never fewer than one).
  EXPECT_EQ(epochs(h->read(0, 2, 1 << 20).value()), (std::vector<codec::Epoch>{1, 2}));
  EXPECT_EQ(epochs(h->read(0, 10, 1).value()), (std::vector<codec::Epoch>{1}));
}

TEST_F(WatchHistoryTest, AResetStartsItAgainFromAnEpochAndSurvivesAReopen) {
  {
    auto h = open();
    for (codec::Epoch e = 1; e <= 5; ++e) expect_ok(h->add({{e, {change(1, "x", static_cast<std::int64_t>(e), e)}}}));
    expect_ok(h->reset(9));
    EXPECT_EQ(h->floor(), 9u);
    EXPECT_EQ(h->newest(), 9u);
    EXPECT_EQ(h->bytes(), 0u);
    expect_ok(h->add({{10, {change(1, "x", 10, 10)}}}));
  }
  auto h = open();
  EXPECT_EQ(h->floor(), 9u);
  EXPECT_EQ(h->newest(), 10u);
  EXPECT_EQ(epochs(all(*h, 9)), (std::vector<codec::Epoch>{10}));
}

TEST_F(WatchHistoryTest, ATruncationForgetsTheEpochsAfterOneAndTheyAreWrittenAgain) {
  auto h = open();
  expect_ok(h->reset(10));
  for (codec::Epoch e = 11; e <= 20; e += 3) expect_ok(h->add({{e, {change(1, "x", static_cast<std::int64_t>(e), e)}}}));
  // Held: 11, 14, 17, 20 after the floor 10.
  expect_ok(h->truncate(15));
  EXPECT_EQ(h->floor(), 10u);
  EXPECT_EQ(h->newest(), 14u);
  expect_ok(h->add({{15, {change(1, "x", 99, 15)}}}));
  EXPECT_EQ(epochs(all(*h, 10)), (std::vector<codec::Epoch>{11, 14, 15}));
  EXPECT_EQ(all(*h, 14)[0].changes, (std::vector<codec::FieldChange>{change(1, "x", 99, 15)}));
  // Nothing left after the floor: the floor stays, and survives a reopen.
  expect_ok(h->truncate(10));
  EXPECT_EQ(h->floor(), 10u);
  EXPECT_EQ(h->newest(), 10u);
  expect_ok(h->add({{11, {}}}));
  expect_ok(h->truncate(10));
  h.reset();
  h = open();
  EXPECT_EQ(h->floor(), 10u);
  EXPECT_EQ(h->newest(), 10u);
  // At or below the floor: a reset there.
  expect_ok(h->truncate(4));
  EXPECT_EQ(h->floor(), 4u);
  EXPECT_EQ(h->newest(), 4u);
}

TEST_F(WatchHistoryTest, AnEpochRunAgainWithAnotherOutcomeReplacesTheOneHeld) {
  // Epoch 5 ran while a partition was unavailable (aborted); the partition back, the log
  // runs again from the checkpoint of 4, and epoch 5 commits this time.
  actors::WatchBuffer buffer(2, actors::kWatchChangesKept, open());
  buffer.restored(0);
  for (codec::Epoch e = 1; e <= 6; ++e) buffer.ran(e, e != 5, {change(1, "x", static_cast<std::int64_t>(e), e)});
  buffer.checkpointed();
  buffer.restored(4);
  buffer.ran(5, true, {change(1, "x", 5, 5)});
  buffer.ran(6, true, {change(1, "x", 6, 6)});
  actors::WatchBuffer::Answer a = buffer.read(targets({"A"}), 0, 100);
  ASSERT_EQ(a.epochs.size(), 6u);
  EXPECT_EQ(a.epochs[4].rfind(R"({"epoch":5,)", 0), 0u) << a.epochs[4];
  // The log running again without a restore first (the driver's epoch numbers going
  // back): what followed is forgotten, in memory and in the history alike.
  for (codec::Epoch e = 7; e <= 80; ++e) buffer.ran(e, true, {change(1, "x", static_cast<std::int64_t>(e), e)});
  buffer.ran(70, false, {});
  buffer.ran(71, true, {change(1, "y", 71, 1)});
  a = buffer.read(targets({"A#1.x"}), 60, 100);
  ASSERT_EQ(a.epochs.size(), 9u);  // 61 to 69
  EXPECT_EQ(a.through, 71u);
  EXPECT_EQ(buffer.read(targets({"A#1.y"}), 0, 100).epochs.size(), 1u);
  EXPECT_EQ(buffer.history_errors(), 0u);
}

TEST_F(WatchHistoryTest, EpochsInDoubtAreNotToldUntilTheLogRunsAgain) {
  // The log runs again from the checkpoint of 2 while a partition is unavailable: epoch 4
  // is cut short (in doubt) and so is everything after it until the next restore, when
  // the partition is back and epoch 4 commits.
  actors::WatchBuffer buffer(2, actors::kWatchChangesKept, open());
  buffer.restored(2);
  buffer.ran(3, true, {change(1, "x", 3, 3)});
  buffer.ran(4, false, {}, true);
  buffer.ran(5, true, {change(1, "x", 5, 4)}, true);
  actors::WatchBuffer::Answer a = buffer.read(targets({"A"}), 2, 100);
  ASSERT_EQ(a.epochs.size(), 1u);  // 3 alone
  EXPECT_EQ(a.through, 3u);
  EXPECT_TRUE(buffer.read(targets({"A"}), 3, 100).epochs.empty());
  EXPECT_EQ(buffer.read(targets({"A"}), 3, 100).through, 3u);
  // From the history too (the memory holds 2 epochs).
  for (codec::Epoch e = 6; e <= 9; ++e) buffer.ran(e, true, {change(1, "x", static_cast<std::int64_t>(e), e)}, true);
  a = buffer.read(targets({"A"}), 2, 100);
  ASSERT_EQ(a.epochs.size(), 1u);
  EXPECT_EQ(a.through, 3u);
  // The partition back: a restore from 2 and the log again; now every epoch is told.
  buffer.restored(2);
  for (codec::Epoch e = 3; e <= 9; ++e) buffer.ran(e, true, {change(1, "x", static_cast<std::int64_t>(e), e)});
  a = buffer.read(targets({"A"}), 2, 100);
  ASSERT_EQ(a.epochs.size(), 7u);
  EXPECT_EQ(a.epochs[1].rfind(R"({"epoch":4,)", 0), 0u) << a.epochs[1];
  EXPECT_EQ(a.through, 9u);
}

TEST_F(WatchHistoryTest, AHistoryOfAnotherLogIsEmptiedAtOpen) {
  {
    auto h = open(7);
    expect_ok(h->add({{1, {change(1, "x", 1, 1)}}}));
  }
  EXPECT_EQ(open(7)->newest(), 1u);
  auto other = open(8);
  EXPECT_EQ(other->newest(), 0u);
  EXPECT_TRUE(all(*other, 0).empty());
}

TEST_F(WatchHistoryTest, RetentionDropsTheOldestEpochsByCountAndByBytes) {
  {
    auto h = open(7, 32);
    for (codec::Epoch e = 1; e <= 200; ++e) expect_ok(h->add({{e, {change(1, "x", static_cast<std::int64_t>(e), e)}}}));
    // Trimmed a sixteenth past the bound, back to it.
    EXPECT_LE(h->newest() - h->floor(), 32u + 2u);
    EXPECT_GE(h->newest() - h->floor(), 32u);
    const std::vector<HeldEpoch> held = all(*h, h->floor());
    ASSERT_FALSE(held.empty());
    EXPECT_EQ(held.front().epoch, h->floor() + 1);
    EXPECT_EQ(held.back().epoch, 200u);
    EXPECT_EQ(held.size(), h->newest() - h->floor());
  }
  // By bytes: epochs of ~1 KiB each under a bound of 16 KiB.
  testing::ScratchDir other{"mgraph_watch_history_bytes"};
  auto opened = LmdbWatchHistory::open(other.sub("watch"), 7, 1'000'000, 16 << 10);
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  LmdbWatchHistory& h = **opened;
  const std::string big(1000, 'b');
  for (codec::Epoch e = 1; e <= 100; ++e) {
    expect_ok(h.add({{e, {codec::FieldChange{e, "A", "text", Value(big), e}}}}));
    EXPECT_LE(h.bytes(), (16u << 10) + (1u << 10) + 2048u) << "epoch " << e;
  }
  EXPECT_GE(h.bytes(), (16u << 10) - 2048u);
  EXPECT_GT(h.floor(), 70u);
  const std::vector<HeldEpoch> held = all(h, h.floor());
  ASSERT_FALSE(held.empty());
  EXPECT_EQ(held.front().epoch, h.floor() + 1);
  EXPECT_EQ(held.back().epoch, 100u);
}

TEST_F(WatchHistoryTest, ACursorBehindTheBufferGetsEveryEpochFromTheHistory) {
  actors::WatchBuffer buffer(2, actors::kWatchChangesKept, open());
  buffer.restored(0);
  for (codec::Epoch e = 1; e <= 10; ++e) {
    // Field x changes at every epoch, y at the even ones; epoch 7 aborts.
    std::vector<codec::FieldChange> changes = {change(1, "x", static_cast<std::int64_t>(e), e)};
    if (e % 2 == 0) changes.push_back(change(1, "y", static_cast<std::int64_t>(e), e / 2));
    buffer.ran(e, e != 7, changes);
  }
  EXPECT_EQ(buffer.epochs_kept(), 2u);
  EXPECT_EQ(buffer.reach(), 0u);
  const actors::WatchBuffer::Answer a = buffer.read(targets({"A#1.y"}), 1, 100);
  EXPECT_FALSE(a.resume);
  EXPECT_EQ(a.through, 10u);
  ASSERT_EQ(a.epochs.size(), 5u);
  EXPECT_EQ(a.epochs[0], R"({"epoch":2,"changes":[{"ref":"A#1","field":"y","value":2,"version":1}]})");
  EXPECT_EQ(a.epochs[4], R"({"epoch":10,"changes":[{"ref":"A#1","field":"y","value":10,"version":5}]})");
  // At most `max`: the next poll goes on from `through`, from the history or the memory.
  const actors::WatchBuffer::Answer first = buffer.read(targets({"A"}), 0, 3);
  ASSERT_EQ(first.epochs.size(), 3u);
  EXPECT_EQ(first.through, 3u);
  const actors::WatchBuffer::Answer rest = buffer.read(targets({"A"}), first.through, 100);
  ASSERT_EQ(rest.epochs.size(), 6u);  // 4, 5, 6, 8, 9, 10: the aborted 7 changed nothing
  EXPECT_EQ(rest.epochs[3].rfind(R"({"epoch":8,)", 0), 0u) << rest.epochs[3];
}

TEST_F(WatchHistoryTest, ARestartFromACheckpointKeepsTheHistoryThatReachesItAndNotOneThatDoesNot) {
  {
    actors::WatchBuffer buffer(2, actors::kWatchChangesKept, open());
    buffer.restored(0);
    for (codec::Epoch e = 1; e <= 6; ++e) buffer.ran(e, true, {change(1, "x", static_cast<std::int64_t>(e), e)});
  }
  {
    // The coordinator restarts from its checkpoint of epoch 4 and runs the log again: the
    // epochs held are not held twice, and a cursor from before the checkpoint is answered.
    actors::WatchBuffer buffer(2, actors::kWatchChangesKept, open());
    buffer.restored(4);
    for (codec::Epoch e = 5; e <= 8; ++e) buffer.ran(e, true, {change(1, "x", static_cast<std::int64_t>(e), e)});
    const actors::WatchBuffer::Answer a = buffer.read(targets({"A"}), 0, 100);
    EXPECT_FALSE(a.resume);
    ASSERT_EQ(a.epochs.size(), 8u);
    for (std::size_t i = 0; i < a.epochs.size(); ++i) {
      EXPECT_EQ(a.epochs[i].rfind("{\"epoch\":" + std::to_string(i + 1) + ",", 0), 0u) << a.epochs[i];
    }
    EXPECT_EQ(buffer.history_errors(), 0u);
  }
  // A history behind the checkpoint the log runs from (it lost epochs) starts there again.
  actors::WatchBuffer buffer(2, actors::kWatchChangesKept, open());
  buffer.restored(12);
  buffer.ran(13, true, {change(1, "x", 13, 13)});
  EXPECT_EQ(buffer.reach(), 12u);
  EXPECT_TRUE(buffer.read(targets({"A"}), 11, 100).resume);
  const actors::WatchBuffer::Answer a = buffer.read(targets({"A"}), 12, 100);
  EXPECT_FALSE(a.resume);
  EXPECT_EQ(a.epochs.size(), 1u);
}

/// A history that forwards to another until it is cut off: then writes are lost, as a
/// killed coordinator's epochs not yet written are.
class Severable final : public actors::WatchHistory {
 public:
  Severable(actors::WatchHistory& to, const bool& cut) : to_(to), cut_(cut) {}
  codec::Epoch floor() const override { return to_.floor(); }
  codec::Epoch newest() const override { return to_.newest(); }
  Status add(const std::vector<HeldEpoch>& epochs) override { return cut_ ? Status::ok() : to_.add(epochs); }
  Status reset(codec::Epoch epoch) override { return cut_ ? Status::ok() : to_.reset(epoch); }
  Status truncate(codec::Epoch epoch) override { return cut_ ? Status::ok() : to_.truncate(epoch); }
  std::uint64_t bytes() const override { return to_.bytes(); }
  Result<std::vector<HeldEpoch>> read(codec::Epoch from, std::size_t epochs_max, std::size_t bytes_max) override {
    return to_.read(from, epochs_max, bytes_max);
  }

 private:
  actors::WatchHistory& to_;
  const bool& cut_;
};

TEST_F(WatchHistoryTest, EpochsNotWrittenYetAreWrittenInBatchesAndAtACheckpointAndAKillLosesOnlyWhatTheLogRunsAgain) {
  auto lmdb = open();
  bool cut = false;
  {
    actors::WatchBuffer buffer(2, actors::kWatchChangesKept, std::make_unique<Severable>(*lmdb, cut));
    buffer.restored(0);
    const codec::Epoch last = actors::kWatchHistoryBatchEpochs + 10;
    for (codec::Epoch e = 1; e <= last; ++e) {
      buffer.ran(e, true, {change(1, "x", static_cast<std::int64_t>(e), e)});
      // Written a batch at a time: nothing before the first batch is full.
      EXPECT_EQ(lmdb->newest(), e < actors::kWatchHistoryBatchEpochs ? 0 : actors::kWatchHistoryBatchEpochs);
    }
    buffer.checkpointed();  // the driver took a checkpoint of `last`
    EXPECT_EQ(lmdb->newest(), last);
    buffer.ran(last + 1, true, {change(1, "x", 0, last + 1)});
    buffer.ran(last + 2, true, {change(1, "x", 0, last + 2)});
    cut = true;  // killed: the last two epochs are never written
  }
  EXPECT_EQ(lmdb->newest(), actors::kWatchHistoryBatchEpochs + 10);
  // Started again from the checkpoint: the log runs the two epochs again, and the history
  // gets them; a cursor from 0 gets every epoch.
  cut = false;
  actors::WatchBuffer buffer(2, actors::kWatchChangesKept, std::make_unique<Severable>(*lmdb, cut));
  const codec::Epoch checkpoint = actors::kWatchHistoryBatchEpochs + 10;
  buffer.restored(checkpoint);
  buffer.ran(checkpoint + 1, true, {change(1, "x", 0, checkpoint + 1)});
  buffer.ran(checkpoint + 2, true, {change(1, "x", 0, checkpoint + 2)});
  buffer.ran(checkpoint + 3, true, {change(1, "x", 0, checkpoint + 3)});
  actors::WatchBuffer::Answer a = buffer.read(targets({"A"}), 0, actors::kWatchEpochsPerAnswerMax);
  EXPECT_FALSE(a.resume);
  ASSERT_EQ(a.epochs.size(), checkpoint + 3);
  for (std::size_t i = 0; i < a.epochs.size(); ++i) {
    EXPECT_EQ(a.epochs[i].rfind("{\"epoch\":" + std::to_string(i + 1) + ",", 0), 0u) << a.epochs[i];
  }
}

TEST_F(WatchHistoryTest, ASubscriberReadsTheHistoryWhileTheDriverAddsEpochs) {
  // The driver's thread adds epochs while this one polls from 0 again and again: every
  // answer is the epochs in order, each with its own value, none missing.
  actors::WatchBuffer buffer(8, actors::kWatchChangesKept, open(7, 1'000'000));
  buffer.restored(0);
  constexpr codec::Epoch kEpochs = 3000;
  std::thread driver([&] {
    for (codec::Epoch e = 1; e <= kEpochs; ++e) {
      buffer.ran(e, true, {change(1, "x", static_cast<std::int64_t>(e), e)});
    }
  });
  struct Join {  // also when an assertion returns early
    std::thread& thread;
    ~Join() {
      if (thread.joinable()) thread.join();
    }
  } join{driver};
  std::size_t polls = 0;
  codec::Epoch seen = 0;
  // Bounded: each pass reads at most kEpochs epochs, and the driver ends.
  for (int pass = 0; pass < 100'000 && seen < kEpochs; ++pass) {
    codec::Epoch from = 0;
    for (int poll = 0; poll < 10'000; ++poll) {
      const actors::WatchBuffer::Answer a = buffer.read(targets({"A#1.x"}), from, 100);
      ++polls;
      ASSERT_FALSE(a.resume) << "from " << from << ", reach " << buffer.reach();
      for (std::size_t i = 0; i < a.epochs.size(); ++i) {
        const codec::Epoch e = from + i + 1;
        ASSERT_EQ(a.epochs[i], "{\"epoch\":" + std::to_string(e) + ",\"changes\":[{\"ref\":\"A#1\",\"field\":\"x\",\"value\":" +
                                   std::to_string(e) + ",\"version\":" + std::to_string(e) + "}]}");
      }
      ASSERT_EQ(a.through, from + a.epochs.size()) << "poll " << poll;
      if (a.epochs.empty()) break;
      from = a.through;
    }
    seen = std::max(seen, from);
  }
  driver.join();
  EXPECT_GT(polls, 1u);
  EXPECT_EQ(buffer.history_errors(), 0u);
  const actors::WatchBuffer::Answer all = buffer.read(targets({"A"}), 0, actors::kWatchEpochsPerAnswerMax);
  EXPECT_EQ(all.epochs.size(), actors::kWatchEpochsPerAnswerMax);
}

/// A history whose writes fail (a full disk), and whose resets fail when told to.
class Failing final : public actors::WatchHistory {
 public:
  explicit Failing(bool resets_fail) : resets_fail_(resets_fail) {}
  codec::Epoch floor() const override { return floor_; }
  codec::Epoch newest() const override { return newest_; }
  Status add(const std::vector<HeldEpoch>&) override { return Status(StatusCode::io_error, "disk full"); }
  Status reset(codec::Epoch epoch) override {
    if (resets_fail_) return Status(StatusCode::io_error, "disk gone");
    floor_ = newest_ = epoch;
    return Status::ok();
  }
  Status truncate(codec::Epoch epoch) override { return reset(epoch); }
  Result<std::vector<HeldEpoch>> read(codec::Epoch, std::size_t, std::size_t) override {
    return std::vector<HeldEpoch>{};
  }
  std::uint64_t bytes() const override { return 0; }

 private:
  bool resets_fail_;
  codec::Epoch floor_ = 0;
  codec::Epoch newest_ = 0;
};

TEST_F(WatchHistoryTest, AFailingHistoryIsSaidStartsAgainAfterTheEpochAndIsDroppedWhenItCannot) {
  for (const bool resets_fail : {false, true}) {
    SCOPED_TRACE(resets_fail ? "resets fail" : "resets succeed");
    actors::WatchBuffer buffer(2, actors::kWatchChangesKept, std::make_unique<Failing>(resets_fail));
    std::vector<std::string> said;
    buffer.set_on_history_error([&](const std::string& error) { said.push_back(error); });
    buffer.restored(0);
    for (codec::Epoch e = 1; e <= actors::kWatchHistoryBatchEpochs; ++e) {
      buffer.ran(e, true, {change(1, "x", static_cast<std::int64_t>(e), e)});
    }
    ASSERT_EQ(said.size(), 1u);
    EXPECT_EQ(buffer.history_error(), said[0]);
    if (!resets_fail) {
      EXPECT_EQ(said[0], "disk full (it starts again after epoch 64)");
      EXPECT_EQ(buffer.history_errors(), 1u);
      EXPECT_EQ(buffer.reach(), 62u);  // the memory's 2 epochs; the history holds none
    } else {
      EXPECT_EQ(said[0], "disk gone (no history is kept from now on)");
      EXPECT_EQ(buffer.history_errors(), 2u);
      EXPECT_EQ(buffer.reach(), 62u);
    }
    // Never an epoch it does not hold: a cursor behind the memory resumes.
    EXPECT_TRUE(buffer.read(targets({"A"}), 10, 100).resume);
    EXPECT_EQ(buffer.read(targets({"A"}), 62, 100).epochs.size(), 2u);
  }
}

}  // namespace
}  // namespace mgraph::node

// Effect deliveries (session/effect_delivery.hpp) on a clock the test moves: a consumer
// that never acks ends dead-lettered after max_attempts sends at the policy's times; a late
// ack after a redelivery settles it once; a second ack and an unknown key change nothing;
// dead letters are retried and dropped.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>

#include "mgraph/session/effect_delivery.hpp"
#include "support/prng.hpp"

namespace mgraph::session {
namespace {

using std::chrono::milliseconds;

const DeliveryTime t0 = DeliveryTime{} + std::chrono::hours(1);

RetryPolicy short_policy() {
  RetryPolicy p;
  p.initial = milliseconds(100);
  p.multiplier = 2;
  p.max_delay = milliseconds(300);
  p.max_attempts = 4;
  return p;
}

EffectPayload payload(RecordId record) { return {record, "Order.big", Value(true), false, {}, Value()}; }

/// Calls due() every millisecond from `from` to `to` and records when each key was sent.
std::vector<std::pair<milliseconds, std::uint32_t>> drive(EffectDeliveries& d, DeliveryTime from,
                                                          DeliveryTime to) {
  std::vector<std::pair<milliseconds, std::uint32_t>> sends;
  for (DeliveryTime t = from; t <= to; t += milliseconds(1)) {
    for (const Delivery& x : d.due(t)) {
      sends.emplace_back(std::chrono::duration_cast<milliseconds>(t - t0), x.attempts);
    }
  }
  return sends;
}

TEST(EffectDelivery, ANeverAckingConsumerEndsDeadLetteredAfterMaxAttemptsAtThePolicysTimes) {
  EffectDeliveries d;
  const DeliveryKey key{7, 3};
  ASSERT_TRUE(d.offer(key, 12, payload(5), short_policy(), t0).is_ok());
  const auto sends = drive(d, t0, t0 + milliseconds(2'000));
  // Sent at once, then after 100, 200 and 300 (capped) ms; dead 300 ms after the fourth.
  const std::vector<std::pair<milliseconds, std::uint32_t>> want = {
      {milliseconds(0), 1}, {milliseconds(100), 2}, {milliseconds(300), 3}, {milliseconds(600), 4}};
  EXPECT_EQ(sends, want);
  EXPECT_EQ(d.pending(), 0u);
  const std::vector<Delivery> dead = d.dead_letters();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].key, key);
  EXPECT_EQ(dead[0].epoch, 12u);
  EXPECT_EQ(dead[0].payload, payload(5));
  EXPECT_EQ(dead[0].attempts, 4u);
  EXPECT_EQ(dead[0].next_due, t0 + milliseconds(900));
  EXPECT_FALSE(d.next_wakeup().has_value());
}

TEST(EffectDelivery, ADeliveryDiesOnlyWhenTheLastAttemptsDelayHasPassed) {
  EffectDeliveries d;
  RetryPolicy p = short_policy();
  p.max_attempts = 1;
  ASSERT_TRUE(d.offer({1, 1}, 1, payload(1), p, t0).is_ok());
  ASSERT_EQ(d.due(t0).size(), 1u);
  EXPECT_EQ(d.next_wakeup(), t0 + milliseconds(100));
  EXPECT_TRUE(d.due(t0 + milliseconds(99)).empty());
  EXPECT_TRUE(d.dead_letters().empty());
  EXPECT_TRUE(d.due(t0 + milliseconds(100)).empty());
  EXPECT_EQ(d.dead_letters().size(), 1u);
}

TEST(EffectDelivery, ALateAckAfterARedeliveryWinsOnceAndTheDeliveryIsGone) {
  EffectDeliveries d;
  const DeliveryKey key{7, 3};
  ASSERT_TRUE(d.offer(key, 12, payload(5), short_policy(), t0).is_ok());
  ASSERT_EQ(d.due(t0).size(), 1u);
  const std::vector<Delivery> again = d.due(t0 + milliseconds(100));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 2u);
  // The consumer acks both sends it got: the first ack settles, the second is a duplicate.
  EXPECT_EQ(d.ack(key), AckOutcome::acked);
  EXPECT_EQ(d.ack(key), AckOutcome::duplicate);
  EXPECT_EQ(d.pending(), 0u);
  EXPECT_TRUE(drive(d, t0 + milliseconds(100), t0 + milliseconds(5'000)).empty());
  EXPECT_TRUE(d.dead_letters().empty());
  // Offered again (an epoch replayed after a restart): still settled, nothing to send.
  ASSERT_TRUE(d.offer(key, 12, payload(5), short_policy(), t0).is_ok());
  EXPECT_EQ(d.pending(), 0u);
}

TEST(EffectDelivery, AckingAnUnknownKeyOrAnOlderVersionChangesNothing) {
  EffectDeliveries d;
  ASSERT_TRUE(d.offer({7, 3}, 12, payload(5), short_policy(), t0).is_ok());
  EXPECT_EQ(d.ack({7, 2}), AckOutcome::unknown);  // a stale ack of an older version
  EXPECT_EQ(d.ack({8, 3}), AckOutcome::unknown);
  EXPECT_EQ(d.pending(), 1u);
  EXPECT_EQ(d.due(t0).size(), 1u);
  EXPECT_STREQ(ack_outcome_name(AckOutcome::unknown), "unknown");
}

TEST(EffectDelivery, DeadLettersAreRetriedFromAttemptOneOrDropped) {
  EffectDeliveries d;
  RetryPolicy p = short_policy();
  p.max_attempts = 1;
  ASSERT_TRUE(d.offer({1, 1}, 1, payload(1), p, t0).is_ok());
  ASSERT_TRUE(d.offer({2, 1}, 1, payload(2), p, t0).is_ok());
  ASSERT_EQ(d.due(t0).size(), 2u);
  EXPECT_TRUE(d.due(t0 + milliseconds(100)).empty());
  ASSERT_EQ(d.dead_letters().size(), 2u);

  const DeliveryTime later = t0 + milliseconds(1'000);
  ASSERT_TRUE(d.retry({1, 1}, later).is_ok());
  const std::vector<Delivery> sent = d.due(later);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].key, (DeliveryKey{1, 1}));
  EXPECT_EQ(sent[0].attempts, 1u);
  EXPECT_EQ(d.ack({1, 1}), AckOutcome::acked);

  ASSERT_TRUE(d.drop({2, 1}).is_ok());
  EXPECT_TRUE(d.dead_letters().empty());
  EXPECT_EQ(d.ack({2, 1}), AckOutcome::duplicate);
  const Status again = d.drop({2, 1});
  EXPECT_EQ(again.to_string(), "not found: no dead letter 2:1");
  EXPECT_EQ(d.retry({9, 9}, later).to_string(), "not found: no dead letter 9:9");
}

TEST(EffectDelivery, AnAckOfADeadLetterSettlesIt) {
  EffectDeliveries d;
  RetryPolicy p = short_policy();
  p.max_attempts = 1;
  ASSERT_TRUE(d.offer({1, 1}, 1, payload(1), p, t0).is_ok());
  ASSERT_EQ(d.due(t0).size(), 1u);
  EXPECT_TRUE(d.due(t0 + milliseconds(100)).empty());
  EXPECT_EQ(d.ack({1, 1}), AckOutcome::acked_dead_letter);
  EXPECT_TRUE(d.dead_letters().empty());
  EXPECT_EQ(d.ack({1, 1}), AckOutcome::duplicate);
}

TEST(EffectDelivery, DueSendsEarliestFirstUpToTheLimitAndKeepsTheRestDue) {
  EffectDeliveries d;
  for (std::uint64_t v = 1; v <= 5; ++v) {
    ASSERT_TRUE(d.offer({1, v}, v, payload(v), short_policy(), t0 + milliseconds(v)).is_ok());
  }
  const std::vector<Delivery> first = d.due(t0 + milliseconds(10), 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].key.version, 1u);
  EXPECT_EQ(first[1].key.version, 2u);
  EXPECT_EQ(d.due(t0 + milliseconds(10)).size(), 3u);
}

TEST(EffectDelivery, DeliveriesDieOnTimeWhenAPollTakesNoneAndAfterARestore) {
  EffectDeliveries d;
  RetryPolicy once = short_policy();
  once.max_attempts = 1;
  ASSERT_TRUE(d.offer({1, 1}, 1, payload(1), once, t0).is_ok());
  ASSERT_TRUE(d.offer({2, 1}, 1, payload(2), short_policy(), t0).is_ok());
  ASSERT_EQ(d.due(t0).size(), 2u);  // both sent once; {1, 1} had its last attempt
  // Polls that send nothing (limit 0, or only unwanted effects) still find the death.
  EXPECT_TRUE(d.due(t0 + milliseconds(100), 0).empty());
  EXPECT_EQ(d.dead(), 1u);
  EXPECT_NE(d.find_dead({1, 1}), nullptr);
  EXPECT_EQ(d.find_dead({1, 1})->next_due, t0 + milliseconds(100));
  EXPECT_EQ(d.pending(), 1u);
  // A restored delivery that had its last attempt dies at the restore's time, unsent.
  OwedDeliveries owed = d.owed();
  ASSERT_EQ(owed.pending.size(), 1u);
  owed.pending[0].attempts = owed.pending[0].policy.max_attempts;
  EffectDeliveries restored;
  restored.restore(owed, t0 + milliseconds(500));
  EXPECT_TRUE(restored.due(t0 + milliseconds(500)).empty());
  EXPECT_EQ(restored.pending(), 0u);
  EXPECT_EQ(restored.dead(), 2u);
  // Acked in its last attempt's delay: it does not die.
  EffectDeliveries acked;
  ASSERT_TRUE(acked.offer({3, 1}, 1, payload(3), once, t0).is_ok());
  ASSERT_EQ(acked.due(t0).size(), 1u);
  EXPECT_EQ(acked.ack({3, 1}), AckOutcome::acked);
  EXPECT_TRUE(acked.due(t0 + milliseconds(1000)).empty());
  EXPECT_EQ(acked.dead(), 0u);
}

TEST(EffectDelivery, AnAttemptChangeRevivesARetriedDeadLetterAndAtItsLastAttemptItDies) {
  using Kind = DeliveryChange::Kind;
  RetryPolicy p = short_policy();  // 4 attempts
  EffectDeliveries d;
  ASSERT_TRUE(d.offer({1, 1}, 1, payload(1), p, t0).is_ok());
  ASSERT_TRUE(d.offer({2, 1}, 1, payload(2), p, t0).is_ok());
  // {1,1} dead as rebuilt, retried and sent since (the log's last change: an attempt).
  ASSERT_TRUE(d.apply({{1, 1}, Kind::died, 4, {}}, t0));
  EXPECT_TRUE(d.apply({{1, 1}, Kind::attempted, 1, {}}, t0));
  EXPECT_EQ(d.dead(), 0u);
  ASSERT_NE(d.find_pending({1, 1}), nullptr);
  EXPECT_EQ(d.find_pending({1, 1})->attempts, 1u);
  // {2,1} had its last attempt: it dies at the restart's time, unsent (as restore does).
  EXPECT_TRUE(d.apply({{2, 1}, Kind::attempted, 4, {}}, t0));
  std::vector<DeliveryKey> died;
  const std::vector<Delivery> sent = d.due(t0, SIZE_MAX, {}, &died);
  EXPECT_EQ(died, (std::vector<DeliveryKey>{{2, 1}}));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].key, (DeliveryKey{1, 1}));
  EXPECT_EQ(sent[0].attempts, 2u);
  EXPECT_EQ(d.find_dead({2, 1})->attempts, 4u);
}

TEST(EffectDelivery, DueNamesTheDeliveriesThatDiedAndApplyRebuildsWhatChangesLeft) {
  using Kind = DeliveryChange::Kind;
  EffectDeliveries d;
  RetryPolicy once = short_policy();
  once.max_attempts = 1;
  for (std::uint64_t r = 1; r <= 3; ++r) ASSERT_TRUE(d.offer({r, 1}, 1, payload(r), once, t0).is_ok());
  ASSERT_EQ(d.due(t0).size(), 3u);
  std::vector<DeliveryKey> died;
  EXPECT_TRUE(d.due(t0 + milliseconds(100), SIZE_MAX, {}, &died).empty());
  EXPECT_EQ(died, (std::vector<DeliveryKey>{{1, 1}, {2, 1}, {3, 1}}));

  // A restart rebuilds them pending (a replayed offer); the log's last change of each
  // makes them what they were: dead with its attempts, pending again, forgotten.
  EffectDeliveries again;
  for (std::uint64_t r = 1; r <= 4; ++r) ASSERT_TRUE(again.offer({r, 1}, 1, payload(r), short_policy(), t0).is_ok());
  EXPECT_TRUE(again.apply({{1, 1}, Kind::died, 3, {}}, t0));
  ASSERT_NE(again.find_dead({1, 1}), nullptr);
  EXPECT_EQ(again.find_dead({1, 1})->attempts, 3u);
  EXPECT_FALSE(again.apply({{2, 1}, Kind::retried, 0, {}}, t0));  // pending already
  EXPECT_NE(again.find_pending({2, 1}), nullptr);
  EXPECT_TRUE(again.apply({{3, 1}, Kind::dropped, 0, {}}, t0));  // pending, as rebuilt
  EXPECT_EQ(again.ack({3, 1}), AckOutcome::duplicate);
  EXPECT_FALSE(again.apply({{9, 1}, Kind::died, 1, {}}, t0));  // not offered: nothing changes
  // Over a dead letter: retried makes it pending from attempt 1, dropped forgets it.
  EXPECT_TRUE(again.apply({{1, 1}, Kind::retried, 0, {}}, t0 + milliseconds(5)));
  const std::vector<Delivery> sent = again.due(t0 + milliseconds(5));
  ASSERT_EQ(sent.size(), 3u);  // {2,1} and {4,1}, due since t0; then {1,1} again
  EXPECT_EQ(sent[2].key, (DeliveryKey{1, 1}));
  EXPECT_EQ(sent[2].attempts, 1u);
  EXPECT_TRUE(again.apply({{4, 1}, Kind::died, 1, {}}, t0 + milliseconds(6)));
  EXPECT_TRUE(again.apply({{4, 1}, Kind::dropped, 0, {}}, t0 + milliseconds(6)));
  EXPECT_EQ(again.dead(), 0u);
  EXPECT_EQ(again.ack({4, 1}), AckOutcome::duplicate);
  // Nothing dies or is sent that a change removed.
  EXPECT_EQ(again.pending(), 2u);
  // attempted: a restart keeps the attempts a delivery was sent after its checkpoint.
  EXPECT_TRUE(again.apply({{2, 1}, Kind::attempted, 2, "g"}, t0 + milliseconds(7)));
  EXPECT_EQ(again.find_pending({2, 1})->attempts, 2u);
  EXPECT_EQ(again.next_wakeup(), t0 + milliseconds(7));  // due at once, as restored
  EXPECT_FALSE(again.apply({{9, 1}, Kind::attempted, 1, {}}, t0));  // not offered
  EXPECT_STREQ(delivery_change_name(Kind::died), "died");
  EXPECT_STREQ(delivery_change_name(Kind::attempted), "attempted");
  EXPECT_STREQ(delivery_change_name(Kind::dropped), "dropped");
}

TEST(EffectDelivery, TheOldestOwedOfARecordsEffectIsFoundPendingOrDead) {
  EffectDeliveries d;
  RetryPolicy once = short_policy();
  once.max_attempts = 1;
  auto of = [](RecordId record, const char* effect) {
    return EffectPayload{record, effect, Value(true), false, {}, Value()};
  };
  ASSERT_TRUE(d.offer({5, 2}, 1, of(1, "Order.big"), once, t0).is_ok());
  ASSERT_TRUE(d.offer({5, 3}, 2, of(1, "Order.big"), short_policy(), t0).is_ok());
  ASSERT_TRUE(d.offer({9, 1}, 1, of(2, "Order.big"), short_policy(), t0).is_ok());
  ASSERT_TRUE(d.offer({7, 1}, 1, of(1, "Order.bigger"), short_policy(), t0).is_ok());
  ASSERT_EQ(d.due(t0, 1).size(), 1u);  // {5, 2}: its only attempt
  ASSERT_TRUE(d.due(t0 + milliseconds(100), 0).empty());
  ASSERT_NE(d.find_dead({5, 2}), nullptr);
  EXPECT_EQ(d.oldest_of(1, "big"), (DeliveryKey{5, 2}));  // the dead letter is older
  EXPECT_EQ(d.ack({5, 2}), AckOutcome::acked_dead_letter);
  EXPECT_EQ(d.oldest_of(1, "big"), (DeliveryKey{5, 3}));
  EXPECT_EQ(d.oldest_of(2, "big"), (DeliveryKey{9, 1}));
  EXPECT_EQ(d.oldest_of(1, "bigger"), (DeliveryKey{7, 1}));
  EXPECT_EQ(d.oldest_of(1, "ig"), std::nullopt);  // names match whole
  EXPECT_EQ(d.oldest_of(3, "big"), std::nullopt);
}

RetryPolicy counted_policy() {
  RetryPolicy p = short_policy();
  p.mode = schema::DeliveryMode::counted;
  return p;
}

EffectPayload counted(RecordId record, std::int64_t count) {
  return {record, "Order.jobs", Value(count), false, {}, Value()};
}

TEST(EffectDelivery, CountedTriggersBeforeTheFirstSendMakeOneDeliveryThatSettlesThemAll) {
  EffectDeliveries d;
  ASSERT_TRUE(d.offer({4, 1}, 1, counted(2, 1), counted_policy(), t0).is_ok());
  ASSERT_TRUE(d.offer({4, 2}, 2, counted(2, 2), counted_policy(), t0 + milliseconds(5)).is_ok());
  ASSERT_TRUE(d.offer({4, 3}, 3, counted(2, 3), counted_policy(), t0 + milliseconds(6)).is_ok());
  // Another effect node is a delivery of its own.
  ASSERT_TRUE(d.offer({6, 1}, 3, counted(3, 1), counted_policy(), t0 + milliseconds(7)).is_ok());
  EXPECT_EQ(d.pending(), 2u);
  std::vector<Delivery> sent = d.due(t0 + milliseconds(10));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].key, (DeliveryKey{4, 3}));  // in the place of the first trigger
  EXPECT_EQ(sent[0].covered, (std::vector<DeliveryKey>{{4, 1}, {4, 2}}));
  EXPECT_EQ(sent[0].epoch, 3u);
  EXPECT_EQ(sent[0].payload, counted(2, 3));
  EXPECT_EQ(d.owner_of({4, 1}), (DeliveryKey{4, 3}));
  EXPECT_EQ(d.owner_of({4, 3}), std::nullopt);
  // Once sent, the next trigger starts a delivery of its own.
  ASSERT_TRUE(d.offer({4, 4}, 4, counted(2, 4), counted_policy(), t0 + milliseconds(11)).is_ok());
  EXPECT_EQ(d.pending(), 3u);
  EXPECT_TRUE(d.find_pending({4, 4})->covered.empty());
  // A script's ack settles the oldest trigger, a covered one; the delivery stands for the rest.
  EXPECT_EQ(d.oldest_of(2, "jobs"), (DeliveryKey{4, 1}));
  EXPECT_EQ(d.ack({4, 1}), AckOutcome::acked);
  EXPECT_EQ(d.find_pending({4, 3})->covered, (std::vector<DeliveryKey>{{4, 2}}));
  EXPECT_EQ(d.ack({4, 3}), AckOutcome::acked);
  EXPECT_EQ(d.ack({4, 2}), AckOutcome::duplicate);  // settled with its delivery
  EXPECT_EQ(d.ack({4, 1}), AckOutcome::duplicate);
  // Offered again (a replayed epoch): nothing changes.
  ASSERT_TRUE(d.offer({4, 2}, 2, counted(2, 2), counted_policy(), t0 + milliseconds(12)).is_ok());
  EXPECT_EQ(d.pending(), 2u);
}

TEST(EffectDelivery, ACountedDeliveryDiesWholeAndACheckpointKeepsWhatItCovers) {
  EffectDeliveries d;
  ASSERT_TRUE(d.offer({4, 1}, 1, counted(2, 1), counted_policy(), t0).is_ok());
  ASSERT_TRUE(d.offer({4, 2}, 1, counted(2, 2), counted_policy(), t0).is_ok());
  // Restored before any send, a later trigger still joins it.
  EffectDeliveries again;
  again.restore(d.owed(), t0);
  ASSERT_TRUE(again.offer({4, 3}, 2, counted(2, 3), counted_policy(), t0).is_ok());
  EXPECT_EQ(again.pending(), 1u);
  EXPECT_EQ(again.find_pending({4, 3})->covered, (std::vector<DeliveryKey>{{4, 1}, {4, 2}}));
  // Never acknowledged: it dies whole, and its covered keys are settled when it is dropped.
  (void)drive(again, t0, t0 + milliseconds(2'000));
  ASSERT_EQ(again.dead(), 1u);
  EXPECT_EQ(again.find_dead({4, 3})->covered.size(), 2u);
  EffectDeliveries restored;
  restored.restore(again.owed(), t0);
  ASSERT_EQ(restored.dead(), 1u);
  EXPECT_EQ(restored.find_dead({4, 3})->covered, again.find_dead({4, 3})->covered);
  EXPECT_EQ(restored.find_dead({4, 3})->attempts, 4u);
  EXPECT_EQ(restored.owner_of({4, 2}), (DeliveryKey{4, 3}));
  EXPECT_EQ(restored.ack({4, 2}), AckOutcome::acked_dead_letter);  // one trigger of the dead letter
  ASSERT_TRUE(restored.drop({4, 3}).is_ok());
  EXPECT_EQ(restored.ack({4, 1}), AckOutcome::duplicate);
  EXPECT_EQ(restored.owner_of({4, 1}), std::nullopt);
}

TEST(EffectDelivery, ACountedDeliveryStandsForAtMostItsBoundOfTriggers) {
  EffectDeliveries d;
  for (std::uint64_t v = 1; v <= kCountedTriggersMax + 1; ++v) {
    ASSERT_TRUE(d.offer({4, v}, v, counted(2, static_cast<std::int64_t>(v)), counted_policy(), t0).is_ok());
  }
  EXPECT_EQ(d.pending(), 2u);
  EXPECT_EQ(d.find_pending({4, kCountedTriggersMax})->covered.size(), kCountedTriggersMax - 1);
  EXPECT_TRUE(d.find_pending({4, kCountedTriggersMax + 1})->covered.empty());
}

// Random offers, sends, acks (of deliveries and of covered keys), deaths, retries, drops and
// checkpoint round trips of counted deliveries: after every step each key offered is in
// exactly one place — a delivery's own key (pending or dead), covered by one, or settled —
// every covered key names a delivery that lists it, and what the deliveries stand for plus
// what is settled is what was offered. An unsent delivery of a field takes the next trigger.
TEST(EffectDelivery, CountedDeliveriesAccountForEveryTriggerUnderRandomSteps) {
  constexpr std::uint64_t kSeeds = 200;
  constexpr int kSteps = 300;
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    testing::Prng rng(seed);
    EffectDeliveries d;
    DeliveryTime now = t0;
    std::vector<DeliveryKey> offered;
    std::map<std::uint64_t, std::uint64_t> last_version;  // field -> newest version offered
    for (int step = 0; step < kSteps; ++step) {
      const std::uint64_t op = rng.below(100);
      if (op < 45) {
        const std::uint64_t field = 1 + rng.below(3);
        const DeliveryKey key{field, ++last_version[field]};
        // The field's newest pending delivery, when not sent since it was offered or retried:
        // the new trigger must join it.
        std::optional<DeliveryKey> unsent;
        for (const Delivery& x : d.owed().pending) {
          if (x.key.field == field) unsent = x.attempts == 0 ? std::optional(x.key) : std::nullopt;
        }
        if (unsent && d.find_pending(*unsent)->covered.size() + 1 >= kCountedTriggersMax) unsent.reset();
        const std::size_t pending_before = d.pending();
        ASSERT_TRUE(d.offer(key, key.version, counted(field, 1), counted_policy(), now).is_ok());
        offered.push_back(key);
        if (unsent) {
          EXPECT_EQ(d.pending(), pending_before);
          EXPECT_EQ(d.owner_of(*unsent), key) << "step " << step;
        } else {
          EXPECT_EQ(d.pending(), pending_before + 1);
        }
      } else if (op < 65) {
        (void)d.due(now, 1 + rng.below(3));
      } else if (op < 80 && !offered.empty()) {
        (void)d.ack(offered[rng.below(offered.size())]);
      } else if (op < 85) {
        now += milliseconds(rng.below(400));
      } else if (op < 90) {
        const std::vector<Delivery> dead = d.dead_letters();
        if (!dead.empty()) {
          const DeliveryKey k = dead[rng.below(dead.size())].key;
          ASSERT_TRUE((rng.below(2) == 0 ? d.retry(k, now) : d.drop(k)).is_ok());
        }
      } else {
        EffectDeliveries again;
        again.restore(d.owed(), now);
        d = std::move(again);
      }
      // Every key offered is in one place.
      const OwedDeliveries owed = d.owed();
      std::map<DeliveryKey, int> places;
      std::size_t stands_for = 0;
      for (const auto* list : {&owed.pending, &owed.dead}) {
        for (const Delivery& x : *list) {
          ++places[x.key];
          stands_for += 1 + x.covered.size();
          for (const DeliveryKey c : x.covered) {
            ++places[c];
            ASSERT_EQ(d.owner_of(c), x.key);
            ASSERT_LT(c, x.key);
          }
        }
      }
      std::size_t settled = 0;
      for (const DeliveryKey k : offered) {
        if (d.settled(k)) {
          ++places[k];
          ++settled;
        }
        ASSERT_EQ(places[k], 1) << "key " << delivery_key_text(k) << " at step " << step;
      }
      ASSERT_EQ(stands_for + settled, offered.size());
    }
  }
}

TEST(EffectDelivery, BadPoliciesAndKeysAreRefusedWithContext) {
  EffectDeliveries d;
  RetryPolicy p;
  p.max_attempts = 0;
  const Status s = d.offer({1, 1}, 1, payload(1), p, t0);
  EXPECT_EQ(s.to_string(),
            "invalid argument: delivery 1:1 of Order.big: max attempts 0 is outside [1, 1000]");
  EXPECT_EQ(d.pending(), 0u);
  auto key = parse_delivery_key("12:3");
  ASSERT_TRUE(key.is_ok());
  EXPECT_EQ(*key, (DeliveryKey{12, 3}));
  EXPECT_EQ(delivery_key_text(*key), "12:3");
  for (const char* bad : {"", "12", "12:", ":3", "a:3", "12:3x", "-1:3"}) {
    const auto r = parse_delivery_key(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().message(),
              std::string{"'"} + bad + "' is no delivery key (FIELD:VERSION, e.g. 12:3)");
  }
}

}  // namespace
}  // namespace mgraph::session

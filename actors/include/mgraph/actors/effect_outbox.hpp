#pragma once
// The cluster's effect deliveries, as the sequencer keeps them (documents.hpp): the
// deliveries core (session/effect_delivery.hpp) fed by the driver's effect reports and
// asked by consumers and the admin socket. No CAF, no clock: the sequencer passes the time.
//
//   driver ──EffectReport(epoch)──▶ report: offer what it raised, settle what it acked
//   consumer ──poll(effects, max)──▶ the deliveries due now, as JSON objects
//   consumer ──ack(key)──▶ start_ack: the batch to run (ack REF.effect with the key; commit)
//                          ... the batch runs as an input transaction ...
//                          finish_ack: the outcome the consumer is told
//
// An ack becomes a transaction only for a key owed now (pending, or a dead letter), and
// only once at a time: a repeated ack, one of a key acknowledged before, or of an older
// version than any owed, runs nothing and is answered duplicate or unknown. The report of
// the epoch that ran it settles the delivery; replaying the log after a restart does the
// same, so what was acknowledged stays acknowledged.
//
// Delivery modes (schema::DeliveryMode): a fire-and-forget delivery, once sent, is in
// take_sent_to_settle() for the sequencer to acknowledge itself, as a consumer would; a
// counted one is acknowledged by a batch of one transaction per trigger it stands for
// (ack, commit), so the effect's count comes down by as many. A delivery whose ack is running is not sent.
//
// What no epoch does — a delivery sent (an attempt), a delivery dying when its last
// attempt goes unacknowledged, an operator's dlq retry or drop — the outbox keeps as
// changes (session::DeliveryChange) until the sequencer takes them to log them
// (take_changes), with the effects a consumer group took (take_claims). After a restart
// the sequencer gives back the last change of each key found in the log (replay_changes),
// and the outbox applies it to the delivery as the checkpoint or a replayed epoch rebuilds
// it: a delivery keeps its attempts, a dead letter stays dead with its attempts, a dropped
// one stays dropped; and each effect goes back to the last group that took it
// (restore_claims).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mgraph/codec/partition_codec.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/session/effect_delivery.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::actors {

/// Deliveries one poll returns at most: a consumer polls again for more, and one answer
/// stays a small message.
inline constexpr std::uint32_t kPollDeliveriesMax = 1024;
/// How long a consumer group keeps its effects after its last poll: another group may take
/// them then. Long beside a consumer's poll interval (a poll waits at most a few seconds),
/// short enough that a group gone for good frees its effects soon.
inline constexpr std::chrono::milliseconds kConsumerGroupLease{30'000};
/// Effect names held by groups at once: a name no group polled within the lease is
/// forgotten first; beyond this, a poll naming new ones is refused (a schema has a few
/// hundred effects; the bound stops a client that polls made-up names from growing it).
inline constexpr std::size_t kClaimedEffectsMax = 10'000;

/// What an outbox did, for the node's metrics: written on the sequencer's thread, read on
/// any other. The counters count events since the node started, not those of epochs run
/// again from the log (which offer and settle their deliveries again); the two gauges are
/// the outbox's state after its last change. A delivery becomes a dead letter when the
/// outbox next looks at its deliveries (a poll, an ack, a dlq command), not on a timer.
struct EffectCounters {
  std::atomic<std::uint64_t> pending{0};       ///< gauge: owed and not dead (sent or not)
  std::atomic<std::uint64_t> dead_letters{0};  ///< gauge: dead letters held
  std::atomic<std::uint64_t> offered{0};       ///< deliveries a committed epoch raised
  std::atomic<std::uint64_t> sent{0};          ///< attempts sent to consumers (polls)
  std::atomic<std::uint64_t> redelivered{0};   ///< of those, attempts after the first
  std::atomic<std::uint64_t> acked{0};         ///< settled by an ack (dead letters included)
  std::atomic<std::uint64_t> dead_lettered{0};  ///< attempts used up without an ack
};

class EffectOutbox {
 public:
  /// `counters`, if given, is kept up to date (the sequencer's metrics).
  explicit EffectOutbox(std::shared_ptr<EffectCounters> counters = nullptr)
      : counters_(std::move(counters)) {}
  /// Takes an epoch's EffectReport (codec/partition_codec.hpp). A refused offer is counted
  /// in errors() with the last one kept: a report never stops the sequencer. `replayed`:
  /// the epoch was run again from the log (its offers and acks not counted).
  void report(std::uint64_t epoch, codec::EffectReport report, session::DeliveryTime now,
              bool replayed = false);
  /// The deliveries of `effects` ("Entity.name"; an async field's name stands for its
  /// requests, "Entity.name@request") due at `now`, at most min(max,
  /// kPollDeliveriesMax), each as the JSON object a consumer prints:
  /// {"key":{"field":F,"version":V},"epoch":E,"record":R,"effect":"…","value":…,"attempt":N}.
  /// A queue's delivery also has "values":{FIELD:V,...} and "time" (the clock at the trigger,
  /// null without one) before "attempt"; a counted one has "count", the triggers it stands
  /// for.
  ///
  /// Consumer groups: an effect's deliveries are owed once (an acknowledgement lowers the
  /// effect), so one group consumes an effect at a time. Its consumers share the deliveries
  /// (each is sent to one of them, and again to any of them until acknowledged); the group
  /// holds the effects it polls until kConsumerGroupLease after its last poll, and a poll of
  /// another group naming one of them is refused (failed_precondition, naming the effect,
  /// its group and how long ago that group polled). The group "" is the consumers that name
  /// none.
  Result<std::vector<std::string>> poll(const std::string& group, const std::vector<std::string>& effects,
                                        std::uint32_t max, session::DeliveryTime now);
  /// The batch acknowledging `key`: an ack op naming the key in its text, then a commit
  /// (before them, such a transaction for each key a counted delivery covers);
  /// or, when nothing is to run, a Status whose message is the outcome: "duplicate" (acked
  /// before, or an ack of it is running) or "unknown".
  /// With `result`, the delivery is the request of an async field (its effect
  /// "Entity.field@request") and the batch resolves it with that value instead: a resolve
  /// op naming the key, which writes the result if the request is still the newest.
  Result<session::Batch> start_ack(session::DeliveryKey key, session::DeliveryTime now,
                                   const Value* result = nullptr);
  /// The outcome for the consumer once the batch of start_ack(key) answered: "acked" or
  /// "acked_dead_letter" ("written" or "superseded" for a result), or "failed: why" (the
  /// delivery stays owed).
  std::string finish_ack(session::DeliveryKey key, const Result<session::BatchResult>& answer);
  /// mgraphctl dlq: "list" ({"dead_letters":[…]}), "retry" and "drop" of `key`
  /// ({"ok":true,"key":"F:V"}); mgraphctl consumers: "consumers" ({"consumer_groups":
  /// [{"effect","group","last_poll_ms","holds"}…]}, by effect); {"error":"…"} otherwise.
  std::string dead_letter_command(const std::string& command, session::DeliveryKey key,
                                  session::DeliveryTime now);

  /// The fire-and-forget deliveries polls sent since the last call: the sequencer
  /// acknowledges each (start_ack, finish_ack) as a consumer would.
  std::vector<session::DeliveryKey> take_sent_to_settle() { return std::exchange(to_settle_, {}); }

  const session::EffectDeliveries& deliveries() const { return deliveries_; }
  /// Takes back the deliveries of a checkpoint (session::EffectDeliveries::restore); no
  /// ack is running then.
  /// The changes of the log's entries apply to the deliveries restored.
  void restore(session::OwedDeliveries owed, session::DeliveryTime now);
  /// The last logged change of each key (a restart's scan of the log, before anything
  /// runs): applied to the deliveries restore() rebuilds and to those the replayed epochs
  /// offer again.
  void replay_changes(std::map<session::DeliveryKey, session::DeliveryChange> last) {
    replayed_changes_ = std::move(last);
  }
  /// The changes made since the last call, in order (the sequencer logs them).
  std::vector<session::DeliveryChange> take_changes() { return std::exchange(changes_, {}); }
  /// The effects a consumer group took since the last call (from no group, or another),
  /// in order: the sequencer logs them with the changes, so that a restart gives each
  /// effect back to its group (restore_claims) instead of to whichever group polls first.
  std::vector<codec::EffectClaim> take_claims() { return std::exchange(claims_changed_, {}); }
  /// The effects held now (within kConsumerGroupLease of their group's last poll): the
  /// sequencer logs them again after a checkpoint's entry, so that compacting the log
  /// before it keeps them.
  std::vector<codec::EffectClaim> live_claims(session::DeliveryTime now) const;
  /// The last claim of each effect that the log held at the start (effect -> group): each
  /// group holds its effects as if it had polled at `now` (at most kClaimedEffectsMax).
  void restore_claims(const std::map<std::string, std::string>& held, session::DeliveryTime now);
  /// Counts a failure that touches the deliveries without stopping them (a change the
  /// log could not keep), keeping the last one.
  void count_error(std::string why) {
    ++errors_;
    last_error_ = std::move(why);
  }
  std::uint64_t errors() const { return errors_; }
  const std::string& last_error() const { return last_error_; }

 private:
  /// deliveries_.due(...), counting the deliveries it makes dead letters.
  std::vector<session::Delivery> due(session::DeliveryTime now, std::size_t limit,
                                     const std::function<bool(const session::Delivery&)>& wanted = {});
  /// Sets the gauges of counters_ to the state now.
  void publish();

  std::shared_ptr<EffectCounters> counters_;  ///< may be null
  session::EffectDeliveries deliveries_;
  /// Keys whose ack batch is running, and whether each was a dead letter.
  std::map<session::DeliveryKey, bool> acking_;
  /// Ok when `group` may consume `effects` at `now`, which then become its own (or stay so).
  Status claim(const std::string& group, const std::vector<std::string>& effects, session::DeliveryTime now);

  /// The group consuming each effect named in a poll, and its last poll.
  struct Claim {
    std::string group;
    session::DeliveryTime last{};
  };
  std::map<std::string, Claim> claims_;
  /// Fire-and-forget deliveries sent and not yet taken by the sequencer.
  std::vector<session::DeliveryKey> to_settle_;
  /// Changes not yet taken by the sequencer, in order.
  std::vector<session::DeliveryChange> changes_;
  /// Claims of effects by a new group not yet taken by the sequencer, in order.
  std::vector<codec::EffectClaim> claims_changed_;
  /// The last change of each key that the log held at the start (replay_changes).
  std::map<session::DeliveryKey, session::DeliveryChange> replayed_changes_;
  std::uint64_t errors_ = 0;
  std::string last_error_;
};

}  // namespace mgraph::actors

#pragma once
// Effect deliveries as a plain state machine: which changes of effect fields are owed to
// consumers, when each is due to be sent (again), and which have become dead letters. No
// clock, threads or I/O: the owner (the cluster's coordinator, a test) passes the time in,
// sends what `due` returns, and feeds acknowledgements back (docs/CLUSTER.md, "Effects").
//
//   offer ──▶ pending ──due(now)──▶ sent (attempt k) ──ack──▶ gone (remembered as acked)
//                ▲                        │ no ack for delay_after(k)
//                │                        ▼
//                │            k < max_attempts: due again
//                │            k = max_attempts: dead letter ──drop──▶ gone
//                └──────────────retry─────────────────┘
//
// A delivery is keyed by its idempotency key, (effect field, version): the version is the
// field's version after the change that triggered it, so every change is a distinct
// delivery, and a consumer that sees a key twice (a resend whose first ack was lost) knows
// it has handled it. Attempts are counted from 1; attempt k+1 is due delay_after(k) after
// attempt k (RetryPolicy, schema.hpp); the last attempt's delay passing unacknowledged
// makes the delivery a dead letter, which stays until `retry` (pending again, attempts from
// 1) or `drop`.
//
// Delivery modes (schema::DeliveryMode) change two things. A fire-and-forget delivery is
// sent like any other; its owner acknowledges it itself as it sends it (the
// state machine knows nothing of that). A counted delivery takes in the triggers of the
// same effect node offered before it is sent: offering key K2 while K1, the field's newest
// pending delivery, has not been sent since it was offered or retried makes one
// delivery, keyed K2, that `covers` K1 (and what K1 covered), in K1's place in the
// schedule (a function of what is owed, so a restore decides as the run before it); acknowledging K2 settles every key it covers,
// and acknowledging a covered key alone settles that one (a replayed epoch's ack, after a
// restart coalesced differently).
//
// Acknowledgements are never errors: acking a pending delivery or a dead letter removes it
// (`acked`, `acked_dead_letter`); acking a key acked or dropped before answers `duplicate`
// and changes nothing (a late or repeated ack after a redelivery); acking a key never
// offered, or forgotten (below), answers `unknown` and changes nothing, which is also how
// a stale ack of a version older than any kept is ignored.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <set>
#include <string>
#include <vector>

#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/graph/value.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::session {

using RetryPolicy = schema::RetryPolicy;
using DeliveryClock = std::chrono::steady_clock;
using DeliveryTime = DeliveryClock::time_point;

/// Deliveries owed (pending and dead letters together): beyond this, a consumer that never
/// acknowledges would grow the owner's memory without bound, so new offers are refused
/// (out_of_range) until some are acknowledged or dropped.
inline constexpr std::size_t kDeliveriesMax = 1'000'000;
/// Keys of acknowledged or dropped deliveries remembered to answer a repeated ack
/// `duplicate`; the oldest are forgotten first (a repeated ack then answers `unknown`,
/// which changes nothing either).
inline constexpr std::size_t kSettledKeysMax = 100'000;

/// Triggers one counted delivery stands for: its acknowledgement is a batch of one ack
/// transaction per trigger, which this keeps far within the batch bounds (the next trigger
/// starts another).
inline constexpr std::size_t kCountedTriggersMax = 1'000;

/// The idempotency key of a delivery: the effect field and its version after the change.
struct DeliveryKey {
  std::uint64_t field = 0;
  std::uint64_t version = 0;
  friend auto operator<=>(const DeliveryKey&, const DeliveryKey&) = default;
};
/// "FIELD:VERSION", the form the shell and mgraphctl print and read.
std::string delivery_key_text(DeliveryKey key);
/// Parses "FIELD:VERSION" (decimal); an error naming the text otherwise.
Result<DeliveryKey> parse_delivery_key(std::string_view text);

/// What a consumer is told.
struct EffectPayload {
  RecordId record = 0;
  std::string effect;  ///< the effect's name ("Order.big")
  Value value;         ///< the effect's value after the change (bool; counter and queue: the count)
  /// A queue's trigger (schema::Store::QueueTrigger): the values of the fields it carries,
  /// by name, and the schema clock at the trigger (null without a clock).
  bool queue = false;
  std::vector<std::pair<std::string, Value>> values;
  Value time;
  friend bool operator==(const EffectPayload&, const EffectPayload&) = default;
};

struct Delivery {
  DeliveryKey key;
  std::uint64_t epoch = 0;  ///< the committed, durable epoch that made the change
  EffectPayload payload;
  RetryPolicy policy;
  std::uint32_t attempts = 0;  ///< sends so far (the one `due` just returned included)
  DeliveryTime next_due{};     ///< pending: when it is due (again); dead: when it died
  /// Counted: the earlier triggers it also stands for, oldest first (their count plus one
  /// is what the consumer is told to handle).
  std::vector<DeliveryKey> covered;
  friend bool operator==(const Delivery&, const Delivery&) = default;
};

enum class AckOutcome : std::uint8_t {
  acked,              ///< a pending delivery, now gone
  acked_dead_letter,  ///< a dead letter, handled after all, now gone
  duplicate,          ///< acked or dropped before: nothing changes
  unknown,            ///< never offered or long forgotten: nothing changes
};
/// "acked", "acked_dead_letter", "duplicate", "unknown".
const char* ack_outcome_name(AckOutcome outcome);

/// What a checkpoint keeps of the deliveries (EffectDeliveries::owed).
struct OwedDeliveries {
  std::vector<Delivery> pending;     ///< in key order
  std::vector<Delivery> dead;        ///< in key order
  std::vector<DeliveryKey> settled;  ///< oldest first
  friend bool operator==(const OwedDeliveries&, const OwedDeliveries&) = default;
};

/// A change of a delivery that no epoch makes: it was sent (an attempt), its last attempt
/// went unacknowledged (it died), or an operator retried or dropped it. The cluster's
/// sequencer logs these (codec::DeliveryChanges) and applies them again after a restart
/// (EffectDeliveries::apply), so that a delivery keeps its attempts, a dead letter stays
/// dead, and a dropped one dropped, across restarts.
struct DeliveryChange {
  /// Values are stored in the log: never renumber, only add.
  enum class Kind : std::uint8_t { died = 1, retried = 2, dropped = 3, attempted = 4 };
  DeliveryKey key;
  Kind kind = Kind::died;
  std::uint32_t attempts = 0;  ///< died: the attempts it was sent; attempted: this attempt's number
  std::string group;           ///< attempted: the consumer group it was sent to ("" for none)
  friend bool operator==(const DeliveryChange&, const DeliveryChange&) = default;
};
/// Largest DeliveryChange::Kind value; a stored kind outside [1, this] is corruption.
inline constexpr std::uint8_t kDeliveryChangeKindMax = 4;
/// "died", "retried", "dropped", "attempted".
const char* delivery_change_name(DeliveryChange::Kind kind);

/// A change a commit, undo or redo made to a field whose versions are kept: an effect, or
/// a field marked @versioned (session/version_ledger.hpp records it). On a cluster the
/// partition owning the record reports it to the coordinator, which keeps the ledger.
struct RecordedChange {
  std::uint64_t node = 0;  ///< the field's node: the same on every partition
  std::uint64_t version = 0;
  Value value;             ///< after the change
  bool effect = false;
  /// A queue effect's trigger, what it carries (schema::Store::queue_trigger_json with
  /// the count); empty for any other field. Used when the change raised the queue.
  std::string queue_trigger;
  friend bool operator==(const RecordedChange&, const RecordedChange&) = default;
};

/// The result of a request of an async field that a committed `resolve` settled: recorded
/// at the request's key (`node`, the field's `F@request` effect; `version`, the request's)
/// with the value and "written" or "superseded" (docs/SCHEMA.md "Async fields").
struct RequestResult {
  std::uint64_t node = 0;
  std::uint64_t version = 0;
  Value value;
  std::string outcome;
  friend bool operator==(const RequestResult&, const RequestResult&) = default;
};

/// Thread-safety: none (an actor owns it).
class EffectDeliveries {
 public:
  /// Adds a delivery, due at `now` (counted: joined with the field's unsent one, see
  /// above). An offer of a key already owed, covered or settled changes nothing and is ok
  /// (an epoch replayed after a restart offers its changes again). out_of_range when
  /// kDeliveriesMax are owed (covered keys included); invalid_argument for a bad policy.
  Status offer(DeliveryKey key, std::uint64_t epoch, EffectPayload payload, RetryPolicy policy,
               DeliveryTime now);

  /// Deliveries to send now (at most `limit`, earliest due first): each gets its attempt
  /// counted and its next due time set. Before that, deliveries whose last attempt went
  /// unacknowledged for its delay become dead letters.
  /// With `wanted`, only the deliveries it accepts are sent (the others stay due, and die
  /// on time all the same). With `died`, the keys of those that became dead letters are
  /// added to it.
  std::vector<Delivery> due(DeliveryTime now, std::size_t limit = SIZE_MAX,
                            const std::function<bool(const Delivery&)>& wanted = {},
                            std::vector<DeliveryKey>* died = nullptr);

  /// Settles `key`: a delivery owed with every key it covers, or one covered key alone.
  AckOutcome ack(DeliveryKey key);
  /// The delivery (pending or dead) that covers `key`, if a counted one does.
  std::optional<DeliveryKey> owner_of(DeliveryKey key) const;

  /// Dead letter `key` pending again, due at `now`, its attempts counted from 1 again.
  /// not_found when `key` is no dead letter.
  Status retry(DeliveryKey key, DeliveryTime now);
  /// Forgets dead letter `key` (a later ack answers duplicate). not_found when it is none.
  Status drop(DeliveryKey key);
  /// Makes the state of `change.key` what the change left it, from whatever state a
  /// restart rebuilt (the last change of each key is applied, over a checkpoint's state or
  /// a replayed offer): died makes a pending delivery a dead letter with its attempts,
  /// retried makes a dead letter pending from attempt 1, dropped forgets the delivery,
  /// pending or dead; attempted makes the delivery pending (a dead letter: retried since)
  /// with that many attempts, due at `now` as restore() makes one (its last attempt had:
  /// dying at `now`). A key in none of those states is left as it is (acknowledged since,
  /// or not offered yet); true when something changed.
  bool apply(const DeliveryChange& change, DeliveryTime now);

  /// Dead letters in key order.
  std::vector<Delivery> dead_letters() const;
  /// Every delivery owed, dead letter and settled key: what a checkpoint keeps.
  OwedDeliveries owed() const;
  /// Replaces everything by `owed` (a checkpoint's): pending deliveries due at `now` with
  /// their attempts counted so far, dead letters dead since `now`.
  void restore(OwedDeliveries owed, DeliveryTime now);
  /// When the next pending delivery is due or dies; none when nothing is pending.
  std::optional<DeliveryTime> next_wakeup() const;
  std::size_t pending() const { return pending_.size(); }
  /// Dead letters held (dead_letters().size(), without the copies).
  std::size_t dead() const { return dead_.size(); }
  /// The oldest trigger owed (pending or dead, a covered one included) of effect `name`
  /// ("big", the field's name in its entity) of `record`: the one an ack naming no key
  /// settles. A scan of every delivery owed: such acks come from scripts, not consumers.
  std::optional<DeliveryKey> oldest_of(RecordId record, std::string_view name) const;
  const Delivery* find_pending(DeliveryKey key) const;
  const Delivery* find_dead(DeliveryKey key) const;
  /// Acknowledged or dropped (and still remembered): an ack now answers duplicate.
  bool settled(DeliveryKey key) const { return settled_.count(key) != 0; }

 private:
  void settle(DeliveryKey key);
  /// Settles what `d` covers (it is settled itself).
  void settle_covered(const Delivery& d);
  /// Indexes the keys delivery `d` covers.
  void index(const Delivery& d);

  std::map<DeliveryKey, Delivery> pending_;
  std::map<DeliveryKey, Delivery> dead_;
  /// Pending keys by when they are next due (or die).
  std::set<std::pair<DeliveryTime, DeliveryKey>> schedule_;
  /// The entries of schedule_ whose deliveries had their last attempt: at that time they
  /// die instead of being sent again.
  std::set<std::pair<DeliveryTime, DeliveryKey>> dying_;
  /// Covered key -> the delivery covering it (pending or dead).
  std::map<DeliveryKey, DeliveryKey> covered_by_;
  std::set<DeliveryKey> settled_;
  std::deque<DeliveryKey> settled_order_;  ///< oldest first, to forget
};

}  // namespace mgraph::session

#pragma once
// Typed operations on a document store: what a script line means, independent of the
// script's text, of where the store lives and of how the operation travels. The one
// command classifier (classifier.hpp) turns a line into an Op; an executor applies a
// batch of Ops to a Store in order (executor.hpp), in this process or on the cluster; the
// printer (printer.hpp) turns each OpResult into the line `mgraph eval` prints. The codec
// encodes both (codec/session_codec.hpp) for the client protocol and the input log.
//
// A batch is applied in order, each op seeing the effect of the ones before it, exactly as
// the lines of a script are; a failing op changes nothing of its own and the batch goes on.
// A record created earlier in the same batch is named by the index of its create op
// (RecordRef::created_by), because its id is known only once the batch runs.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph::session {

using RecordId = std::uint64_t;

/// Operations in one batch at most: a batch is one request of the client protocol.
inline constexpr std::size_t kBatchOpsMax = std::size_t{1} << 20;

/// A record named by an operation.
struct RecordRef {
  /// The record's id; with created_by set, the record the name meant before the batch
  /// (0: none).
  RecordId id = 0;
  /// Indexes in the batch of the earlier create ops that gave this name, the latest first:
  /// the first of them that succeeded names the record; when none did, `id` does.
  std::vector<std::uint32_t> created_by;
  /// How the script named it (an alias, or "#N"), for the message when nothing is named.
  std::string text;
  friend bool operator==(const RecordRef&, const RecordRef&) = default;
};

enum class OpKind : std::uint8_t {
  create,   ///< entity, values; an alias is the client's business
  update,   ///< refs[0], values
  remove,   ///< refs[0]
  link,     ///< refs[0].name refs[1]
  unlink,   ///< refs[0].name refs[1]
  set,      ///< refs[0].name = value (a proposal, or an acknowledgement of an effect)
  ack,      ///< refs[0].name
  commit,
  reject,
  undo,
  redo,
  get,      ///< refs[0].name; text is the "REF.field" as written, echoed in the answer
  explain,  ///< refs[0].name
  dot,
  /// A line the client could not turn into an operation: `error` is the answer, unless
  /// one of `refs` (the names it resolved before it failed) names no record.
  invalid,
  /// refs[0].name refs[1], values: writes properties of their link (`update-link`). After
  /// `invalid`: the number of each kind is its number in the codec's format.
  update_link,
  /// Moves the schema's clock (docs/SCHEMA.md "Execution timing"): to `value` (ms since
  /// 1970), or with `text` "+" forward by `value` ms from where it is when the op runs
  /// (so a replay moves it alike). "now" only inside a client, which sends the time of
  /// day it reads then (ScriptClient). With `text` kClockTickText, a cluster's own tick:
  /// forward to `value`, and no change if the clock is there or past it already.
  clock,
  /// refs[0].name, value, at: the result `value` of request `*at` (its version) of an async
  /// field (docs/SCHEMA.md "Async fields"); text: the delivery key it settles on a cluster.
  resolve,
};
/// The `text` of a clock op that a cluster's sequencer makes itself at every tick
/// (SequencerOptions::clock_tick): no script line writes it.
inline constexpr std::string_view kClockTickText = "tick";
inline constexpr std::size_t kOpKinds = static_cast<std::size_t>(OpKind::resolve) + 1;
const char* op_kind_name(OpKind kind);

/// Whether an op changes the documents (and so opens a transaction when it succeeds).
bool is_mutation(OpKind kind);

/// How many records an op of `kind` names (its refs); `invalid` names any number.
std::size_t refs_of(OpKind kind);

using FieldValues = std::vector<std::pair<std::string, Value>>;

struct Op {
  OpKind kind = OpKind::invalid;
  std::vector<RecordRef> refs;
  std::string entity;  ///< create
  std::string name;    ///< the field or relation of set, ack, link, unlink, get, explain
  FieldValues values;  ///< create, update; link, update_link: the link's properties
  /// update: cycle-group members to keep if possible in this transaction (`keep=NAME`).
  std::vector<std::string> keep;
  Value value;         ///< set
  /// get: the reference as written; ack: the delivery key acknowledged ("FIELD:VERSION",
  /// session/effect_delivery.hpp), set by the cluster for a consumer's ack (empty: a script's)
  std::string text;
  Status error;        ///< invalid
  /// get: the revision to read at (one undo or redo can reach); none: the current one.
  /// resolve: the version of the request answered.
  std::optional<std::uint64_t> at;
  friend bool operator==(const Op&, const Op&) = default;
};

/// What applying one op gave.
struct OpResult {
  Status status;           ///< ok, or why the op failed (it then changed nothing itself)
  RecordId created = 0;    ///< create: the new record
  Value value;             ///< get
  std::uint64_t version = 0;
  std::uint64_t revision = 0;  ///< get, commit, undo, redo: the revision after the op
  std::uint64_t changed = 0;   ///< commit, undo, redo: fields whose value changed
  std::string text;            ///< explain, dot; resolve: "written" or "superseded"
  /// get: whether the value is its formula's result (docs/SCHEMA.md "Failed fields"):
  /// failed or blocked keep their last good value. ok for a value read at a past revision.
  FieldState state = FieldState::ok;
  std::string cause;   ///< get, blocked: the failed field it waits for ("Item#2.net")
  std::string reason;  ///< get, failed or blocked: the failed formula's error
  friend bool operator==(const OpResult&, const OpResult&) = default;
};

/// A client's name for one transaction: a random part chosen once per client and a counter.
/// A cluster that is sent a transaction id it has seen answers with the first outcome
/// instead of applying the batch again, so a client that lost an answer can send the
/// batch again safely. Zero: no id (every send is a new transaction).
struct TxnId {
  std::uint64_t client = 0;
  std::uint64_t seq = 0;
  bool empty() const { return client == 0 && seq == 0; }
  friend auto operator<=>(const TxnId&, const TxnId&) = default;
};

using Batch = std::vector<Op>;
using BatchResult = std::vector<OpResult>;

/// Whether a batch's answer tells its client that a transaction of it took effect: a
/// commit, undo or redo that succeeded.
bool told_committed(const Batch& batch, const BatchResult& results);

/// Why a batch was cut short by a partition it could not reach (the first such op's
/// error: StatusCode::io_error), or nothing when every op ran or failed on its own (a
/// formula, a rejection: running it again fails the same way). On a cluster such a batch's
/// epoch is cancelled in the log unless its client is told it committed (told_committed).
std::optional<std::string> cut_short(const BatchResult& results);

/// Operations as a script client applied them: each with the result it had and the alias
/// its line gave the record it creates (empty: none; only a create gives one). Aliases
/// are the client's, so they travel beside the ops, never in them. A persistent session
/// logs one of these per epoch (persistent_session.hpp).
struct AppliedBatch {
  Batch ops;
  BatchResult results;
  std::vector<std::string> aliases;  ///< one per op
  bool empty() const { return ops.empty(); }
  friend bool operator==(const AppliedBatch&, const AppliedBatch&) = default;
};

}  // namespace mgraph::session

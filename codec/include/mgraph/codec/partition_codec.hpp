#pragma once
// What the documents' driver asks one partition of a cluster, and what it answers
// (actors/partitioned.hpp has the protocol), as plain values and as bytes: a Cap'n Proto
// message (codec/schema/partition.capnp) after an 8-byte prefix, "MGPQ" or "MGPR" and the
// format version. The same bytes travel between actors in one process and between nodes.
// Decoding bounds the reader and validates every enum, status code and value: bad bytes
// give a Status, never a crash.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/session/effect_delivery.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::codec {

/// 2: deliver's compute_after (a partition of version 1 would take the Marks and not
/// compute, and the driver would wait for Resolves that never come).
inline constexpr std::uint32_t kPartitionFormatVersion = 2;

/// A Mark (the field `node` became stale on its owner) or a Resolve (its value for the
/// epoch: changed and the value, or unchanged), for the partitions that mirror it.
struct PartitionMessage {
  bool resolve = false;
  NodeId node = kNoNode;
  bool changed = false;
  Value value;
  /// A Resolve's: the field's condition on its owner (Resolution::condition), which its
  /// mirrors take (Graph::resolve_mirror).
  FieldCondition condition;
  friend bool operator==(const PartitionMessage&, const PartitionMessage&) = default;
};

enum class PartitionRequestKind : std::uint8_t {
  apply,       ///< apply `ops` in order: ops[0] is op `first` of batch number `batch`
  check_link,  ///< what linking `record`.`name` to `other` would answer, changing nothing
  begin,       ///< open a transaction (another partition's op opened one)
  mark,        ///< mark what this partition's writes made stale
  deliver,     ///< take `messages` (all Marks or all Resolves), in order
  compute,     ///< compute what no unresolved mirror holds back
  pending,     ///< the fields still waiting, and what each waits on
  reject,      ///< reject the open transaction
  probe,       ///< whether `record`.`name` is a computed field here
  dot,         ///< this partition's part of the graph's Graphviz text
  reset,       ///< drop every record and revision: the documents as the schema starts them
  add_revision,  ///< a revision that changes nothing here (another partition's commit changed something)
  /// store the documents as they are after epoch `batch` (PartitionCheckpoints), and
  /// forget the checkpoints before epoch `other`
  checkpoint,
  /// take back the documents of the checkpoint at epoch `batch`; 0: as the schema starts
  /// them, every checkpoint forgotten
  restore,
  /// every field of the records of entity `name` this partition owns (that exist), as
  /// FieldChanges: what a subscription of the entity reads when it starts or resumes
  records,
};
const char* partition_request_kind_name(PartitionRequestKind kind);

/// A computed field still waiting when no message is left, and the stale fields it reads
/// (node ids are the same on every partition: a mirror's is its owner's field's).
struct PendingField {
  NodeId node = kNoNode;
  std::string name;
  std::vector<NodeId> waits_on;
  friend bool operator==(const PendingField&, const PendingField&) = default;
};

/// PartitionRequest::reporter: every partition returns its results.
inline constexpr std::uint32_t kEveryPartitionReports = 0xffffffff;

struct PartitionRequest {
  PartitionRequestKind kind = PartitionRequestKind::apply;
  std::uint64_t batch = 0;
  std::uint32_t first = 0;
  session::Batch ops;
  std::vector<PartitionMessage> messages;
  std::uint64_t record = 0;
  std::string name;
  std::uint64_t other = 0;
  /// apply: then mark, as a mark request does (the driver sets it when the batch's next op
  /// is its commit, saving the mark's round trip); the reply says `marked`.
  bool mark_after = false;
  /// apply: the partition that returns its results; every other one returns how many ops
  /// it applied and a digest of their results (PartitionReply::results_count, _digest).
  /// Inputs apply alike everywhere, so the driver needs one copy and a check, not one copy
  /// per partition. kEveryPartitionReports: each returns its results.
  std::uint32_t reporter = kEveryPartitionReports;
  /// deliver: then compute, as a compute request does (the driver sends a commit's
  /// predicted Marks with its compute, actors/partitioned.hpp "Predicted Marks"); the reply
  /// holds what both made stale and resolved.
  bool compute_after = false;
  /// apply, deliver, compute: when the partition is then left with nothing to compute, it
  /// also says what its commit would make (PartitionReply::previewed), so that the driver
  /// can answer the client once every partition has (actors/partitioned.hpp, "Answered
  /// when decided").
  bool preview = false;
  /// apply: also say whether every op is an update and no formula of another record reads
  /// what the transaction wrote (PartitionReply::confined), and which partitions own it
  /// (PartitionReply::written_owners): then only those compute from it
  /// (actors/partitioned.hpp, "Commits around an unreachable partition").
  bool confine = false;
  friend bool operator==(const PartitionRequest&, const PartitionRequest&) = default;
};

/// An effect a commit raised on a record the partition owns: one delivery (session/
/// effect_delivery.hpp) keyed by (node, version), with the effect's retry policy.
struct EffectTrigger {
  NodeId node = kNoNode;
  std::uint64_t version = 0;
  std::uint64_t record = 0;
  std::string effect;  ///< "Entity.name"
  Value value;         ///< after the commit
  schema::RetryPolicy policy;
  /// A queue's trigger: what it carries (session::EffectPayload::queue, values, time).
  bool queue = false;
  std::vector<std::pair<std::string, Value>> values;
  Value time;
  friend bool operator==(const EffectTrigger&, const EffectTrigger&) = default;
};

/// A field of a record the partition owns, as a commit, undo or redo left it (its value
/// and version after it): what a subscription is told (actors/watch.hpp).
struct FieldChange {
  std::uint64_t record = 0;
  std::string entity;  ///< the record's entity
  std::string field;
  Value value;
  std::uint64_t version = 0;
  friend bool operator==(const FieldChange&, const FieldChange&) = default;
};

/// One committed epoch's changes as bytes: what a coordinator's history of subscriptions
/// stores (actors::WatchHistory). Decoding checks them as every codec does.
Result<std::string> encode_field_changes(const std::vector<FieldChange>& changes);
Result<std::vector<FieldChange>> decode_field_changes(std::string_view bytes);

/// What an epoch did to effect deliveries, from the driver to the sequencer: the effects
/// its commits raised, and the delivery keys its acknowledgements named (acks that
/// succeeded in a committed epoch).
struct EffectReport {
  std::vector<EffectTrigger> triggers;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> acked;  ///< (field, version)
  /// Acks that named no delivery key (a script's `ack REF.effect`): (record, effect name
  /// in its entity). Each settles the oldest delivery of that effect still owed, as an
  /// embedded ack settles the oldest trigger.
  std::vector<std::pair<std::uint64_t, std::string>> unkeyed;
  /// Every change of an effect or a @versioned field the epoch made: what the
  /// coordinator's history and ledger record (session/version_ledger.hpp).
  std::vector<session::RecordedChange> recorded;
  /// The results of async requests its resolves settled (recorded at the requests' keys).
  std::vector<session::RequestResult> request_results;
  bool empty() const {
    return triggers.empty() && acked.empty() && unkeyed.empty() && recorded.empty() && request_results.empty();
  }
  friend bool operator==(const EffectReport&, const EffectReport&) = default;
};
Result<std::string> encode_effect_report(const EffectReport& report);
/// A log entry of the coordinator (actors/documents.hpp): every partition holds a
/// checkpoint of `epoch`, and the sequencer owed these deliveries after it. "MGCK";
/// is_epoch_checkpoint tells it from a batch, a group or a cancellation.
struct EpochCheckpoint {
  std::uint64_t epoch = 0;
  std::uint64_t image_bytes = 0;  ///< the partitions' images, summed
  session::OwedDeliveries owed;   ///< times are not kept: restored as due now
  /// The answers of the last transactions (by id) before it, oldest first: a client that
  /// lost one sends the transaction again and is told it after a restart from here.
  std::vector<std::pair<session::TxnId, std::string>> answers;
};
Result<std::string> encode_epoch_checkpoint(const EpochCheckpoint& checkpoint);
Result<EpochCheckpoint> decode_epoch_checkpoint(std::string_view bytes);
bool is_epoch_checkpoint(std::string_view bytes);
Result<EffectReport> decode_effect_report(std::string_view bytes);
/// A log entry of the coordinator: changes of effect deliveries that no epoch makes, in
/// the order they happened (session::DeliveryChange). "MGDC"; is_delivery_changes tells
/// it from the other entries. At most kDeliveryChangesMax changes: an entry stays a small
/// write (the sequencer logs more in several).
inline constexpr std::size_t kDeliveryChangesMax = 65'536;
/// A consumer group taking an effect (actors::EffectOutbox's consumer groups): kept in the
/// same entries, so that a restart gives each effect back to the group that held it.
struct EffectClaim {
  std::string effect;  ///< "Entity.name"
  std::string group;   ///< "" : the consumers of no group
  friend bool operator==(const EffectClaim&, const EffectClaim&) = default;
};
/// Claims one entry holds at most (a coordinator holds at most actors::kClaimedEffectsMax).
inline constexpr std::size_t kEffectClaimsMax = 65'536;
Result<std::string> encode_delivery_changes(const std::vector<session::DeliveryChange>& changes,
                                            const std::vector<EffectClaim>& claims = {});
/// What such an entry holds: the changes and the claims, each in the order they were made.
struct DeliveryChangesEntry {
  std::vector<session::DeliveryChange> changes;
  std::vector<EffectClaim> claims;
};
Result<DeliveryChangesEntry> decode_delivery_changes(std::string_view bytes);
bool is_delivery_changes(std::string_view bytes);

/// Every reply says whether the partition's transaction is open after the request, its
/// revision and how many fields wait for a mirror; an apply's, how many of the fields of
/// its own records the last commit, undo or redo among its ops changed (0: none of them).
struct PartitionReply {
  Status status;
  session::BatchResult results;             ///< apply
  std::vector<NodeId> stale;                ///< mark, deliver of Marks: exported fields now stale
  std::vector<PartitionMessage> resolved;   ///< compute, deliver of Resolves (as Resolves)
  std::vector<PendingField> pending;         ///< pending
  bool in_transaction = false;
  std::uint64_t revision = 0;
  std::uint64_t owned_changed = 0;
  std::uint32_t waiting = 0;  ///< fields waiting for a mirror after the request
  bool computed = false;                    ///< probe
  std::vector<std::string> dot_nodes, dot_edges;  ///< dot
  std::vector<EffectTrigger> effects;       ///< apply: effects its commits raised here
  std::uint64_t checkpoint_bytes = 0;       ///< checkpoint: the size of the image stored
  std::vector<FieldChange> changes;         ///< apply: what its commits, undos, redos changed
  bool marked = false;  ///< apply with mark_after: it marked, and `stale` holds what that made stale
  /// apply: changes of effects and @versioned fields of its records its commits, undos and
  /// redos made (the coordinator's history and ledger)
  std::vector<session::RecordedChange> recorded;
  /// apply: results of async requests of its records that its resolves settled
  std::vector<session::RequestResult> request_results;
  /// apply to a partition that is not the request's reporter: the ops it applied (then
  /// `results` is empty) and the digest of their results (actors/partitioned.cpp).
  std::uint32_t results_count = 0;
  std::uint64_t results_digest = 0;
  /// A request with `preview` left nothing to compute: the commit would make revision
  /// `preview_revision` and change `preview_owned_changed` fields of its records
  /// (schema::Store::preview_commit).
  bool previewed = false;
  std::uint64_t preview_revision = 0;
  std::uint64_t preview_owned_changed = 0;
  /// apply with `confine`: every op is an update and what the transaction wrote is read
  /// by its records' formulas alone (PartitionRequest::confine;
  /// schema::Store::written_stays_with_owners) ...
  bool confined = false;
  /// ... and the partitions owning those records, sorted.
  std::vector<std::uint32_t> written_owners;
  friend bool operator==(const PartitionReply&, const PartitionReply&) = default;
};

Result<std::string> encode_partition_request(const PartitionRequest& request);
Result<PartitionRequest> decode_partition_request(std::string_view bytes);
/// The kind of an encoded request, reading nothing else of it.
Result<PartitionRequestKind> decode_partition_request_kind(std::string_view bytes);
Result<std::string> encode_partition_reply(const PartitionReply& reply);
Result<PartitionReply> decode_partition_reply(std::string_view bytes);

}  // namespace mgraph::codec

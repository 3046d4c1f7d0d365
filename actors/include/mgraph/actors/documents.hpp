#pragma once
// The user's documents on the cluster: client batches of typed operations
// (session/operation.hpp) ordered into epochs by a sequencer, logged before anything of
// them lasts (the log write runs while the driver applies and computes them), and applied
// by the driver to the partitions that hold the documents.
//
//   client ──(transact_atom, Batch bytes)──▶ sequencer, on the coordinator node
//   sequencer: epoch e = next; log (e, batch) durably if the batch changes anything
//   sequencer ──(apply_atom, e, Batch bytes)──▶ driver ── BatchResult bytes ──▶ sequencer ──▶ client
//   driver ◀──(partition_atom, request/reply bytes)──▶ each partition (partitioned.hpp)
//   driver ──(outcome_atom, e, committed, reason, effects, why, phases)──▶ sequencer   (epochs only, off the client's path)
//
// A batch of one epoch whose commit is decided before the partitions commit it
// (partitioned.hpp, "Answered when decided") is answered then: the driver sends
// (decided_atom, e) and the answer, then commits, then the outcome. Until the outcome of
// every epoch so answered has come, the sequencer holds back what reads the outcomes
// (effect polls, ledger queries), so that a client that heard "committed" finds its
// effects and versions.
//
// A batch runs whole, in order, and leaves no transaction open: the next batch may be
// another client's.
//
// The cores (PartitionedDocuments, PartitionServer) have no I/O and no CAF; the actors
// are thin.

#include <caf/all.hpp>
#include <caf/io/broker.hpp>

#include <atomic>
#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/actors/effect_outbox.hpp"
#include "mgraph/actors/partitioned.hpp"
#include "mgraph/actors/watch.hpp"
#include "mgraph/codec/epoch_codec.hpp"
#include "mgraph/graph/clock.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/executor.hpp"
#include "mgraph/session/version_ledger.hpp"

namespace mgraph::actors {

using transact_atom = caf::atom_constant<caf::atom("mg_txn")>;   ///< client -> sequencer
using apply_atom = caf::atom_constant<caf::atom("mg_apply")>;    ///< sequencer -> driver
using apply_group_atom = caf::atom_constant<caf::atom("mg_applyg")>;  ///< sequencer -> driver
using schema_atom = caf::atom_constant<caf::atom("mg_schema")>;  ///< -> (name, source, fingerprint)
using report_atom = caf::atom_constant<caf::atom("mg_report")>;  ///< sequencer -> driver
using outcome_atom = caf::atom_constant<caf::atom("mg_outcome")>;  ///< driver -> sequencer
using partition_atom = caf::atom_constant<caf::atom("mg_part")>;  ///< driver -> partition
using flush_atom = caf::atom_constant<caf::atom("mg_flush")>;    ///< sequencer -> itself
using cancel_atom = caf::atom_constant<caf::atom("mg_cancel")>;  ///< driver -> sequencer
using decided_atom = caf::atom_constant<caf::atom("mg_decided")>;  ///< driver -> sequencer
using inspect_atom = caf::atom_constant<caf::atom("mg_insp")>;  ///< admin -> partition (inspect.hpp)
/// Effect deliveries at the sequencer (effect_outbox.hpp): a consumer's poll, its ack, and
/// the admin socket's dead letter commands.
using effects_poll_atom = caf::atom_constant<caf::atom("mg_fxpoll")>;
using effects_ack_atom = caf::atom_constant<caf::atom("mg_fxack")>;
/// The result of an async field's request (docs/SCHEMA.md "Async fields"): its delivery's
/// key and the value, encoded (codec::encode_value).
using effects_resolve_atom = caf::atom_constant<caf::atom("mg_fxres")>;
using dead_letters_atom = caf::atom_constant<caf::atom("mg_dlq")>;
/// The history and ledger of versions (session/version_ledger.hpp), which the sequencer
/// keeps beside its log: (ledger_atom, record, field, cmd, ref) to a partition answers the
/// node a query (`history`, `audit`) of REF = record.field reads, `{"node":N}`, or
/// `{"error":MESSAGE,"code":N}` (a StatusCode); (ledger_atom, record, field, cmd, ref,
/// has_at, at) to the sequencer asks the partition owning the record, then answers what it
/// reads (session::read_ledger), or that error object.
using ledger_atom = caf::atom_constant<caf::atom("mg_ledger")>;
/// Checkpoints (docs/CLUSTER.md, "Checkpoints"): the sequencer asks the driver to restore
/// the partitions before it runs the log, and to checkpoint them (the admin socket's
/// command); the driver tells the sequencer of the checkpoints it takes by itself.
using restore_atom = caf::atom_constant<caf::atom("mg_restore")>;
using checkpoint_atom = caf::atom_constant<caf::atom("mg_ckpt")>;
using checkpointed_atom = caf::atom_constant<caf::atom("mg_ckpted")>;
using checkpoint_logged_atom = caf::atom_constant<caf::atom("mg_ckptlg")>;
using recovery_wait_atom = caf::atom_constant<caf::atom("mg_recwait")>;  ///< sequencer -> itself
using held_atom = caf::atom_constant<caf::atom("mg_held")>;  ///< sequencer -> itself
/// The sequencer's timer -> itself: time to move the schema's clock (SequencerOptions::clock_tick).
using clock_tick_atom = caf::atom_constant<caf::atom("mg_tick")>;

/// Whether a batch must be logged: it can change the documents or the revision history.
/// Such a batch is an epoch: the sequencer numbers it.
bool changes_documents(const session::Batch& batch);

/// What the sequencer learns about an epoch once the driver has run it.
struct EpochOutcome {
  codec::Epoch epoch = 0;
  /// The batch changed the documents: their revision after it differs from before (a
  /// commit, undo or redo in it took effect). Else it aborted: the documents are as they
  /// were, because its transaction was rejected (a reject op; left open, so the driver
  /// rejected it; a commit that failed) or because none of its changes succeeded.
  bool committed = false;
  /// Run again from the log when the sequencer started (counted by the run that logged it).
  bool replayed = false;
  /// From the sequencer numbering the epoch to learning its outcome (0 when replayed). Its
  /// log write runs meanwhile, beside its apply and compute.
  double seconds = 0;
  /// Client transactions that shared the epoch (batching: 1 to transactions_max; 0 when
  /// replayed).
  std::size_t transactions = 0;
  /// Aborted: the first failed op's error ("rejected: ..."), or why nothing of it applied;
  /// empty when committed.
  std::string reason;
  /// Aborted: `reason`'s class; none when committed.
  AbortReason why = AbortReason::none;
  /// The time the driver spent in each phase of the epoch (PartitionedDocuments::
  /// take_phases; none ran when the driver reads no clock).
  PhaseTimes phases = {};
};
/// Called on the sequencer's thread, once per epoch, in epoch order.
using EpochObserver = std::function<void(const EpochOutcome&)>;

/// Where the sequencer keeps epochs: appended durably before anything of them lasts (the
/// driver waits for the write before a commit), read back in order when it starts. LMDB on
/// a node (node/), memory in tests.
class EpochLog {
 public:
  virtual ~EpochLog() = default;
  virtual Status append(codec::Epoch epoch, std::string_view batch) = 0;
  /// Several epochs, in order, durable together (group commit: one sync for all). On
  /// failure none of them may be taken as logged. The default appends one at a time.
  virtual Status append_group(const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs) {
    for (const auto& [epoch, batch] : epochs) {
      if (Status s = append(epoch, batch); !s.is_ok()) return s;
    }
    return Status::ok();
  }
  /// Calls `f` with every logged epoch in order; stops at the first error.
  virtual Status replay(const std::function<Status(codec::Epoch, std::string_view)>& f) = 0;
  /// The last logged epoch (0: none).
  virtual Result<codec::Epoch> last() = 0;
  /// Deletes the entries before `before`: a checkpoint of every partition holds what they
  /// did (the sequencer calls it after logging a checkpoint's entry). The default keeps them.
  virtual Status compact(codec::Epoch before) {
    (void)before;
    return Status::ok();
  }
  /// The history and ledger of versions (session/version_ledger.hpp) kept beside the log.
  /// `stage` hands over an epoch's records, stored later with an entry appended (no write
  /// or sync of their own) or by `flush`: they follow from the log, so records a crash
  /// loses before then are made again when their epochs run again from the log (the
  /// recorder skips those already stored). The sequencer flushes before it logs a
  /// checkpoint's entry (a restart from it runs only the epochs after it). `ledger` reads
  /// what is stored (flush first). A log without one (the default) keeps no history:
  /// ledger() is null.
  virtual void stage(session::VersionRecords records) { (void)records; }
  virtual Status flush() { return Status::ok(); }
  virtual const session::LedgerReader* ledger() const { return nullptr; }
};

/// A log that passes every call to `inner` (which must outlive it): the base of a log
/// that changes some of them (a timed one, the sequencer's gapless one, a test's failing
/// one).
class ForwardingEpochLog : public EpochLog {
 public:
  explicit ForwardingEpochLog(EpochLog& inner) : inner_(inner) {}
  Status append(codec::Epoch epoch, std::string_view batch) override { return inner_.append(epoch, batch); }
  Status append_group(const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs) override {
    return inner_.append_group(epochs);
  }
  Status replay(const std::function<Status(codec::Epoch, std::string_view)>& f) override { return inner_.replay(f); }
  Result<codec::Epoch> last() override { return inner_.last(); }
  Status compact(codec::Epoch before) override { return inner_.compact(before); }
  void stage(session::VersionRecords records) override { inner_.stage(std::move(records)); }
  Status flush() override { return inner_.flush(); }
  const session::LedgerReader* ledger() const override { return inner_.ledger(); }

 protected:
  EpochLog& inner() { return inner_; }

 private:
  EpochLog& inner_;
};

/// Epochs in memory: a log for tests and for nodes without a data directory.
class MemoryEpochLog final : public EpochLog {
 public:
  Status append(codec::Epoch epoch, std::string_view batch) override;
  Status replay(const std::function<Status(codec::Epoch, std::string_view)>& f) override;
  Result<codec::Epoch> last() override;
  Status compact(codec::Epoch before) override;
  /// Stored at once.
  void stage(session::VersionRecords records) override { ledger_.store(std::move(records)); }
  const session::LedgerReader* ledger() const override { return &ledger_; }

 private:
  std::vector<std::pair<codec::Epoch, std::string>> epochs_;
  session::MemoryLedger ledger_;
};

/// What a node tells clients and peers about its schema.
struct SchemaInfo {
  std::string name;
  std::string source;
  std::uint64_t fingerprint = 0;
};

/// A partition's actor: answers (partition_atom, call, index, request bytes) with a
/// message (partition_atom, call, index, reply bytes) to its sender
/// (codec/partition_codec.hpp), one request at a time. Also answers the admin socket's
/// (inspect_atom, record, field) and (inspect_atom, packed node ids) with inspect_field's and
/// inspect_nodes' JSON (inspect.hpp), which read without computing anything.
caf::behavior partition_actor(caf::event_based_actor* self, std::shared_ptr<PartitionServer> server);

/// Requests at most this large, of a kind whose work does not grow with the documents, a
/// partition_host serves on its I/O thread: a latency-sized request (an apply of a few
/// writes, a delivery, a compute) is ~100 B to a few KiB, the largest a client's
/// transaction makes are batches of thousands of writes.
inline constexpr std::size_t kInlineRequestBytesMax = 64 * 1024;

/// A partition as partition_actor answers, spawned as a broker (middleman().spawn_broker)
/// so that it runs on its node's I/O thread, where the requests from the driver arrive and
/// where its replies leave: no hand-over to a scheduler thread and back per request (on 3
/// loopback nodes ~0.1 ms of a write crossing 2 partitions; docs/DECISIONS.md "A partition
/// answers on its node's I/O thread"). What would hold that thread up — a request over
/// `inline_bytes_max`, a checkpoint, a restore, a reset, the graph's text, an entity's
/// records, and the admin socket's reads — goes to a worker actor of the partition's own,
/// and so does every request after it until the worker has served all it was given, so the
/// server (not thread-safe) is used by one thread at a time, in the order requests came.
caf::behavior partition_host(caf::io::broker* self, std::shared_ptr<PartitionServer> server,
                             std::size_t inline_bytes_max);

/// What a driver over ActorPartitions sent to each partition and got back, by partition
/// id; counted on the driver's thread, readable from any other. Bytes are the encoded
/// requests and replies (codec/partition_codec.hpp); deltas the Marks and Resolves of
/// exported fields: delivered to the partition in its requests (sent), and made stale or
/// resolved by it in its replies (received).
struct PartitionTraffic {
  explicit PartitionTraffic(std::size_t partitions) : partitions(partitions) {}
  struct Counts {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> sent_bytes{0};
    std::atomic<std::uint64_t> received_bytes{0};
    std::atomic<std::uint64_t> sent_deltas{0};
    std::atomic<std::uint64_t> received_deltas{0};
  };
  std::vector<Counts> partitions;
};

/// Partitions reached as actors (partition_actor), from a driver that may block: each
/// call sends every request at once and waits for every reply, at most `timeout` — a
/// partition that does not answer in time, or is gone (it is monitored), gets an
/// "unavailable" reply naming it. Calls
/// must come from one thread; from an actor, a detached one (it blocks its thread).
class ActorPartitions final : public PartitionSet {
 public:
  /// `pump`, if given, is called once a call's requests are out, before its replies are
  /// awaited: where a test's deterministic scheduler runs the partitions.
  ActorPartitions(caf::actor_system& system, std::vector<caf::actor> partitions,
                  caf::timespan timeout, std::function<void()> pump = {});
  /// Names where each partition lives (e.g. its node), in "unavailable" replies.
  void set_hosts(std::vector<std::string> hosts) { hosts_ = std::move(hosts); }
  /// Counts every request and reply into `traffic` (sized for every partition).
  void set_traffic(std::shared_ptr<PartitionTraffic> traffic) { traffic_ = std::move(traffic); }
  ~ActorPartitions() override;
  std::uint32_t size() const override { return static_cast<std::uint32_t>(partitions_.size()); }
  std::vector<codec::PartitionReply> call(const std::vector<Call>& calls) override;
  std::vector<codec::PartitionReply> call_all(const codec::PartitionRequest& request) override;
  /// Partitions with no actor, and those a call found gone (their actor went down): the
  /// error a call to one gets.
  std::string unreachable(std::uint32_t p) const override;

 private:
  /// "unavailable: partition P (HOST): WHY".
  std::string unavailable(std::uint32_t p, const std::string& why) const;
  /// One request's bytes for partition `to` (or why it has none), and its deltas (counted).
  struct Outgoing {
    std::uint32_t to = 0;
    Result<std::string> bytes = std::string();
    std::size_t deltas = 0;
  };
  /// Sends every request at once and waits for the replies (call, call_all).
  std::vector<codec::PartitionReply> send_and_wait(std::vector<Outgoing> out);

  caf::actor_system& system_;
  std::vector<caf::actor> partitions_;
  caf::timespan timeout_;
  std::function<void()> pump_;
  /// Made on the first call, on the caller's thread; it sends every request after.
  std::unique_ptr<caf::scoped_actor> self_;
  std::uint64_t calls_ = 0;
  std::vector<std::string> gone_;  ///< per partition: why it is gone (empty: it is not)
  std::vector<std::string> hosts_;  ///< per partition: where it lives (empty: not known)
  std::shared_ptr<PartitionTraffic> traffic_;  ///< may be null
};

/// The documents' driver, where the sequencer sends its epochs. Answers (apply_atom, epoch,
/// Batch bytes) with the bytes of the BatchResult, (apply_group_atom, epoch, BatchGroup
/// bytes) with one BatchResult's bytes per batch (run as one epoch: session/merge.hpp),
/// and (schema_atom) with the schema's
/// name, source and fingerprint. After (report_atom, actor) it also sends that actor
/// (outcome_atom, epoch, committed, reason: EpochOutcome::reason, effects: the bytes of a
/// codec::EffectReport, empty when the epoch raised and acked no effect, why: the
/// AbortReason as a number, phases: seconds per EpochPhase, negative for one that did not
/// run) for every batch it
/// runs that changes documents, and (cancel_atom, epoch, reason, members) for an epoch that
/// did not commit because a partition was unavailable (an op failed with io_error: the
/// others rolled it back; members: those of a merged epoch's batches that were cut short
/// after the others committed alone, none listed for the whole epoch), before it answers
/// the batch. A batch of one epoch may be answered once its commit is decided, before the
/// partitions commit it: then (decided_atom, epoch) goes to that actor just before the
/// answer, and the outcome after the commit. Over ActorPartitions it blocks while the
/// partitions work: spawn it detached.
///
/// Checkpoints: (restore_atom, epoch, replayed_last) makes every partition take back its
/// checkpoint of `epoch` (0: empty, every checkpoint forgotten) and answers true, or an
/// error (not_found: a partition has no such checkpoint; io_error: one is unavailable).
/// Every `checkpoint_every` epochs it runs after `replayed_last`, and on (checkpoint_atom),
/// it makes every partition store its documents as a checkpoint of the last epoch it ran,
/// keeping every checkpoint from the one before the last the sequencer logged on
/// ((checkpoint_logged_atom, epoch) tells it; the log runs on from either); the first is reported as (checkpointed_atom, epoch, image bytes) to the
/// sequencer, the second answered with (epoch, image bytes) or an error.
///
/// Subscriptions (watch.hpp): with a `watch` buffer it tells the buffer every epoch it runs
/// (with the fields a committed one changed) and every restore; (watch_read_atom, Batch
/// bytes of `get`s only, entity names) is answered with (the last epoch run, the
/// BatchResult bytes, the JSON array of every field of every record of those entities):
/// the values after that epoch.
struct DriverOptions {
  /// Epochs between checkpoints (0: only when asked).
  std::uint64_t checkpoint_every = 0;
  std::shared_ptr<WatchBuffer> watch = nullptr;
};
caf::behavior documents_driver_actor(caf::event_based_actor* self,
                                     std::shared_ptr<PartitionedDocuments> documents,
                                     SchemaInfo schema, DriverOptions options);

/// How long a dead-letter command waits for the log a restarted sequencer runs (the dead
/// letters are not all known before it has run): then it is answered that the log is still
/// running, with how far it is. Below the admin socket's bound on such a request (2 s), so
/// that the operator reads why instead of a timeout.
inline constexpr std::chrono::milliseconds kRecoveryWaitMax{1500};

/// Batches the sequencer logs with one sync at most (group commit); more wait for the next.
inline constexpr std::size_t kGroupCommitBatchesMax = 1024;

/// How the sequencer makes epochs of several clients' transactions (session/merge.hpp).
struct BatchingOptions {
  /// Transactions in one epoch at most (1: each alone); at most session::kMergedBatchesMax.
  std::size_t transactions_max = 64;
  /// Their encoded bytes together at most: a bound on one epoch's log entry and work.
  std::size_t bytes_max = std::size_t{4} << 20;
};

struct SequencerOptions {
  BatchingOptions batching;
  SteadyClock now = system_steady_clock();
  /// Kept up to date by the sequencer's effect outbox, if given (the node's metrics).
  std::shared_ptr<EffectCounters> effect_counters = nullptr;
  /// Called once the partitions are restored, before the log after the checkpoint runs:
  /// the checkpoint's epoch (0: none, the whole log runs) and the log's last epoch.
  std::function<void(codec::Epoch checkpoint, codec::Epoch log_last)> restored;
  /// Called once every epoch the log run at start sent to the driver has been answered (at
  /// once when none was sent); not when the partitions could not be restored (the log does
  /// not run: a later sequencer runs it).
  std::function<void()> recovered;
  /// The watch actor (watch.hpp), which the sequencer names when asked (watch_atom): polls
  /// go to it directly, never through the sequencer. (watch_read_atom, ...) goes to the
  /// driver through the sequencer. None: subscriptions are refused.
  caf::actor watch;
  /// Every `clock_tick` the sequencer moves the schema's clock (`@clock`, docs/SCHEMA.md
  /// "Execution timing") to the time of day `wall_clock` reads, by a batch of its own,
  /// `clock` (forward only: kClockTickText) and `commit`, logged, run and replayed like a
  /// client's: so `@every` and `@at` fields fire with no client moving time. One tick at a
  /// time (the next waits for the last's answer); none while the cluster starts or refuses
  /// work. 0: only clients move the clock. Set it only for a schema with a clock.
  std::chrono::milliseconds clock_tick{0};
  WallClock wall_clock = system_wall_clock();
  /// Every partition's actor, by partition id: history and audit ask the one owning the
  /// record which node a field is (ledger_atom). None: they are refused.
  std::vector<caf::actor> partitions;
};
/// Requests the sequencer has at the driver at most: one epoch running, the next logged
/// and waiting (its log write overlapped the running one); batches that arrive meanwhile
/// wait at the sequencer and make the epoch after.
inline constexpr std::size_t kEpochsAtDriver = 2;

/// Checkpoints of every partition the sequencer tries to restore when it starts, newest
/// first: the log keeps the entries after the one before the newest (it is compacted when a
/// checkpoint is logged), so older ones cannot be run on from; one more is a spare.
inline constexpr std::size_t kCheckpointsTried = 3;

/// Answers of the last transactions a checkpoint's log entry keeps: the clients that lose
/// an answer to a restart send their transaction again within seconds, so the newest few
/// thousand serve them; and the entry stays small beside the checkpoint.
inline constexpr std::size_t kCheckpointAnswersMax = 4096;
inline constexpr std::size_t kCheckpointAnswerBytesMax = std::size_t{1} << 20;

/// Transaction ids the sequencer remembers with their outcome: a client sends a batch again
/// within seconds of losing its answer (a reconnect, a coordinator's restart), and 65,536
/// ids are minutes of transactions at today's rates.
inline constexpr std::size_t kTxnsRemembered = 65536;
/// Bytes of remembered answers at most (a get's answer can be large): older ids are
/// forgotten first; a batch sent again after its id was forgotten runs again.
inline constexpr std::size_t kTxnAnswerBytesRemembered = std::size_t{64} << 20;

/// The sequencer. Answers (transact_atom, Batch bytes) with BatchResult bytes (the
/// driver's answer, passed on), or an error for bytes that are no batch or a
/// log that cannot be written. Group commit: the batches that arrive while it is busy
/// (up to kGroupCommitBatchesMax) are logged together, with one sync, then sent to the
/// driver in the order they came; each client is answered after its batch is durable and
/// run. Batching: consecutive batches of those that session::mergeable accepts (within
/// `batching`'s bounds and session::kMergedOpsMax) become one epoch, logged as one BatchGroup. First it sends the logged epochs to `driver` again, so
/// the documents are what they were before a restart; they arrive before any client's.
/// With an `observe`r, it asks the driver for the outcome of every epoch and passes
/// each to it: a client may have its answer a moment before the outcome is observed (the
/// outcome travels apart, so that counting adds nothing to a client's round trip).
/// Transaction ids (session::TxnId, in the batch's bytes, so logged with it): a batch
/// whose id it has seen — sent again by a client that lost the answer, even after a
/// restart, since the log's batches carry their ids — is answered with the first outcome
/// (at once, or when the first is answered) and not run again. It remembers the last
/// kTxnsRemembered ids and kTxnAnswerBytesRemembered bytes of their answers.
/// Effects (docs/CLUSTER.md, "Effects"): the driver reports what each epoch's commits
/// raised and which deliveries its acks named; the sequencer keeps the deliveries owed
/// (EffectOutbox) and answers (effects_poll_atom, consumer group, effect names, max) with
/// the deliveries due now, one JSON object each (an error when another group consumes one
/// of the effects: EffectOutbox::poll); (effects_ack_atom, field, version) with the ack's
/// outcome, after running the acknowledgement as a batch of its own (logged and replayed
/// like any); (effects_ack_atom, keys "FIELD:VERSION") with one outcome per key, the acks
/// queued together so that they share an epoch (they count as one transaction against
/// `batching.transactions_max`); (effects_resolve_atom, field, version,
/// encoded value) with the outcome of the result's batch ("written", "superseded", ...);
/// (dead_letters_atom, "list"|"retry"|"drop", field, version) with JSON.
/// A node's admin socket reads another node's partition through it: (inspect_atom,
/// partition, ...) is passed on to that partition's actor as (inspect_atom, ...), which
/// answers (inspect.hpp). The coordinator is connected to every node, so this reaches
/// partitions that a node's own handle, learnt through an earlier coordinator, no longer
/// does.
/// REQUIRES: `log` outlives the actor.
caf::behavior sequencer_actor(caf::event_based_actor* self, caf::actor driver, EpochLog* log,
                              EpochObserver observe, SequencerOptions options);

}  // namespace mgraph::actors

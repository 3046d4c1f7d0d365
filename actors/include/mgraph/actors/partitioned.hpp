#pragma once
// The user's documents spread over partitions: the core of a cluster's document epochs,
// with no I/O and no CAF. A driver (PartitionedDocuments) runs batches of typed operations
// by sending requests to the partitions (PartitionServer), through a PartitionSet: calls in
// this process (LocalPartitions), or CAF actors on several nodes (partition_actors.hpp).
// Every Mark and Resolve between partitions travels through the driver, which therefore
// sees the end of every phase exactly.
//
// Every partition holds a Store with the same records at the same node ids; a record is
// owned by one partition (schema::Placement: the high half of FNV-1a of its id modulo the partition count).
// Inputs — creations, state fields, links, memberships, deletions — are applied by every
// partition, so every structural check answers alike everywhere; what the schema computes
// is computed only by the owner, and other partitions hold it as mirrors. A transaction
// ends in the stepwise protocol of the engine (docs/EPOCHS.md):
//
//   ops ──apply──▶ every partition applies each input op; the results must agree
//   commit, or a read inside the transaction:
//     mark:     each partition marks what its writes make stale and returns the exported
//               fields that became stale; the driver delivers each as a Mark to the other
//               partitions, which mark their mirror of it and what depends on it there,
//               returning more, until none is left. When the commit directly follows
//               the input ops, each partition marks in the same request as it applies
//               them (mark_after): one round trip fewer, the same marks
//     compute:  each partition computes what no unresolved mirror holds back and returns
//               the exported fields it resolved (value, or unchanged); the driver delivers
//               each as a Resolve to the others, which resolve the mirror and compute
//               further, until none is left. Before a commit, a Resolve for a partition
//               where no field waits is kept and sent in the commit's call (deferred_)
//     commit:   every partition commits; a commit's count of changed fields is the sum of
//               each partition's share of its own records
//   undo, redo: every partition walks its own history: all revisions were made in step
//
// Why it is glitch-free and terminates exactly: marking ends everywhere before any field
// is computed (no Resolve is sent before the last Mark is delivered), so a field that a
// remote change reaches is stale when it would compute and waits for its mirror; each
// field is computed at most once per round, and a round ends when the driver holds no
// message and no request is out — it is the only one who sends, so that is quiescence.
// Fields still waiting then wait on one another through other partitions: a cycle across
// partitions, which rejects the transaction everywhere.
//
// Predicted Marks. The Marks of a commit depend on which fields its writes write and on
// the structure, so the same writes find the same waves of Marks again and again. The
// driver remembers, by the batch's write signature (each op's kind, records and field
// names, not the values), every exported field the apply's mark and the waves marked, with
// its owner: the closure. A batch of value writes and one commit (nothing that creates,
// deletes or links) whose closure is known sends it with its apply: each partition applies
// the ops, marks, takes the closure's Marks of the others' fields and computes, in one
// request (apply with mark_after, messages and compute_after); the Resolves follow as
// usual. The apply, the waves of Marks and the compute become one round. Why that is still
// glitch-free: each partition takes every Mark of the epoch before it computes, provided
// the closure holds every field the Marks reach. The replies say what each partition
// marked: a field outside the closure means some partition may have computed before its
// Mark came, so every partition rejects the transaction and the batch runs again with the
// waves (writes and a commit change nothing once rejected), whose Marks the closure then
// takes in (it is the union of every closure the same writes found, so writes whose reach
// alternates fall short once per reach). The engine also refuses a Resolve for a mirror
// never marked. A commit that fails after predicted Marks runs again the same way, so that
// it fails as the waves tell it (which formula fails first depends on the rounds). A field
// of the closure its owner did not mark (a tracked dependency went away) did not change,
// and the driver tells its readers so with a Resolve (unchanged). So the same fields
// compute once each from the same inputs: results, revisions and effects are those of the
// waves, and a replay, with or without closures, gives the same.
//
// Answered when decided. Once every partition has computed a commit through (no field
// waits, no message is left) and none failed, the commit cannot fail but for a lost
// partition: what it makes is decided, and the batch was logged before it ran, so a run
// of the log makes the same. Each compute asked with `preview` (a request of a batch whose
// last op is its commit, when the caller gave run() a `decided` callback) says, when it
// leaves nothing to compute on its partition, what its commit would make there: the
// revision and its count of changed fields of its own records (schema::Store::
// preview_commit). With every partition's last reply saying so, run() hands the batch's
// results, the commit's included, to `decided` before it sends the commit: the driver
// answers the client a round earlier. The commit then goes as usual and must make what was
// told (a defect otherwise, counted in Traffic::decided_unlike). A partition lost during
// that commit does not change the answer: the epoch stands (the cluster runs its log again
// when the node comes back), and cut_after_decided() says that the partitions hold less
// than the log until then.
//
// Commits around an unreachable partition. While a partition cannot be reached (its node
// is gone: PartitionSet::unreachable), a batch of updates and acknowledgements and one
// commit runs on the others alone when nothing it writes reaches past its own records:
//   - every op names an existing record owned by a reachable partition (an
//     acknowledgement changes its effect on the record's owner alone);
//   - what the transaction wrote — the fields, and the sums the Store keeps of them — no
//     formula of another record reads, and it belongs to records reachable partitions own
//     (schema::Store::written_stays_with_owners). The partitions check it as they apply
//     the batch (PartitionRequest::confine; the reply's written_owners), since they, not
//     the driver, know each record's entity and links;
//   - no Mark or Resolve of it is for the unreachable partition (every exported field's
//     are, so a write whose record's computed fields other records read does not qualify).
// The partition left out would have applied the inputs and computed nothing from them, so
// every value the others commit is the one they would have committed with it. It lags
// behind their revisions until the cluster is restored from a checkpoint and runs its log,
// which holds the batch, again: what the coordinator does when the node is back. Any other
// batch fails at once as unavailable, naming the partition, and rolls back everywhere; an
// undo or a redo, and a batch that creates, deletes or links (which the others would
// compute at their next commit even rolled back), is refused before anything is sent
// (one that reached them before the partition was known unreachable leaves them unlike
// the log, below); no checkpoint is taken meanwhile; a
// transaction the partition had open is taken as gone with it (reads of the others do not
// wait for it). A batch cut short by an unreachable partition after some partition made a
// revision of it (a commit that one made and another did not) left the reachable ones
// unlike the log, which skips that epoch: from then on nothing commits around the
// partition until a restore reaches every partition. Nor does anything commit around it
// while a batch that changed the structure (a creation, a deletion, a link) and did not
// commit is the last such news every partition had: what it left waits for the
// next commit on every partition, as in one Store (a record whose creation was rolled back
// computes then, and may fail it), and the missing partition's share, which a run of the
// log computes, could fail the commit that went around it. A commit that reached every
// partition, or a restore, settles it; an undo or a redo does not (it computes nothing
// new). Why the batch must be confined rather
// than merely skip the partition: a formula there may read what it writes, and what that
// formula would compute (and what reads it in turn) nobody else can tell.
//
// Thread-safety: PartitionedDocuments, none (one thread drives it). LocalPartitions may
// serve the partitions of one phase at once on worker threads (its comment).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/codec/partition_codec.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/executor.hpp"

namespace mgraph::actors {

/// A steady clock as a seam tests control: the driver's phase times (below), the
/// sequencer's epoch times (documents.hpp), the node's log and client timings.
using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;
inline SteadyClock system_steady_clock() {
  return [] { return std::chrono::steady_clock::now(); };
}

/// The phases of a transaction the driver waits for (see above), timed per epoch for the
/// node's mgraph_epoch_phase_seconds. With one partition the whole batch is one request,
/// its commit computed inside it: all of it is `apply`.
enum class EpochPhase : std::uint8_t {
  apply,    ///< input ops applied by every partition (a reject op, a link's check included)
  mark,     ///< Mark rounds until no exported field becomes stale
  compute,  ///< compute and Resolve rounds until computed through (a cycle found)
  commit,   ///< commit, undo or redo on every partition, and the empty revisions
};
inline constexpr std::size_t kEpochPhases = 4;
/// "apply", "mark", "compute", "commit".
const char* epoch_phase_name(EpochPhase phase);
/// Seconds spent in each phase (by EpochPhase), and whether the phase ran at all.
struct PhaseTimes {
  std::array<double, kEpochPhases> seconds{};
  std::array<bool, kEpochPhases> ran{};
  /// A commit of the epoch went with its predicted Marks (PartitionedDocuments, "Predicted
  /// Marks"); and its batch ran again with the waves (the closure fell short, or it failed).
  bool predicted = false;
  bool rerun = false;
  /// Its batch was answered once its commit was decided, before the commit (Partitioned-
  /// Documents, "Answered when decided").
  bool decided = false;
  /// Its commit was made while a partition was unreachable, on the others alone
  /// (PartitionedDocuments, "Commits around an unreachable partition").
  bool around = false;
};

/// Why an epoch aborted, as a closed set (the node's mgraph_epoch_aborts_total): the code of
/// its first failed op, else whether it rejected its transaction.
enum class AbortReason : std::uint8_t {
  none,            ///< committed
  rejected,        ///< a reject op, or a formula rejected a proposal (StatusCode::rejected)
  no_change,       ///< no op failed and none rejected, yet nothing took effect
  invalid_op,      ///< an op refused: a missing record or field, a bad value, a bound
  formula_failed,  ///< a @fail_transaction formula failed (StatusCode::formula_error)
  cycle,           ///< a dependency cycle (in one partition or across partitions)
  unavailable,     ///< a partition could not be reached (StatusCode::io_error)
  other,           ///< anything else (a defect, a corrupt request)
};
inline constexpr std::size_t kAbortReasons = 8;
/// "none", "rejected", "no_change", "invalid_op", "formula_failed", "cycle", "unavailable",
/// "other".
const char* abort_reason_name(AbortReason reason);
/// Where partitions keep their checkpoints: images of their documents, history included,
/// after an epoch (codec::encode_runner_image). An LMDB store of checkpoints on a node
/// (node/), memory in tests. Every call may come from another partition's thread.
class PartitionCheckpoints {
 public:
  virtual ~PartitionCheckpoints() = default;
  /// Stores `image` as `partition`'s checkpoint at `epoch` (replacing one there), durably,
  /// then forgets its checkpoints before `keep_from`.
  virtual Status put(std::uint32_t partition, std::uint64_t epoch, std::string_view image,
                     std::uint64_t keep_from) = 0;
  /// The partition's checkpoint at `epoch`; nullopt when it has none.
  virtual Result<std::optional<std::string>> get(std::uint32_t partition, std::uint64_t epoch) = 0;
  /// Forgets every checkpoint of the partition.
  virtual Status clear(std::uint32_t partition) = 0;
};

/// Checkpoints in memory: for tests and simulations (a "crash" keeps them, as a disk would).
class MemoryPartitionCheckpoints final : public PartitionCheckpoints {
 public:
  Status put(std::uint32_t partition, std::uint64_t epoch, std::string_view image,
             std::uint64_t keep_from) override;
  Result<std::optional<std::string>> get(std::uint32_t partition, std::uint64_t epoch) override;
  Status clear(std::uint32_t partition) override;
  /// The epochs of the partition's checkpoints, oldest first.
  std::vector<std::uint64_t> epochs(std::uint32_t partition);

 private:
  std::mutex mutex_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::string> images_;
};

/// What must be alike in every partition's results of the same ops (results[first..]):
/// each one's status and the record it created (FNV-1a). A partition that is not an
/// apply's reporter (codec::PartitionRequest::reporter) sends this instead of its results,
/// and the driver compares it with the reporter's.
std::uint64_t results_digest(const session::BatchResult& results, std::size_t first);

/// One partition's documents, answering the driver's requests (codec/partition_codec.hpp).
/// Every request is checked: a malformed one is answered with an error, never a crash.
class PartitionServer {
 public:
  /// Without `checkpoints`, a checkpoint request is answered with an error and a restore
  /// only to epoch 0 (the documents as the schema starts them) succeeds.
  PartitionServer(std::shared_ptr<const schema::Schema> schema, schema::StoreOptions options,
                  std::shared_ptr<PartitionCheckpoints> checkpoints = nullptr);
  codec::PartitionReply serve(const codec::PartitionRequest& request);
  /// The bytes of serve()'s reply to the request in `bytes`; bad bytes get an error reply.
  std::string serve_bytes(std::string_view bytes);
  schema::Store& store() { return *store_; }

  /// What this partition did since it started, readable from any thread.
  struct Counters {
    std::atomic<std::uint64_t> requests{0};
    /// Fields of records it owns that its commits, undos and redos changed.
    std::atomic<std::uint64_t> owned_changed{0};
    /// Values of fields it owns that it resolved for the partitions that mirror them.
    std::atomic<std::uint64_t> resolutions{0};
    /// Nodes of its graph after its last request: fields of every record (its own and
    /// mirrors of the others') and the hidden nodes formulas need; the partition's size.
    std::atomic<std::uint64_t> graph_nodes{0};
    /// Fields failed or blocked after its last request (docs/SCHEMA.md, "Failed fields").
    std::atomic<std::uint64_t> fields_failed{0};
    /// Formulas that failed in its graph since it started (Graph::formula_failures).
    std::atomic<std::uint64_t> formula_failures{0};
    /// Formulas its graph ran since it started (Graph::formulas_computed), across resets:
    /// only the owner of a record computes its fields, so the partitions' sum is the
    /// cluster's.
    std::atomic<std::uint64_t> formulas_computed{0};
    /// Checkpoints stored, and the size of the last one's image.
    std::atomic<std::uint64_t> checkpoints{0};
    std::atomic<std::uint64_t> checkpoint_bytes{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  /// The effects of owned records the last commit raised (codec::EffectTrigger).
  void raised_effects(std::vector<codec::EffectTrigger>* out);
  /// The fields of owned records the last commit, undo or redo changed (lazy ones and the
  /// engine's hidden ones aside, codec::hidden_field),
  /// with their value and version (codec::FieldChange): what subscriptions are told.
  void changed_fields(std::vector<codec::FieldChange>* out);
  /// The changes of fields whose versions are kept, of its records, the last commit, undo
  /// or redo made (session::recorded_change).
  void recorded_changes(std::vector<session::RecordedChange>* out);
  /// The result `op` (a resolve that succeeded with `outcome`) gave a request of `record`,
  /// when the partition owns it.
  void request_result(session::RecordId record, const session::Op& op, const std::string& outcome,
                      std::vector<session::RequestResult>* out);
  /// Every field (lazy ones aside) of the records of `entity` it owns that exist, by record.
  Status records_of(const std::string& entity, std::vector<codec::FieldChange>* out);
  /// A new, empty Store (and its executor): the documents as the schema starts them.
  void renew();
  Status checkpoint(std::uint64_t epoch, std::uint64_t keep_from, std::uint64_t* bytes);
  Status restore(std::uint64_t epoch);

  std::shared_ptr<const schema::Schema> schema_;
  schema::StoreOptions options_;
  std::shared_ptr<PartitionCheckpoints> checkpoints_;
  std::unique_ptr<schema::Store> store_;
  std::unique_ptr<session::StoreExecutor> executor_;
  /// The results of the current batch's ops so far here; ops applied only elsewhere (a
  /// read on another owner) leave an empty result, which no reference names.
  std::uint64_t batch_ = 0;
  session::BatchResult earlier_;
  Counters counters_;
};

/// How the driver reaches the partitions.
class PartitionSet {
 public:
  using Call = std::pair<std::uint32_t, codec::PartitionRequest>;
  virtual ~PartitionSet() = default;
  virtual std::uint32_t size() const = 0;
  /// Sends every request (to its partition) at once and returns the replies in the same
  /// order. A partition that cannot be reached answers with an error status.
  virtual std::vector<codec::PartitionReply> call(const std::vector<Call>& calls) = 0;
  /// Why partition `p` cannot be reached now, as a call to it would fail ("unavailable:
  /// partition P (NODE): gone (...)"); empty when it may be reached. A set learns that a
  /// partition is gone from a call, so a partition that went away since the last one is
  /// not known yet.
  virtual std::string unreachable(std::uint32_t p) const {
    (void)p;
    return std::string();
  }
  /// call() with `request` to every partition, the replies by partition. A set that sends
  /// bytes encodes the request once for all.
  virtual std::vector<codec::PartitionReply> call_all(const codec::PartitionRequest& request) {
    std::vector<Call> calls;
    calls.reserve(size());
    for (std::uint32_t p = 0; p < size(); ++p) calls.emplace_back(p, request);
    return call(calls);
  }
};

/// Partitions in this process, called directly (or through their bytes, which tests use to
/// run the codec on every request and reply): one after another on the caller's thread, or,
/// `threaded`, the requests of one call to different partitions at once on all cores.
///
/// Threaded: one worker thread per partition, started by the constructor and joined by the
/// destructor, each serving only its own partition, so a PartitionServer (not thread-safe)
/// is only ever used by one thread at a time. A call that reaches one partition is served on
/// the caller's thread (a hand-over would only add latency); a call that reaches several
/// serves the first call's partition on the caller's thread and hands every other
/// partition's requests (in their order in `calls`) to its worker, then blocks (a condition
/// variable, no spinning) until every worker is done. Replies, results and the servers'
/// state are exactly those of the sequential set: partitions share nothing but
/// `checkpoints` (which is thread-safe) and each serves its requests in order.
///
/// Thread-safety: call() from one thread at a time (the driver); server(), set_threaded()
/// and the destructor only between calls. A server's counters may be read at any time.
class LocalPartitions final : public PartitionSet {
 public:
  struct Options {
    std::uint32_t partitions = 1;
    std::uint64_t salt = 0;  ///< varies the placement (schema::Placement::salt)
    std::size_t history_limit = 64;
    bool through_bytes = false;
    std::shared_ptr<PartitionCheckpoints> checkpoints;  ///< shared by the partitions
    bool threaded = false;  ///< one worker thread per partition (above)
  };
  /// REQUIRES: 1 <= options.partitions.
  LocalPartitions(std::shared_ptr<const schema::Schema> schema, Options options);
  ~LocalPartitions() override;
  LocalPartitions(const LocalPartitions&) = delete;
  LocalPartitions& operator=(const LocalPartitions&) = delete;
  std::uint32_t size() const override { return static_cast<std::uint32_t>(servers_.size()); }
  std::vector<codec::PartitionReply> call(const std::vector<Call>& calls) override;
  PartitionServer& server(std::uint32_t partition) { return *servers_[partition]; }
  /// Whether calls go to the workers (a threaded set only; the workers stay up either way):
  /// a load of many small requests, each reaching every partition, runs faster without the
  /// hand-overs.
  void set_threaded(bool on) { threaded_ = on && workers_ != nullptr; }
  bool threaded() const { return threaded_; }

 private:
  class Workers;
  codec::PartitionReply serve(std::uint32_t to, const codec::PartitionRequest& request);

  bool through_bytes_;
  bool threaded_ = false;
  std::vector<std::unique_ptr<PartitionServer>> servers_;
  std::unique_ptr<Workers> workers_;  ///< null unless Options::threaded with 2+ partitions
};

class PartitionedDocuments {
 public:
  /// Picks which of `queued` (>= 1) messages the network delivers next, alone; null: every
  /// queued message at once, each partition taking its own in the order they were sent.
  using Chooser = std::function<std::size_t(std::size_t queued)>;

  struct Options {
    std::uint32_t partitions = 1;  ///< with the schema: LocalPartitions of this many
    std::uint64_t salt = 0;        ///< the placement's salt; the partitions' must be the same
    std::size_t history_limit = 64;
    bool through_bytes = false;    ///< LocalPartitions::Options::through_bytes
    Chooser choose;
    /// Times the phases (take_phases) when given; without it no clock is read.
    SteadyClock now = nullptr;
    std::shared_ptr<PartitionCheckpoints> checkpoints;  ///< LocalPartitions::Options::checkpoints
    bool threaded = false;  ///< LocalPartitions::Options::threaded
    /// Predicted Marks (above). Off: every commit sends the waves of Marks.
    bool predict_marks = true;
    /// Answered when decided (above). Off: run() never calls `decided`.
    bool answer_when_decided = true;
    /// Commits around an unreachable partition (above). Off: while one is unreachable,
    /// every batch that needs all of them fails.
    bool commit_around_unreachable = true;
  };

  /// Documents on `options.partitions` partitions in this process.
  /// REQUIRES: 1 <= options.partitions.
  PartitionedDocuments(std::shared_ptr<const schema::Schema> schema, Options options);
  /// Documents on the partitions `set` reaches (options.partitions is ignored).
  PartitionedDocuments(std::unique_ptr<PartitionSet> set, Options options);

  /// Called with a batch's results once its last op, a commit, is decided (above).
  using Decided = std::function<void(const session::BatchResult&)>;

  /// Waits until the batch's log write is done; its failure. The sequencer logs an epoch
  /// while the driver runs it (docs/EPOCHS.md, "The log write beside the epoch").
  using Logged = std::function<Status()>;

  /// Applies a batch, in order, as one Store would; a transaction the batch left open is
  /// rejected. `*committed`, if given: whether a commit, undo or redo of it took effect.
  /// `decided`, if given, may be called once, before run() returns, with what run() will
  /// return (Answered when decided, above). `logged`, if given, is called once before
  /// anything of the batch can last — before a commit is decided or sent, an undo or a
  /// redo, or the one request of a single partition — and a failure it returns rolls the
  /// transaction back (failed_precondition).
  session::BatchResult run(const session::Batch& batch, bool* committed = nullptr,
                           const Decided& decided = nullptr, const Logged& logged = nullptr);
  /// The last run() told `decided` its results and a partition was then lost before it
  /// committed: the partitions hold less than the log until they are restored.
  bool cut_after_decided() const { return cut_after_decided_; }
  /// A run cut short by an unreachable partition moved a partition's revision since the
  /// partitions were last restored: they hold what the log does not, and nothing commits
  /// around an unreachable partition until they are restored (above).
  bool unlike_log() const { return unlike_log_; }
  /// Empties every partition: the documents as the schema starts them, no revision. What a
  /// driver does before it runs a log from its start.
  Status reset();
  /// Every partition stores its documents as its checkpoint of `epoch` (the epoch last run)
  /// and forgets its checkpoints before `keep_from`. `*bytes`: the images' sizes summed.
  /// Fails if one partition fails (the others' checkpoints of `epoch` are then not to be
  /// restored: none is complete).
  Status checkpoint(std::uint64_t epoch, std::uint64_t keep_from, std::uint64_t* bytes);
  /// Every partition takes back its checkpoint of `epoch`: the documents as they were after
  /// it, history included. Epoch 0: empty, as reset(), and every checkpoint forgotten.
  Status restore(std::uint64_t epoch);

  /// Every field of every record of `entity` as the partitions hold them (their owners'),
  /// by record: what a subscription of the entity starts from. Outside a batch only.
  Result<std::vector<codec::FieldChange>> records_of(const std::string& entity);

  /// The effects the last run's commits raised, each on the partition owning its record,
  /// in the order the partitions answered (what the sequencer offers its consumers).
  const std::vector<codec::EffectTrigger>& effects() const { return effects_; }
  /// The fields the last run's commits, undos and redos changed, each reported by the
  /// partition owning its record, in the order they answered (a field changed twice is
  /// listed twice): what subscriptions are told (actors/watch.hpp).
  const std::vector<codec::FieldChange>& changes() const { return changes_; }
  /// The changes of effects and @versioned fields the last run's commits, undos and redos
  /// made, each reported by the partition owning its record: what the coordinator's
  /// history and ledger record (session/version_ledger.hpp).
  const std::vector<session::RecordedChange>& recorded() const { return recorded_; }
  /// The results of async requests the last run's resolves settled (session::RequestResult).
  const std::vector<session::RequestResult>& request_results() const { return request_results_; }

  std::uint32_t partitions() const { return set_->size(); }
  PartitionSet& set() { return *set_; }

  /// Messages between partitions so far.
  struct Traffic {
    std::uint64_t marks = 0;
    std::uint64_t resolutions = 0;
    std::uint64_t predicted = 0;     ///< commits that sent predicted Marks (above)
    /// Of those, batches run again with the waves: a closure fell short, or the commit
    /// failed (so that it fails as the waves tell it).
    std::uint64_t reruns = 0;
    /// Commits whose results went to run()'s `decided` before they were sent (above).
    std::uint64_t decided = 0;
    /// Of those, commits that made other results than told: a defect (none should).
    std::uint64_t decided_unlike = 0;
    /// Of those, commits a partition was lost during (cut_after_decided()).
    std::uint64_t decided_cut = 0;
    /// Resolves kept for the commit's request (drain()), of `resolutions`.
    std::uint64_t deferred = 0;
    /// Commits made while a partition was unreachable, without it (above).
    std::uint64_t around_unreachable = 0;
  };
  const Traffic& traffic() const { return traffic_; }

  /// The time spent in each phase since the last call (nothing without Options::now),
  /// then none: what the driver reports with an epoch's outcome.
  PhaseTimes take_phases();

 private:
  /// Adds the time from its construction to its destruction to a phase.
  class PhaseTimer;
  struct Queued {
    std::uint32_t to = 0;
    codec::PartitionMessage message;
  };

  /// Ops [first, last) of `batch`, which every partition applies alike, on every partition;
  /// their results appended to *results. With `mark_after` (the next op is the commit) each
  /// partition marks after them, in the same request: what that made stale is queued, and
  /// the commit's stabilize() starts from it instead of asking for a mark.
  void everywhere(const session::Batch& batch, std::size_t first, std::size_t last,
                  session::BatchResult* results, bool mark_after = false);
  session::OpResult read(const session::Op& op, const session::BatchResult& earlier);
  session::OpResult dot();
  session::OpResult link(const session::Batch& batch, const session::BatchResult& earlier);
  /// commit, undo, redo: one result with the changed fields of every partition.
  session::OpResult transition(const session::Batch& batch, const session::BatchResult& earlier);

  /// Sends `calls`, notes each partition's open transaction; the first failure (in the
  /// order of `calls`) or ok.
  Status send(const std::vector<PartitionSet::Call>& calls,
              std::vector<codec::PartitionReply>* replies);
  /// The same request to every partition (PartitionSet::call_all).
  Status send_all(const codec::PartitionRequest& request,
                  std::vector<codec::PartitionReply>* replies);
  /// Notes what each reply says of its partition (reply i is from partition_of(i)): its
  /// open transaction, revision and waiting fields; the first failure or ok.
  Status note_replies(const std::vector<codec::PartitionReply>& replies,
                      const std::function<std::uint32_t(std::size_t)>& partition_of);
  /// One op on one partition.
  session::OpResult apply_on(std::uint32_t partition, const session::Op& op, std::size_t index);

  /// Mark and compute rounds until every partition's open transaction is computed
  /// through. On failure every partition's transaction is rejected. `for_commit`: the
  /// commit follows at once, so Resolves for a partition where nothing waits are kept
  /// (deferred_) for the commit's request instead of costing a round.
  Status stabilize(bool for_commit = false);
  /// The closure of Marks of a commit: the exported fields the waves after its first Marks
  /// marked, each with its owner.
  using MarkClosure = std::vector<std::pair<NodeId, std::uint32_t>>;
  /// Takes the replies of an apply sent with `closure`'s Marks and the compute (Predicted
  /// Marks, above): checks what the partitions marked, queues their Resolves and an
  /// unchanged one for each field of the closure its owner did not mark. False when one
  /// marked a field outside it (the run again with the waves adds what they mark to the
  /// closure) or failed.
  bool take_predicted(const std::vector<codec::PartitionReply>& replies, const MarkClosure& closure);
  /// run() once: `predicting_` says whether a commit may use a closure.
  session::BatchResult run_once(const session::Batch& batch, bool* committed);
  /// Appends to `calls` one deliver request per partition with its messages of `messages`,
  /// in the order they were sent.
  void add_deliveries(std::vector<Queued> messages, std::vector<PartitionSet::Call>* calls) const;
  /// Delivers what is queued, all at once or as `choose` picks, until nothing is; with
  /// `defer_idle`, a Resolve for a partition where no field waits goes to deferred_.
  Status drain(bool defer_idle = false);
  /// stabilize() when a transaction is open: what a read of computed values needs.
  Status settle_for_read();
  /// Waits for run()'s log write (once: later calls of the run return what it returned);
  /// its failure, as "epoch log: ...".
  Status await_logged();
  /// The cycle that holds the fields still waiting (by node: the partition computing it
  /// and what it waits on), as the path round it.
  static std::string cycle_message(
      const std::map<NodeId, std::pair<std::uint32_t, codec::PendingField>>& waiting);
  std::uint32_t owner_of(session::RecordId id) const;
  void queue(std::uint32_t from, const codec::PartitionReply& reply);
  /// Queues `m` (a Mark or a Resolve of partition `from`'s field) to every other partition.
  void queue_to_others(std::uint32_t from, const codec::PartitionMessage& m);
  bool in_transaction() const;
  void reject_all();
  /// Commits around an unreachable partition (above): when one is unreachable and the
  /// batch may run without it, leaves out every unreachable partition for this run().
  void leave_out_unreachable(const session::Batch& batch);
  /// Whether this run() leaves partition `p` out.
  bool left_out(std::uint32_t p) const { return !left_out_.empty() && left_out_[p]; }
  /// Why this run() left partitions out, as a failure of what then needed one of them.
  Status needed_left_out(std::string_view what) const;

  Options options_;
  std::unique_ptr<PartitionSet> set_;
  std::vector<bool> open_;  ///< each partition's transaction, as its last reply said
  std::vector<std::uint64_t> revisions_;  ///< each partition's revision, likewise
  std::vector<std::uint32_t> waiting_;    ///< each partition's fields waiting for a mirror
  /// What each partition's last reply said its commit would make (Answered when decided),
  /// when it did.
  struct Preview {
    std::uint64_t revision = 0;
    std::uint64_t owned_changed = 0;
  };
  std::vector<std::optional<Preview>> previews_;
  const Decided* decided_ = nullptr;  ///< run()'s, while its batch may be answered when decided
  const Logged* logged_ = nullptr;    ///< run()'s
  std::optional<Status> logged_status_;  ///< what logged_ returned, once called in this run()
  bool previewing_ = false;           ///< compute requests ask for previews
  /// The commit's results as run() told `decided`; cut_after_decided().
  std::optional<session::OpResult> told_;
  bool cut_after_decided_ = false;
  std::uint64_t batch_ = 0;          ///< batches run so far: the number of the current one
  std::uint64_t owned_changed_ = 0;  ///< the sum over partitions, after the last apply
  std::vector<Queued> queue_;
  /// Resolves for partitions where nothing waits for them, kept by a commit's stabilize()
  /// for the commit's own request (everywhere()): nothing there reads those mirrors, so
  /// they only need their values before the commit.
  std::vector<Queued> deferred_;
  /// Every partition marked with the last apply (mark_after) and queue_ holds the Marks it
  /// made: the next stabilize() drains them instead of asking for a mark.
  bool marked_ = false;
  /// Closures of Marks by the write signature of their batch (partitioned.cpp), at most
  /// kMarkClosuresMax (then all are forgotten).
  std::map<std::string, MarkClosure> closures_;
  bool predicting_ = false;  ///< the batch run is writes and one commit, and may use its closure
  std::string key_;          ///< its write signature; empty: not such a batch
  MarkClosure learning_;     ///< the Marks of its commit so far, when it runs with the waves
  /// The apply computed with the closure's Marks: the commit's stabilize() drains what
  /// it resolved (queue_) instead of marking and computing.
  bool computed_ = false;
  bool rerun_ = false;  ///< a closure fell short, or the commit failed: run() runs it again without
  MarkClosure* mark_log_ = nullptr;  ///< queue() notes each Mark it queues here
  /// The partitions this run() leaves out (empty: none), the first of the others, which
  /// reports an apply's results (0 when none is left out), and why the first left out
  /// cannot be reached.
  std::vector<bool> left_out_;
  std::uint32_t reporter_ = 0;
  std::string unreachable_;
  /// A Mark or Resolve of this run was for a partition left out: the run fails.
  bool needs_left_out_ = false;
  /// A run cut short by an unreachable partition moved a partition's revision since the
  /// partitions were last restored (above): no commit goes around a partition.
  bool unlike_log_ = false;
  /// A batch that reached every partition changed the structure and did not commit since
  /// the last commit (not an undo or a redo) that reached them all (above): no commit goes
  /// around a partition.
  bool unsettled_ = false;
  Traffic traffic_;
  std::vector<codec::EffectTrigger> effects_;  ///< raised by the current run
  std::vector<codec::FieldChange> changes_;    ///< made by the current run
  std::vector<session::RecordedChange> recorded_;  ///< made by the current run
  std::vector<session::RequestResult> request_results_;  ///< settled by the current run
  PhaseTimes phases_;  ///< since the last take_phases()
};

}  // namespace mgraph::actors

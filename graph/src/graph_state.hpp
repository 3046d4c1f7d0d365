#pragma once
// The state behind a Graph handle: node storage (structure of arrays), the open
// transaction, and history. Shared between a graph and its branches until either
// side changes (copy-on-write in Graph::mut()).

#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "column.hpp"
#include "edge_arena.hpp"
#include "lean_plan.hpp"
#include "mgraph/graph/cycle_resolution.hpp"
#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/image.hpp"

namespace mgraph {

/// The spec ids every graph has: 0 for variables, 1 for mirrors (Graph::add_mirror).
inline constexpr SpecId kVariableSpec = 0;
inline constexpr SpecId kMirrorSpec = 1;

// Per-node flag bits, stored in the low bits of `meta` (the height is above them).
enum NodeFlag : std::uint32_t {
  kStale = 1u << 0,          ///< value may be out of date
  kWritten = 1u << 1,        ///< variable: written since the last mark(); derived: marked in this txn
  kLazy = 1u << 2,            ///< copy of the spec's laziness, so the hot path needs no spec
  kVisiting = 1u << 3,       ///< on the evaluation stack (cycle detection)
  kMirrorPending = 1u << 4,  ///< mirror marked stale and not yet resolved
  kForce = 1u << 5,          ///< must recompute: new, proposed or redefined
  kObserved = 1u << 6,       ///< has an observer: computed eagerly
  kExported = 1u << 7,       ///< read by other partitions: computed eagerly, reported
  /// Copy of "the spec is incremental" (Dependencies::incremental), so that marking can
  /// note which input made such a node stale without looking at its spec.
  kIncremental = 1u << 8,
};
inline constexpr std::uint32_t kMarked = kWritten;  // same bit, on derived nodes
inline constexpr std::uint32_t kFlagBits = 9;
static_assert(kFlagBits == kImageFlagBits, "image.hpp documents the meta layout");
/// Flags that follow the structure (the node's spec), not the state.
inline constexpr std::uint32_t kStructureFlags = kLazy | kIncremental;
inline constexpr std::uint32_t kFlagMask = (1u << kFlagBits) - 1;
/// Largest height a node can have (23 bits above the flags).
inline constexpr std::uint32_t kHeightMax = (1u << (32 - kFlagBits)) - 1;

enum class SpecKind : std::uint8_t {
  variable,
  mirror,
  formula,
  group_member,
  group_dispatcher,
  incremental,  ///< a formula over Dependencies::incremental inputs
};

struct SpecEntry {
  FieldSpec spec;
  SpecKind kind = SpecKind::formula;
  bool lazy = false;
  bool tracked = false;
  bool custom_equality = false;  ///< spec.equality is set (cached off the hot path)
  /// spec.kernel if the lean commit runs it directly (no custom equality), else null
  ScalarKernel lean_kernel = nullptr;
  std::uint32_t group = 0;   ///< group members and dispatchers
  std::uint32_t member = 0;  ///< group members
};

/// A node's fixed-size state but its value, kept together: a commit that computes a node
/// reads and writes these fields together, so on a graph larger than the cache one record
/// costs one miss (and one TLB entry) where a column per field cost six
/// (DECISIONS.md "Engine locality").
struct alignas(32) NodeRecord {
  std::uint32_t meta = 0;  ///< height << kFlagBits | flags
  SpecId spec = 0;
  std::uint32_t changed_at = 0;   ///< stamp of the last value change
  std::uint32_t computed_at = 0;  ///< stamp of the last computation (0: never)
  Span deps;
  Span rdeps;
};
static_assert(sizeof(NodeRecord) == 32, "two node records per cache line");

struct GroupState {
  CycleGroupDef def;
  std::vector<NodeId> members;
  std::vector<bool> keep;  ///< Graph::set_keep: kept in every transaction
  NodeId dispatcher = kNoNode;
  std::uint32_t shape = 0;  ///< index into GraphState::group_memos
};

/// How the open transaction touched one input of an incremental node.
enum class InputEvent : std::uint8_t { marked, added, removed };

/// One input of an incremental node touched in the open transaction: whether it was an
/// input when the transaction began, with its value then, and whether it is one now.
struct TouchedInput {
  NodeId input;
  bool was_input;
  bool is_input;
  Value old_value;  ///< valid if was_input
};

/// The inputs of one incremental node touched in the open transaction. Kept until the
/// transaction ends (also across reset_computations), since a computation always starts
/// from the node's value at the start of the transaction.
struct InputLog {
  NodeId node;
  std::vector<TouchedInput> inputs;
  std::vector<NodeId> pull;  ///< inputs with is_input, brought up to date before it runs
  bool pull_dirty = false;   ///< an input was removed after `pull` was built
};

/// Thrown inside the engine (never across the API) to unwind a running formula.
struct CycleError {
  std::string path;
};
struct RejectError {
  NodeId node;
  std::string reason;
};
struct BlockedError {};
/// A tracked formula read a failed or blocked field: it is blocked by `cause`.
struct InputFailed {
  NodeId cause;
};
/// A formula read a stale node while formulas were already nested kNestMax deep: the
/// formula is abandoned, `node` is computed first on the explicit stack, and the
/// formula runs again (formulas are deterministic). Keeps the C++ stack bounded for
/// deep chains of tracked fields that were never computed.
struct NeedFirst {
  NodeId node;
};
/// Formulas running inside one another (a tracked read of a stale node) at most.
inline constexpr std::uint32_t kNestMax = 128;

/// Throws the std::invalid_argument that fails a kernel field whose input `k` is `v`.
[[noreturn, gnu::cold]] void kernel_input_not_a_number(const Value& v, std::size_t k);
/// Input `k` of a kernel (FieldSpec::kernel) as a double: int64 converted, anything else
/// fails the field.
inline double kernel_input(const Value& v, std::size_t k) {
  if (v.is_double()) [[likely]] return v.as_double();
  if (v.is_int()) return static_cast<double>(v.as_int());
  kernel_input_not_a_number(v, k);
}

struct GraphState {
  explicit GraphState(GraphOptions opts);

  // ---- Node storage, indexed by NodeId ----
  // (Column: large ones on huge pages, column.hpp.)
  Column<Value> values;  ///< its own column: Context reads inputs' values from it
  Column<NodeRecord> nodes;  ///< everything else of a node, in one half cache line
  EdgeArena edges;
  std::vector<SpecEntry> specs;  ///< 0: variable, 1: mirror
  /// By spec, what the lean commit needs to run a kernel: SpecEntry::lean_kernel and the
  /// kernel's data, 16 bytes where a SpecEntry is ~200, so that reaching a node's kernel
  /// costs a shift and a load (null: not a kernel the lean path runs directly).
  struct LeanKernel {
    ScalarKernel kernel;
    const void* data;
  };
  std::vector<LeanKernel> lean_kernels;
  /// Adds a spec (specs and lean_kernels); its id is specs.size() - 1.
  void push_spec(SpecEntry e) {
    lean_kernels.push_back(LeanKernel{e.lean_kernel, e.spec.kernel_data});
    specs.push_back(std::move(e));
  }
  std::unordered_map<NodeId, std::string> names;
  std::vector<GroupState> groups;
  /// One resolution memo per group shape (member count, formula outputs and inputs,
  /// defaults), found by that shape: every record of an entity shares its group's memo.
  std::vector<CycleResolutionMemo> group_memos;
  std::map<std::vector<std::uint32_t>, std::uint32_t> group_shapes;
  /// Fields whose condition is not ok (failed or blocked; Graph::condition). Empty in the
  /// common case, which is all the hot path looks at.
  std::unordered_map<NodeId, FieldCondition> conditions;
  std::uint64_t formula_failures = 0;  ///< Graph::formula_failures

  GraphOptions options;

  // ---- Transaction ----
  bool txn_open = false;
  std::uint32_t stamp = 1;  ///< stamp of the open (or last) transaction
  std::uint32_t txn_first_stamp = 1;  ///< first stamp of the open transaction
  struct Written {
    NodeId node;
    std::uint32_t journal_index;
  };
  std::vector<Written> written;      ///< variables written since the last mark()
  std::vector<NodeId> forced;        ///< derived nodes to recompute (proposals, redefinitions)
  std::vector<NodeId> pending_new;   ///< derived nodes never computed yet
  std::unordered_map<NodeId, Value> proposals;
  std::unordered_set<NodeId> kept;   ///< group members kept if possible (Graph::keep_if_possible)
  std::vector<NodeId> marked;        ///< derived nodes marked stale in this transaction
  std::vector<NodeId> marked_mirrors;  ///< mirrors marked stale in this transaction
  std::vector<Freshened> freshened;  ///< nodes that went from stale to fresh in this txn
  std::vector<NodeId> forced_txn;    ///< every forced node of this transaction
  bool rewritten = false;            ///< a variable was written again after a mark()
  bool computed_in_txn = false;      ///< compute ran (or a read pulled) in this txn
  NodeId current = kNoNode;          ///< node of a running fast-path formula
  std::uint32_t nest_depth = 0;      ///< formulas running inside one another now
  std::size_t marked_pos = 0;        ///< marked[0, marked_pos) went through compute
  std::vector<NodeId> queue;         ///< other nodes to compute (new, forced, deferred)
  std::size_t queue_pos = 0;         ///< queue[0, queue_pos) has been processed
  /// Fields whose computation waits, each with what it waits for: an unresolved mirror,
  /// or another waiting field (the first waiting node its walk met, when that is one). A
  /// field is tried again when what it waits for resolves or is computed, not at every
  /// compute(): each try walks its stale inputs again, so trying every waiting field at
  /// every round of a transaction whose values cross partitions many times over was
  /// quadratic, and waiting for the nearest waiting field instead of its mirror keeps a
  /// chain of them from being tried all again at each of the chain's rounds.
  /// `waiting_for` is what counts (Graph::pending()); `waiters` lists, by what they wait
  /// for, the fields to try when it is done (an entry whose field was computed meanwhile,
  /// or waits for something else now, is skipped).
  std::unordered_map<NodeId, NodeId> waiting_for;
  std::unordered_map<NodeId, std::vector<NodeId>> waiters;
  std::vector<NodeId> resolved_mirrors;   ///< resolved since compute() last woke waiters
  mutable std::vector<NodeId> waiting_view;  ///< Graph::pending(): the waiting fields, sorted
  /// In the running compute(): nodes found waiting, each with the mirror it waits for.
  std::unordered_map<NodeId, NodeId> blocked;
  /// What the last ensure() that returned false waits for: its mirror, and the node to
  /// wait for (the mirror, or the waiting field its walk met).
  NodeId block_mirror = kNoNode;
  NodeId block_key = kNoNode;
  /// Forgets every waiting field (the transaction ends, or its computations start over).
  void clear_waiting() {
    waiting_for.clear();
    waiters.clear();
    resolved_mirrors.clear();
    blocked.clear();
  }
  RevisionRecord journal;            ///< the open transaction's changes
  std::unordered_set<NodeId> deps_journaled;
  /// Exported nodes marked in this transaction, in every round (a node may appear again).
  std::vector<NodeId> exported_marked;
  std::unordered_set<NodeId> exported_listed;  ///< the nodes in exported_marked
  void note_exported_marked(NodeId n) {
    exported_marked.push_back(n);
    exported_listed.insert(n);
  }
  /// Exported nodes computed since compute() last reported (by compute(), or by a read
  /// inside the transaction; a node may appear again): what the next compute() reports,
  /// those still fresh, marked in this transaction and not reported in this round.
  /// Reporting from exported_marked meant walking every exported field of the round at
  /// each compute() of it: quadratic in a round that resolves them one call at a time.
  std::vector<NodeId> exported_done;
  /// Notes `x`, just computed, for compute()'s report when it is exported.
  void note_computed_export(NodeId x) {
    if (has(x, kExported)) exported_done.push_back(x);
  }
  /// exported_marked before this index was reported by Graph::mark()/mark_mirror(); marks
  /// made inside reads and compute() are reported by the next of those calls. The one way
  /// exported fields that became stale are reported.
  std::size_t exported_stale_reported = 0;
  /// reset_computations() took back computations after a compute() round: exported
  /// fields whose values other partitions received may hold other values now.
  bool exported_taken_back = false;
  /// Appends to `out` the exported nodes marked since the last report that are still stale.
  void report_exported_stale(std::vector<NodeId>* out) {
    for (; exported_stale_reported < exported_marked.size(); ++exported_stale_reported) {
      const NodeId n = exported_marked[exported_stale_reported];
      if (out != nullptr && has(n, kStale)) out->push_back(n);
    }
  }
  /// Incremental nodes' touched inputs in this transaction: logs by node, and the index
  /// of each (node, input) pair in its log.
  std::vector<InputLog> input_logs;
  std::unordered_map<NodeId, std::uint32_t> input_log_of;
  std::unordered_map<std::uint64_t, std::uint32_t> touched_index;
  /// The changes the running incremental formula sees (Context::changes()).
  const std::vector<InputChange>* running_changes = nullptr;
  NodeId running_incremental = kNoNode;
  /// Positions of the inputs of incremental nodes with long input lists (input_position):
  /// a cache of the dependency lists, rebuilt when found stale.
  std::unordered_map<NodeId, std::unordered_map<NodeId, std::uint32_t>> input_index;
  std::unordered_set<NodeId> exported_reported;
  bool stamp_computed = false;       ///< a formula ran at the current stamp
  bool computing = false;            ///< compute() ran in this transaction
  /// Formulas run since the graph was made (Graph::formulas_computed); a commit's
  /// CommitStats::computed is its growth during the commit.
  std::uint64_t computed_count = 0;

  // ---- History ----
  std::deque<RevisionRecord> undo_stack;
  std::vector<RevisionRecord> redo_stack;
  Revision revision = 0;
  Revision next_revision = 1;
  std::vector<NodeId> last_changed;
  /// What changed flags, stamps or caches since the last revision (history only), in
  /// order: lazy computations outside transactions and commits without a change.
  std::vector<RevisionRecord> ambient;
  RevisionRecord& pulls() {
    if (ambient.empty() || !ambient.back().pull_segment) {
      ambient.emplace_back();
      ambient.back().pull_segment = true;
    }
    return ambient.back();
  }
  void unapply_ambient() {
    for (std::size_t i = ambient.size(); i-- > 0;) unapply(ambient[i]);
    ambient.clear();
  }

  // ---- Lean commit (lean.cpp) ----
  /// Nodes that keep commit() on the general path: derived fields that are not strict
  /// with declared dependencies (lazy, tracked, incremental, cycle-group nodes), mirrors,
  /// and exported fields (counted once more each). Zero: every commit whose transaction
  /// only wrote variables takes the lean path.
  std::uint32_t lean_blockers = 0;
  /// Whether nodes of spec `s` keep commit() off the lean path.
  bool spec_blocks_lean(SpecId s) const {
    const SpecEntry& e = specs[s];
    return e.kind != SpecKind::variable &&
           (e.kind != SpecKind::formula || e.lazy || e.tracked);
  }
  /// One node the lean propagation will compute, in its height's list (`next`: the
  /// index of the following entry of that height, kLeanEnd at the end).
  struct LeanEntry {
    NodeId node;
    std::uint32_t next;
  };
  static constexpr std::uint32_t kLeanEnd = UINT32_MAX;
  /// propagate_lean() prefetches the columns of the nodes it will visit in graphs of at
  /// least this many nodes (their columns exceed the caches), this many nodes ahead per
  /// stage, and the values of at most this many inputs of a node.
  static constexpr std::size_t kLeanPrefetchNodes = std::size_t{1} << 16;
  static constexpr std::size_t kLeanPrefetchDistance = 3;
  static constexpr std::uint32_t kLeanPrefetchInputs = 4;
  struct LeanLevel {
    std::uint32_t head = kLeanEnd;
    std::uint32_t tail = kLeanEnd;
  };
  /// scratch: nodes scheduled by a commit, in its first entries (its size is room, not
  /// a count: propagate_lean() counts them)
  std::vector<LeanEntry> lean_scheduled;
  std::vector<LeanLevel> lean_levels;      ///< by height: that height's scheduled nodes
  std::vector<std::uint64_t> lean_height_bits;  ///< by height: a bit per height with a list
  /// scratch: the nodes of two consecutive heights, the one computed and the next one
  /// (used as lean_scheduled is: a size that is room)
  std::vector<NodeId> lean_layers[2];
  /// scratch: the inputs of a kernel (FieldSpec::kernel) with more than 4 of them
  std::vector<double> kernel_inputs;
  /// propagate_lean() for a field computed by its Formula: runs it and stores the value;
  /// whether it changed (a formula that throws fails x, a change, or rethrows). Out of
  /// line, so that the loop around the kernels stays small.
  [[gnu::noinline]] bool lean_formula(NodeId x, const SpecEntry& se);
  /// Whether commit() can propagate the open transaction with propagate_lean().
  bool lean_eligible() const;
  /// Bumped by every change of nodes, edges, heights or specs: plans built before it are
  /// stale (lean_plan.hpp, invariant 2).
  std::uint64_t structure_version = 0;
  void structure_changed() { ++structure_version; }
  LeanPlans lean_plans;
  /// scratch: the variables a lean commit changed (a plan's key: sorted when plans are on)
  std::vector<NodeId> lean_sources;
  /// scratch: by slot of the plan followed, whether that source or field changed
  std::vector<std::uint8_t> lean_changed;
  /// A journal entry of a field whose old value is a double, as a lean commit stages it
  /// (trivially copied).
  struct StagedDouble {
    NodeId node;
    std::uint32_t changed_at;
    double value;
  };
  /// The staged part of the journal: lean_staged[0, lean_staged_count) are journal entries
  /// as journal.values holds them (LeanRun::journal); the vector's size is room, at least
  /// kLeanStagedEntries. Empty but between a lean commit's loops and finalize_commit(),
  /// which reads it; every other way out of a commit moves it into journal.values first
  /// (unstage_journal()), so nothing else that reads the journal needs to know of it.
  std::vector<StagedDouble> lean_staged;
  std::size_t lean_staged_count = 0;
  static constexpr std::size_t kLeanStagedEntries = 1024;
  /// Moves the staged entries into journal.values.
  void unstage_journal();

  // ---- Layers computed on several lanes (GraphOptions::lanes) ----
  // A layer of the unplanned lean commit of at least GraphOptions::lanes_min_layer nodes is
  // computed in two passes over the lanes of GraphOptions::lanes (DECISIONS.md "Layers
  // computed on several cores"). Pass 1: lane t computes its share of the layer, the t-th
  // of `lanes` equal ranges of the layer's list, and sorts the dependents of the fields
  // that changed by the lane that owns them (lean_lane_of). Pass 2: lane u schedules the
  // dependents it owns, from every lane's share in lane order, into its own lists. Each
  // node's flags are then written by one lane in a pass, with no atomic; every list is
  // filled in an order that depends on the graph and the lanes' count alone, so the
  // journal and last_changed() are the same from run to run. Lane u >= 1 computes the
  // nodes it scheduled in the next pass 1 (its share is its list, when the lists are
  // about even), so each lane writes the records and values of the nodes it owns.
  // (A cache line or more of its own: lanes write their counts and lists' ends at once.)
  struct alignas(64) LeanLane {
    std::vector<StagedDouble> staged;    ///< pass 1: the old values of fields that changed ...
    std::vector<JournalEntry> journal;   ///< ... but those that were not doubles
    std::vector<Freshened> freshened;    ///< pass 1, with history: as note_fresh() records
    std::vector<NodeId> deferred;        ///< pass 1: fields whose computation threw
    /// pass 1: by owning lane, dependents to schedule (each list's end on its own line)
    struct alignas(64) Out {
      std::vector<NodeId> nodes;
    };
    std::vector<Out> out;
    std::vector<NodeId> next;            ///< pass 2: scheduled one height above
    std::vector<NodeId> far;             ///< pass 2: scheduled higher
    std::vector<NodeId> now;             ///< lanes 1..: the height being computed (was `next`)
    std::vector<double> inputs;          ///< kernels with more than 4 inputs
    std::uint64_t computed = 0;          ///< pass 1: fields computed
    bool failed = false;                 ///< pass 1 ran out of memory: the commit rethrows
  };
  /// Nodes are owned by lanes in blocks of 2^kLeanLaneBlockBits ids: 2 KiB of records and
  /// 1 KiB of values, whose lines one lane writes.
  static constexpr std::uint32_t kLeanLaneBlockBits = 6;
  static std::uint32_t lean_lane_of(NodeId n, std::uint32_t lanes) {
    return (n >> kLeanLaneBlockBits) % lanes;
  }
  /// scratch, one per lane (lanes[0] is the calling thread's)
  std::vector<LeanLane> lean_lanes;
  /// Pass 1's computation of x on lane `lane`: as lean_compute() with no failed field in
  /// the graph, with what it records kept in the lane. Whether x changed; a computation
  /// that throws leaves x as it was, in lane.deferred, for the calling thread to run again.
  bool lean_lane_compute(LeanLane& lane, NodeId x);
  /// Whether the last propagate_lean() followed a plan (CommitStats::planned).
  bool lean_planned = false;
  /// Commit's propagation for a transaction that only wrote variables, in a graph whose
  /// derived fields are all strict with declared inputs: computes exactly the fields an
  /// input of which changed, in height order, without marking first. Throws what a
  /// formula throws, leaving the state for rollback().
  void propagate_lean();
  /// propagate_lean() with (kLanes) or without lanes: the loop without them has no trace of
  /// them.
  template <bool kLanes>
  void propagate_lean_on();
  /// A variable of `written` that mark() or propagate_lean() handles: its old value, or
  /// null if it was written back to the value it had (then it is no change at all).
  const Value* settle_written(const Written& w);

  // ---- Scratch (empty between calls) ----
  struct Frame {
    NodeId node;
    std::uint32_t next_dep;
    bool need;
  };
  std::vector<Frame> frames;
  std::vector<NodeId> track;      ///< tracked reads of running formulas, stacked
  std::vector<NodeId> mark_stack;

  // ---- Node accessors ----
  std::uint32_t flags(NodeId n) const { return nodes[n].meta & kFlagMask; }
  bool has(NodeId n, std::uint32_t f) const { return (nodes[n].meta & f) != 0; }
  void set(NodeId n, std::uint32_t f) { nodes[n].meta |= f; }
  void clear(NodeId n, std::uint32_t f) { nodes[n].meta &= ~f; }
  std::uint32_t height(NodeId n) const { return nodes[n].meta >> kFlagBits; }
  void set_height(NodeId n, std::uint32_t h) {
    MG_ASSERT_MSG(h <= kHeightMax, "graph deeper than kHeightMax");
    structure_changed();
    nodes[n].meta = (h << kFlagBits) | (nodes[n].meta & kFlagMask);
  }
  const SpecEntry& spec_of(NodeId n) const { return specs[nodes[n].spec]; }
  bool is_variable(NodeId n) const { return nodes[n].spec <= kMirrorSpec; }
  /// A variable holding another partition's field (Graph::add_mirror).
  bool is_mirror(NodeId n) const { return nodes[n].spec == kMirrorSpec; }
  /// Whether this transaction changed `n` (its old value is in the journal): a change
  /// stamp from this transaction says so, without a flag to clear at commit.
  bool journaled(NodeId n) const { return txn_open && nodes[n].changed_at >= txn_first_stamp; }
  bool is_eager(NodeId n) const { return (nodes[n].meta & kLazy) == 0 || has(n, kObserved | kExported); }
  void set_spec(NodeId n, SpecId s) {
    lean_blockers -= spec_blocks_lean(nodes[n].spec) ? 1 : 0;
    lean_blockers += spec_blocks_lean(s) ? 1 : 0;
    structure_changed();
    nodes[n].spec = s;
    clear(n, kStructureFlags);
    set(n, structure_flags(s));
  }
  std::uint32_t structure_flags(SpecId s) const {
    return (specs[s].lazy ? std::uint32_t{kLazy} : 0u) |
           (specs[s].kind == SpecKind::incremental ? std::uint32_t{kIncremental} : 0u);
  }
  /// The value `n` had when the transaction began: O(1) unless this transaction changed it.
  const Value& start_value(NodeId n) const {
    return journaled(n) ? txn_start_value(n) : values[n];
  }
  std::span<const NodeId> deps_of(NodeId n) const { return edges.get(nodes[n].deps); }
  std::span<const NodeId> rdeps_of(NodeId n) const { return edges.get(nodes[n].rdeps); }
  std::string name_of(NodeId n) const;

  // ---- Structure ----
  NodeId new_node(SpecId s, Value initial, std::string name);
  void set_deps(NodeId n, std::span<const NodeId> new_deps);
  void raise_height(NodeId n, std::uint32_t h);
  Status check_cycle(NodeId node, std::span<const NodeId> inputs) const;

  // ---- Transactions (propagation.cpp, transaction.cpp) ----
  void open_txn();
  void journal_value(NodeId n);
  Status write(NodeId n, Value v);
  /// Marks what this transaction's writes, new fields and proposals make stale. Exported
  /// fields it marks go to exported_marked (reported by report_exported_stale()).
  void mark();
  /// The stamp for a new input change, bumped if formulas already ran at the current one.
  std::uint32_t input_stamp();
  void finalize_commit();
  /// Graph::preview_commit().
  std::optional<CommitPreview> preview_commit() const;
  /// Whether journal entry `e`, written again after a mark(), ends where the transaction
  /// started (then it is no change).
  bool changed_back(const JournalEntry& e) const;
  /// Makes `rec` the revision after the current one (undo takes it back first).
  void push_revision(RevisionRecord rec);
  void trim_scratch();
  void mark_node(NodeId n);
  /// Marks the dependents of `n`, whose value at the start of the transaction was
  /// `old_value` (null: its value now, or its journaled one).
  void mark_dependents(NodeId n, const Value* old_value = nullptr);
  /// Notes that the transaction touched `input` of incremental node `node`.
  void note_input(NodeId node, NodeId input, InputEvent event, const Value& old_value);
  /// note_input for a marked input whose start value is `old_value` (null: start_value()).
  /// Out of line: marking calls it rarely, and its loops stay small.
  [[gnu::noinline, gnu::cold]] void note_marked(NodeId node, NodeId input, const Value* old_value);
  /// The inputs an incremental node's computation must bring up to date first: all of
  /// them before its first computation, else those the transaction touched.
  std::span<const NodeId> incremental_pull(NodeId n);
  Value eval_incremental(NodeId n, Context& ctx, const SpecEntry& se);
  void clear_input_logs() {
    if (!input_logs.empty()) clear_input_logs_now();
  }
  void clear_input_logs_now();
  /// Position of `input` in the inputs of incremental node `node`, kNoNode if absent.
  std::uint32_t input_position(NodeId node, NodeId input);
  /// Takes input `input`, at `pos`, from incremental node `node`. O(1).
  void remove_input_at(NodeId node, NodeId input, std::uint32_t pos);
  /// Gives incremental node `node` the input `input`. REQUIRES: not an input yet.
  void add_input_edge(NodeId node, NodeId input);
  /// Whether `to` depends on `from`, through dependents of `from` lower than `to`;
  /// the path from `to` back to `from` in `path` if so.
  bool reaches(NodeId from, NodeId to, std::vector<NodeId>* path) const;
  /// Computes the queued stale nodes. Throws CycleError/RejectError.
  void compute_pending(std::vector<Resolution>* resolved);
  /// Brings `n` up to date. Returns false if it waits for a mirror.
  bool ensure(NodeId n);
  [[gnu::always_inline]] inline bool try_compute_in_order(NodeId n);
  void run_formula(NodeId n);
  /// Stores a computed value (journal, stamps, flags) and clears a failed or blocked
  /// condition; whether the value changed.
  [[gnu::always_inline]] inline bool finish_node(NodeId n, Value&& v);
  /// finish_node without the condition: stores a computed value; whether it changed.
  [[gnu::always_inline]] inline bool finish_value(NodeId n, Value&& v);
  // ---- Failed fields (propagation.cpp) ----
  /// Gives `n` condition `c`, journaling the old one; a change of condition is a change
  /// of the node (its change stamp moves), so that dependents recompute.
  void set_condition(NodeId n, FieldCondition c);
  /// The failed field an input of declared or incremental node `n` is failed or blocked
  /// by, or kNoNode. REQUIRES: !conditions.empty().
  [[gnu::cold]] NodeId failed_input(NodeId n);
  /// The failed field that `input` is or waits for, or kNoNode.
  NodeId failure_cause(NodeId input) const {
    const auto it = conditions.find(input);
    if (it == conditions.end()) return kNoNode;
    return it->second.state == FieldState::failed ? input : it->second.cause;
  }
  /// The reason of the failed field `cause`: its own, or, when it lives on another
  /// partition, the one a mirror blocked by it carries (the least such mirror's, so that
  /// the answer does not depend on the table's order); empty if none is known.
  std::string reason_of_cause(NodeId cause) const;
  /// The condition of `n` when the open transaction began.
  FieldCondition txn_start_condition(NodeId n) const;
  /// `n` ends this computation without a new value, with condition `c` (failed, blocked).
  [[gnu::cold]] void settle_failed(NodeId n, FieldCondition c);
  /// The running formula of `n` threw `e`: fails `n`, or rethrows for fail_transaction.
  [[gnu::cold]] void formula_threw(NodeId n, const std::exception& e);
  /// Swaps `e` with the live condition of its node (undo, redo).
  void swap_condition(ConditionEntry& e);
  Value eval_group_member(Context& ctx, const SpecEntry& se);
  Value eval_group_dispatcher(NodeId n, const SpecEntry& se);
  /// The index of the memo of `def`'s shape in group_memos, added if new.
  std::uint32_t group_shape(const CycleGroupDef& def);
  void unwind();
  void rollback();
  void force(NodeId n) {
    set(n, kForce);
    forced.push_back(n);
    forced_txn.push_back(n);
  }
  /// Undoes every computation of the open transaction but keeps its writes, so the
  /// transaction's state is again its start plus its writes (a write after a read).
  void reset_computations();
  /// Records a stale-to-fresh transition where rollback or undo needs it: nodes that
  /// were stale before the transaction (marked ones just turn fresh again on
  /// rollback), and every node when history is kept.
  /// (eval_incremental records incremental nodes that run in every case.)
  [[gnu::always_inline]] void note_fresh(NodeId n, std::uint32_t old_computed_at) {
    if (txn_open && has(n, kMarked) && options.history_limit == 0) return;  // hot path
    if (txn_open) {
      const bool was_stale = !has(n, kMarked);
      if (was_stale || options.history_limit > 0) {
        freshened.push_back(Freshened{n, old_computed_at, was_stale});
      }
    } else if (options.history_limit > 0) {
      pulls().freshened.push_back(Freshened{n, old_computed_at, true});
    }
  }
  Result<CommitStats> commit();
  /// Takes the live state from after `rec` to before it, and back.
  void unapply(RevisionRecord& rec);
  void apply(RevisionRecord& rec);
  std::uint32_t next_stamp();
  void renormalize_stamps();
  void clamp_history_stamps(std::uint32_t s);
  const Value& read(NodeId n, Status* error);
  /// The Status for an exception that escaped a computation (cycle, rejection, a
  /// formula's own exception). Call before unwinding: it names the running formula.
  Status failure_status(std::exception_ptr failure, NodeId reading) const;
  /// The value `n` had when this transaction began (its journaled value if it changed).
  const Value& txn_start_value(NodeId n) const;
  std::string cycle_path(NodeId again) const;
  /// The formula running when an exception escaped, for messages.
  std::string running_node_name() const {
    if (!frames.empty()) return name_of(frames.back().node);
    return current == kNoNode ? std::string("a formula") : name_of(current);
  }
};

}  // namespace mgraph

#pragma once
// The embedded reactive engine: a deterministic, single-threaded dependency graph.
//
// Nodes are variables (inputs written by the user) and derived fields (formulas over
// other nodes). Writes open a transaction; commit() propagates them glitch-free in
// height order, computing each stale strict node at most once, and returns a revision.
// Lazy fields compute when read. reject() drops the open transaction; undo()/redo()
// walk committed revisions; branch() gives a what-if copy that never reaches its parent.
//
// Thread-safety: none. A Graph is owned by one thread (an embedding program, or one
// partition actor); distinct Graphs, including branches, may live on distinct threads.
// With GraphOptions::lanes, commit() computes its large layers on the runner's lanes and
// returns when they are done: the caller sees one thread's results; the formulas run on
// several threads at once. Branches share their runner, so they must not commit at once.
//
// Invariants (checked by check_invariants()):
//   1. height(n) > height(d) for every dependency d of n; variables have height 0.
//   2. A stale node's dependents are all stale.
//   3. Outside a transaction no strict (eager) node is stale.
//   4. dependents(d) lists n exactly as often as dependencies(n) lists d.
//   5. Outside a transaction no cycle-group member is kept if possible
//      (keep_if_possible() lasts one transaction).
//   6. Only derived fields and mirrors have a condition other than ok (condition()); a
//      blocked field names as its cause a field other than itself, and outside a
//      transaction the cause of a fresh, eager blocked field is failed, or is a remote
//      field a mirror's condition names (the cause then lives on another partition).
//
// Failed fields (docs/SCHEMA.md): a formula that throws a std::exception does not roll
// the transaction back. Its field keeps its last good value and becomes failed, with the
// exception's message as reason; dependents that would read it keep their last good
// values and become blocked, naming the failed field (incremental fields compute on, over
// the failed input's last good value, and are blocked too). A change of condition counts
// as a change of the field: it is journaled with the value, so reject(), undo() and redo()
// restore it, and dependents recompute when their input recovers. Engine errors (cycles),
// reject() and FieldSpec::fail_transaction still roll the transaction back. Across
// partitions a Resolution carries the exported field's condition and its mirror takes it
// (resolve_mirror), so a field reading a failed remote field is blocked as it would be in
// one graph, naming the same cause (partitions share node ids) with the same reason.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph {

/// Dense index of a node in one Graph (and in its branches).
using NodeId = std::uint32_t;
inline constexpr NodeId kNoNode = UINT32_MAX;

/// Identifies a committed state. Revisions only grow; undo returns to an older one.
using Revision = std::uint64_t;

/// Index of a FieldSpec registered with Graph::add_spec.
using SpecId = std::uint32_t;

class Context;
class Graph;
struct GraphState;
struct GraphImage;

/// A derived field's computation. It reads its inputs through the Context and returns
/// the new value. It must be deterministic and must not touch the Graph directly.
using Formula = std::function<Value(Context&)>;

/// A formula over numbers as a plain function (FieldSpec::kernel): `inputs` are the
/// field's declared inputs in order, as doubles (int64 inputs converted), `node` the field
/// being computed, `data` the spec's kernel_data. Returns the field's new value, a double.
/// It must be deterministic; it may throw a std::exception, which fails the field as a
/// throwing formula does.
using ScalarKernel = double (*)(std::span<const double> inputs, NodeId node, const void* data);

/// What a kernel (FieldSpec::kernel) computes when it is one arithmetic operation over
/// what a kernel gets (its inputs, its node) and a constant: a commit then computes it in
/// line instead of calling the kernel (DECISIONS.md "Kernel forms"). Operands: inputs `a`
/// and `b` (Operands::inputs: in[a] op in[b]), input `a` and the constant `c`
/// (input_constant: in[a] op c), `c` and input `a` (constant_input: c op in[a]), input `a`
/// and the field's position after node `c` (input_position: in[a] op (node - c), for a run
/// of fields added one after another, each with its own offset). Op::copy is in[a].
struct KernelForm {
  enum class Op : std::uint8_t { none, copy, add, subtract, multiply, divide };
  enum class Operands : std::uint8_t { inputs, input_constant, constant_input, input_position };
  Op op = Op::none;
  Operands operands = Operands::inputs;
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  double c = 0;
  /// Its result for `inputs` (which must hold the inputs it reads) on field `node`, as the
  /// commit computes it.
  double apply(const double* inputs, NodeId node) const {
    double x = inputs[a];
    double y = 0;
    switch (operands) {
      case Operands::inputs: y = op == Op::copy ? 0.0 : inputs[b]; break;
      case Operands::input_constant: y = c; break;
      case Operands::constant_input: x = c; y = inputs[a]; break;
      case Operands::input_position: y = static_cast<double>(node) - c; break;
    }
    switch (op) {
      case Op::add: return x + y;
      case Op::subtract: return x - y;
      case Op::multiply: return x * y;
      case Op::divide: return x / y;
      case Op::copy:
      case Op::none: break;
    }
    return inputs[a];
  }
  /// The inputs it reads: one more than its highest input index.
  std::uint32_t inputs_read() const {
    return (operands == Operands::inputs && op != Op::copy ? std::max(a, b) : a) + 1;
  }
};

/// Custom equality for the cutoff: returning true means "unchanged", so dependents
/// are not recomputed. Empty means Value's operator==.
using Equality = std::function<bool(const Value&, const Value&)>;

/// When a derived field computes.
enum class Evaluation : std::uint8_t {
  strict,  ///< during commit(), whenever an input changed
  lazy,    ///< when read; observed or exported lazy fields behave as strict
};

/// How a derived field's dependencies are known.
enum class Dependencies : std::uint8_t {
  tracked,   ///< recorded on every computation from Context::read (they may change)
  declared,  ///< fixed when the field is defined; read with Context::input(k)
  /// Added and removed one at a time (Graph::add_input, remove_input). A computation
  /// receives the inputs that changed since the previous one, with their old and new
  /// values (Context::changes()), so it costs O(changes), not O(inputs): a running sum
  /// over many inputs. The formula computes its value from self() and the changes; the
  /// first computation sees every input as added. Always strict.
  incremental,
};

/// One input of an incremental field (Dependencies::incremental) that changed since the
/// field's previous computation: its value changed, or it was added or removed.
struct InputChange {
  NodeId input = kNoNode;
  bool was_input = false;  ///< an input at the previous computation (old_value is valid)
  bool is_input = false;   ///< an input now (new_value is valid)
  Value old_value;         ///< its value at the previous computation
  Value new_value;         ///< its value now
};

/// What a family of derived fields shares: formula, timing, equality. Many nodes can
/// share one spec, which keeps a node at a few dozen bytes.
struct FieldSpec {
  Formula formula;
  Evaluation evaluation = Evaluation::strict;
  Dependencies dependencies = Dependencies::declared;
  Equality equality;  ///< empty: Value::operator==
  std::string name;   ///< for messages; nodes have their own names too
  /// A formula that throws rolls the whole transaction back (StatusCode::formula_error)
  /// instead of failing only its field: for fields whose failure must stop every write.
  bool fail_transaction = false;
  /// The formula as a plain function over doubles, for fields with declared inputs
  /// (DECISIONS.md "Scalar kernels"). A commit runs it without a Context, a std::function
  /// call or a Value to build, and compares and stores the double in place. An input that
  /// is not a number fails the field. When set, add_spec() replaces `formula` by the same
  /// computation through a Context, which reads and other paths use.
  ScalarKernel kernel = nullptr;
  /// Passed to `kernel` as is; nothing copies or frees it, so it must outlive the spec.
  const void* kernel_data = nullptr;
  /// What `kernel` computes, when it is one of KernelForm's operations: a commit computes
  /// that in line and calls `kernel` only for a result that is not finite (so that a
  /// kernel that refuses such results throws its own error). It must compute what the
  /// kernel does: add_derived() tries both on a few inputs and refuses a spec where they
  /// differ, or whose form reads an input the field does not have.
  KernelForm kernel_form{};
};

/// Whether a derived field's value is the result of its formula (see the comment above
/// Graph, "Failed fields").
enum class FieldState : std::uint8_t {
  ok,
  failed,   ///< its formula threw: it keeps its last good value
  blocked,  ///< an input is failed or blocked: it keeps its last good value
};

/// "ok", "failed", "blocked": as `get` and `explain` print a state.
const char* field_state_name(FieldState state);

/// A field's state beside its value (Graph::condition).
struct FieldCondition {
  FieldState state = FieldState::ok;
  /// failed: the field itself; blocked: the failed field it waits for (never itself).
  NodeId cause = kNoNode;
  /// failed: the formula's error message. Graph::condition() gives a blocked field the
  /// reason of its cause; the engine keeps it empty there.
  std::string reason;
  friend bool operator==(const FieldCondition&, const FieldCondition&) = default;
};

/// Runs the lanes of a parallel step of a commit (GraphOptions::lanes): the engine itself
/// starts no thread, and a runner decides where each lane runs. ThreadLanes
/// (mgraph/graph/thread_lanes.hpp) runs them on threads of its own; a test may run them one
/// after another, in any order, since no lane waits for another within one call.
class LaneRunner {
 public:
  using Task = void (*)(void* context, std::uint32_t lane);
  virtual ~LaneRunner() = default;
  /// How many lanes a call of run() has: at least 1.
  virtual std::uint32_t lanes() const = 0;
  /// Calls task(context, lane) once for every lane in [0, lanes()) and returns when every
  /// call has returned. A task does not throw. One call at a time: the graphs sharing a
  /// runner (branches share their options) must not commit at once.
  virtual void run(Task task, void* context) = 0;
};

struct GraphOptions {
  /// Committed revisions kept for undo(). 0 disables undo (reject() still works).
  std::size_t history_limit = 0;
  /// Planned lean commits (DECISIONS.md "Planned commits"): a set of changed variables
  /// gets a plan, its reach worked out once, when it has been committed this many times
  /// (0: never plan) ...
  std::uint32_t plan_after = 2;
  /// ... and its writes can reach at least this many fields (fewer: the unplanned lean
  /// commit is as fast). The same results either way; tests lower both to plan everything.
  std::uint32_t plan_min_fields = 64;
  /// Computes the large layers of a lean commit on several lanes at once (DECISIONS.md
  /// "Layers computed on several cores"); null or one lane: on the calling thread alone.
  /// The same values, changes and conditions either way, and for a given number of lanes
  /// the same order of last_changed(); formulas, kernels and equalities then run on several
  /// threads at once, so they must only read their inputs (Context::input, read, self).
  /// A set of changed variables whose commits use the lanes gets no plan (plan_after).
  std::shared_ptr<LaneRunner> lanes = nullptr;
  /// ... for layers of at least this many fields (fewer: handing them out costs more than
  /// it saves); tests lower it to 1 so that every layer goes to the lanes.
  std::uint32_t lanes_min_layer = 512;
};

/// A resolved exported field, as reported by Graph::compute() to a partition.
struct Resolution {
  NodeId node = kNoNode;
  bool changed = false;  ///< its value or its condition changed in this transaction
  Value value;
  /// Its condition as Graph::condition() gives it (a blocked one with its cause's reason).
  FieldCondition condition;
};

/// Counts describing one commit.
struct CommitStats {
  Revision revision = 0;
  std::size_t computed = 0;  ///< formulas run
  std::size_t changed = 0;   ///< nodes whose value changed (variables included)
  /// Propagated by the lean path: the graph's derived fields are all strict with declared
  /// inputs, none exported, no mirror, and the transaction only wrote variables
  /// (DECISIONS.md "Lean commit"). The same results either way.
  bool lean = false;
  /// The lean commit followed a plan (GraphOptions::plan_after).
  bool planned = false;
};

/// What Graph::commit() would make of the open transaction, told before it commits
/// (Graph::preview_commit).
struct CommitPreview {
  Revision revision = 0;          ///< the revision after the commit (as now when nothing changes)
  std::vector<NodeId> changed;    ///< what last_changed() would list, in its order
};

/// Handle for Graph::unobserve.
using ObserverId = std::uint64_t;
using Observer = std::function<void(NodeId, const Value&)>;

/// Definition of a cycle resolution group (seed 003's start/end/duration): member
/// fields that compute one another through a set of formulas, of which each
/// transaction activates an acyclic subset chosen from what was proposed.
struct GroupFormula {
  std::size_t output = 0;            ///< index into CycleGroupDef::members
  std::vector<std::size_t> inputs;   ///< indices into CycleGroupDef::members
  std::function<Value(std::span<const Value>)> compute;  ///< inputs in the order above
  std::string name;
};

struct CycleGroupDef {
  std::string name;
  std::vector<std::string> members;        ///< one derived field is created per member
  std::vector<Value> initial;              ///< initial value per member (null if short)
  std::vector<GroupFormula> formulas;      ///< declaration order: the resolver's walk order
  std::vector<std::size_t> default_formulas;  ///< indices into formulas
};

/// A created cycle group: its member fields, in CycleGroupDef order.
struct CycleGroup {
  std::uint32_t id = 0;
  std::vector<NodeId> members;
  NodeId dispatcher = kNoNode;  ///< hidden node holding the active resolution
};

/// The interface a formula sees while it runs.
class Context {
 public:
  /// The k-th declared input. REQUIRES: the field has declared dependencies, k < input_count().
  const Value& input(std::size_t k) {
    if (k >= input_count_) input_out_of_range(k);
    return values_[inputs_[k]];
  }
  std::size_t input_count() const { return input_count_; }
  /// The current value of `node`, brought up to date. With tracked dependencies the
  /// read is recorded as a dependency; with declared ones `node` must be declared.
  const Value& read(NodeId node);
  /// This field's previous committed value (null before its first computation).
  /// Reading it is not a dependency: it is how accumulators and running totals work.
  const Value& self() const;
  /// The same as self(): ChronoGraph's PreviousValue.
  const Value& previous() const { return self(); }
  /// Whether a value was proposed for this field in the current transaction.
  bool has_proposed() const;
  /// The proposed value (ProposedValue), or null when none was proposed.
  const Value& proposed() const;
  /// The proposed value if any, else the previous value (ProposedOrPrevious).
  const Value& proposed_or_previous() const;
  /// Rolls back the whole transaction; commit() returns StatusCode::rejected with `reason`.
  [[noreturn]] void reject(std::string reason);
  /// The field being computed.
  NodeId node() const { return node_; }
  /// Current value of a node without recording a dependency and without computing it.
  const Value& peek(NodeId node) const;
  /// Incremental fields: the inputs that changed since the previous computation, each
  /// once, in the order they were first touched in the transaction. Empty for others.
  std::span<const InputChange> changes() const;

 private:
  friend struct GraphState;
  // Declared inputs are up to date before the formula runs and nothing the formula
  // can do moves node or edge storage, so the views stay valid while it runs.
  Context(GraphState& g, NodeId node, const Value* values, const NodeId* inputs,
          std::uint32_t input_count)
      : g_(g), values_(values), inputs_(inputs), input_count_(input_count), node_(node) {}
  [[noreturn]] void input_out_of_range(std::size_t k) const;
  GraphState& g_;
  const Value* values_;
  const NodeId* inputs_;
  std::uint32_t input_count_;
  NodeId node_;
};

class Graph {
 public:
  explicit Graph(GraphOptions options = {});
  ~Graph();
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // ---- Structure (not versioned: undo and reject restore values, not shape) ----

  /// Adds an input with an initial value (visible immediately, no commit needed).
  NodeId add_variable(Value initial, std::string name = {});
  /// Adds a mirror: a variable that holds another partition's field (see mark_mirror).
  NodeId add_mirror(Value initial, std::string name = {});
  /// Registers a spec that derived fields can share.
  SpecId add_spec(FieldSpec spec);
  /// Adds a derived field; `inputs` are its declared dependencies (ignored for tracked
  /// specs). It is computed by the next commit (or read, if lazy).
  Result<NodeId> add_derived(SpecId spec, std::span<const NodeId> inputs, std::string name = {});
  Result<NodeId> add_derived(SpecId spec, std::initializer_list<NodeId> inputs,
                             std::string name = {}) {
    return add_derived(spec, std::span<const NodeId>(inputs.begin(), inputs.size()),
                       std::move(name));
  }
  /// Convenience: a strict field with tracked dependencies and its own spec.
  NodeId add_formula(Formula formula, std::string name = {});
  /// Replaces a field's formula and declared inputs (a variable becomes derived).
  /// Fails with StatusCode::cycle, naming the whole path, if an input depends on `node`.
  /// Clears undo/redo history, since old revisions had another shape.
  Status define(NodeId node, SpecId spec, std::span<const NodeId> inputs);
  /// Adds `input` to the inputs of an incremental field in the open transaction (opening
  /// one): its next computation sees it as added. Fails with StatusCode::cycle, naming
  /// the path, if `input` depends on `node`; then nothing changes. O(1) beside that check,
  /// which walks only the dependents of `node` lower than `input`.
  /// REQUIRES: `input` is not an input of `node` yet.
  Status add_input(NodeId node, NodeId input);
  /// What add_input() would answer, changing nothing.
  Status check_input(NodeId node, NodeId input) const;
  /// Removes an input of an incremental field in the open transaction (opening one): its
  /// next computation sees it as removed, with the value it had when the transaction
  /// began. O(1) (amortized: a long input list keeps an index of positions).
  Status remove_input(NodeId node, NodeId input);
  /// Adds (`present`) or removes an input of an incremental field outside a transaction,
  /// as a change of structure that no computation sees: for an owner that journals the
  /// inputs itself and puts them back after reject(), undo() or redo() restored the
  /// values. REQUIRES: no open transaction; when adding, `input` is not an input yet.
  Status restore_input(NodeId node, NodeId input, bool present);
  /// Creates a cycle resolution group; see CycleGroupDef.
  Result<CycleGroup> add_cycle_group(CycleGroupDef def);
  /// Keep flag of a group member for every transaction from now on: prefer keeping its
  /// value over computing it, as far as the other input allows (cycle_resolution.hpp).
  Status set_keep(const CycleGroup& group, std::size_t member, bool keep);
  /// Marks a field exported (read by other partitions): it is computed eagerly and
  /// reported by mark()/compute(). REQUIRES: node < node_count().
  void set_exported(NodeId node, bool exported);

  void set_name(NodeId node, std::string name);
  /// The node's name, or "#<id>" if it has none.
  std::string name(NodeId node) const;
  std::size_t node_count() const;
  bool is_variable(NodeId node) const;
  /// Whether the node is a mirror (add_mirror): a variable holding another partition's
  /// field, written only by resolve_mirror(). REQUIRES: node < node_count().
  bool is_mirror(NodeId node) const;
  bool is_lazy(NodeId node) const;
  std::uint32_t height(NodeId node) const;
  std::span<const NodeId> dependencies(NodeId node) const;
  std::span<const NodeId> dependents(NodeId node) const;
  /// Reserves room for `nodes` nodes and `edges` dependency edges.
  void reserve(std::size_t nodes, std::size_t edges);
  /// Rewrites edge storage without slack and gives spare capacity back, after bulk
  /// building. O(nodes + edges). REQUIRES: no open transaction.
  Status compact();

  // ---- Writes and reads ----

  /// Sets a variable inside the open transaction (opening one if needed).
  Status write(NodeId node, Value value);
  /// Proposes a value for a field. A variable takes it as a write; a derived field's
  /// formula decides (proposed_or_previous(), proposed(), reject()).
  Status propose(NodeId node, Value value);
  /// Asks the open transaction (opening one) to keep a cycle-group member's value if the
  /// other input allows it (ChronoGraph's keepIfPossible): its group's resolution weighs
  /// computing it against computing another member (cycle_resolution.hpp). Lasts until
  /// commit() or reject(). Fails with invalid_argument for a node that is not a member.
  Status keep_if_possible(NodeId member);
  /// The node's value, computing it (and whatever it needs) if it is stale. Inside an
  /// open transaction this is the transaction's value. REQUIRES: node < node_count()
  /// (try_read() reports a bad id instead).
  const Value& read(NodeId node) {
    // The common case in line: a current node and no write waiting (see ReadWindow).
    if (node < window_.count) [[likely]] {
      std::uint32_t meta;  // the record's first word, read as bytes (records are not named here)
      std::memcpy(&meta, window_.records + std::size_t{node} * kRecordBytes, sizeof meta);
      if ((meta & 1u) == 0) [[likely]] return window_.values[node];
    }
    return read_slow(node);
  }
  /// The value as of the last commit, without computing anything (stale lazy fields
  /// give their last computed value). Valid while a transaction is open.
  Value committed(NodeId node) const;
  /// A hint that `node` is about to be written or read: its record and value are fetched
  /// toward the cache, so that in a graph larger than the cache the misses of several
  /// nodes overlap instead of following one another. Changes nothing; an id out of range
  /// is ignored.
  void prefetch(NodeId node) const;
  bool is_stale(NodeId node) const;
  /// Whether the formula of incremental field `node` ran in the open transaction (with
  /// none open: in the last one) and that computation stands; a write after a read in a
  /// transaction takes computations back. For formulas that keep state beside their
  /// value. REQUIRES: `node` is an incremental field (Dependencies::incremental).
  bool ran_in_transaction(NodeId node) const;
  /// As read(), but reports a cycle, rejection or failing fail_transaction formula met on
  /// the way (read() then returns the node's last value). A failed field is no error
  /// here: it reads its last good value (condition() tells).
  Result<Value> try_read(NodeId node);
  /// Whether the node's value is its formula's result, or why not (failed, blocked by a
  /// failed input). Variables are always ok. A stale lazy field tells the condition of its
  /// last computation. REQUIRES: node < node_count().
  FieldCondition condition(NodeId node) const;
  /// Fields now failed or blocked (0 in the common case).
  std::size_t failed_count() const;
  /// Formulas that failed (threw) in this graph since it was made, whether their
  /// transaction was committed or not: a counter for metrics.
  std::uint64_t formula_failures() const;
  /// Formulas run in this graph since it was made (a failed one included), in commits,
  /// reads and stepwise compute() alike, whether their transaction was committed or not:
  /// a counter for metrics.
  std::uint64_t formulas_computed() const;
  /// The value the node had at `revision`, one of the revisions undo() and redo() can
  /// reach (or the current one), computing nothing: read from the journals those keep.
  /// Fails with failed_precondition inside a transaction, with not_found for a revision
  /// not kept (or never made), and with invalid_argument for a lazy node at a past
  /// revision (a lazy value was perhaps never computed there). O(journal entries walked).
  Result<Value> value_at(NodeId node, Revision revision) const;

  // ---- Transactions ----

  /// Propagates the open transaction and makes it the new revision. On a cycle, a
  /// rejection or a failing FieldSpec::fail_transaction formula, everything is rolled
  /// back and the error returned; other failing formulas fail their fields only.
  /// Without changes the revision stays as it is.
  Result<CommitStats> commit();
  /// Drops the open transaction (ChronoGraph's reject()).
  void reject();
  /// Opens a transaction if none is open, as a write would: for a partition that applies
  /// an op whose change is made by another partition (a proposal to a mirrored field).
  void begin();
  /// Returns to the revision before the last committed one. REQUIRES no open transaction.
  /// Makes a revision in which nothing changed here: what a partition does when another
  /// partition's commit changed something, so that every partition's revisions stay in
  /// step and undo and redo walk them together. REQUIRES: no open transaction.
  Status add_revision();
  Status undo();
  /// Re-applies the last undone revision.
  Status redo();
  bool can_undo() const;
  bool can_redo() const;
  bool in_transaction() const;
  Revision revision() const;
  /// A what-if copy: writes and commits on either side never reach the other.
  /// Copy-on-write at graph granularity: O(1) now, the first change on either side
  /// copies the state. Observers stay with this graph.
  Graph branch() const;

  // ---- Stepwise transaction, for a partition actor (EPOCHS.md) ----

  /// Marks stale everything downstream of this transaction's writes and proposals.
  /// Appends the exported fields that became stale to `exported_stale` if given. After a
  /// compute() that finished (nothing waits for a mirror), it starts another round of
  /// marking and computing in the same transaction, for writes made since.
  Status mark(std::vector<NodeId>* exported_stale = nullptr);
  /// A remote field became stale: marks its mirror and what depends on it.
  Status mark_mirror(NodeId mirror, std::vector<NodeId>* exported_stale = nullptr);
  /// Computes every stale field whose stale inputs are resolved, in height order,
  /// stopping where a stale mirror is unresolved. Appends resolved exported fields.
  Status compute(std::vector<Resolution>* resolved = nullptr);
  /// The remote field resolved: `changed` with its value and condition, or unchanged since
  /// the transaction began (then the mirror takes back its value and condition from then,
  /// which an earlier round of the transaction may have changed). A remote failed field
  /// makes the mirror failed with its reason, a remote blocked one makes it blocked by the
  /// same cause with the cause's reason: what reads the mirror is blocked, as in one graph.
  Status resolve_mirror(NodeId mirror, bool changed, Value value, FieldCondition condition = {});
  /// Fields still waiting for a mirror (0 when compute() has finished everything).
  std::size_t pending_count() const;
  /// What commit() would make of the transaction now, changing nothing: once compute() has
  /// finished everything (no field waits), commit() computes nothing more, so its changes
  /// and revision are decided. Marked mirrors not resolved yet (which commit() needs
  /// resolved first) are left out: nothing here reads them, and what their own values do
  /// is not listed. nullopt while something is left to compute. What a partition tells the
  /// driver so that a client can be answered before every partition has committed
  /// (docs/EPOCHS.md, "Answered when decided").
  std::optional<CommitPreview> preview_commit() const;
  /// Those fields.
  std::span<const NodeId> pending() const;
  /// Same as reject(): drops the open transaction.
  void abort() { reject(); }

  // ---- Observers (the embedded form of effects and subscriptions) ----

  /// Calls `observer(node, value)` after each commit in which the node's value
  /// changed. Observing a lazy field makes it compute at commit.
  /// REQUIRES: node < node_count().
  ObserverId observe(NodeId node, Observer observer);
  void unobserve(ObserverId id);

  // ---- Checkpoints (image.hpp) ----

  /// Fingerprint of the structure: the node count and every node's spec id. Two graphs
  /// built by the same sequence of definitions have the same shape.
  std::uint64_t shape() const;
  /// The state as plain data: values, stale flags, heights, stamps, dependency lists,
  /// keep flags and undo/redo history. Fails (failed_precondition) inside a
  /// transaction, and while fields added since the last commit wait for their first
  /// computation. O(nodes + edges + history).
  Result<GraphImage> export_image() const;
  /// Puts back the state that export_image() took from a graph with the same shape
  /// (rebuilt by the same definitions). Observers and exported flags stay as they are
  /// here. Fails (invalid_argument, failed_precondition), changing nothing, when the
  /// shape differs, the image is inconsistent or a transaction is open.
  Status import_image(GraphImage image);

  // ---- Introspection ----

  /// Nodes whose value changed in the last commit, in the order they changed.
  std::span<const NodeId> last_changed() const;
  /// Heap bytes held by the graph's node and edge storage.
  std::size_t memory_bytes() const;
  /// Checks invariants 1-6; a description of the first violation otherwise.
  Status check_invariants() const;
  /// Test hook: moves the internal change stamp close to its wrap-around point.
  /// REQUIRES: no open transaction and no stale node that was computed before.
  void set_stamp_for_testing(std::uint32_t stamp);

 private:
  explicit Graph(std::shared_ptr<GraphState> state);
  GraphState& mut();               // detaches a shared state first
  Status step_history(bool forward);
  const GraphState& state() const { return *state_; }
  void run_observers();
  const Value& read_slow(NodeId node);

  /// What read() needs on its common path, so that reading a current value is a few
  /// instructions in the caller's loop and not a call (around which the caller's
  /// registers would be spilled). `count` nodes of the state may be read through it;
  /// count is 0 (nothing) unless the state had no write or forced node waiting when the
  /// window was taken. mut() closes the window (count 0), since whatever it is called for
  /// may move the columns or start a transaction; read_slow() opens it again from a
  /// quiet state. A node's record is kRecordBytes bytes with its meta word first, whose
  /// bit 0 is "stale" (read_slow() checks both against the records).
  struct ReadWindow {
    const Value* values = nullptr;
    const std::byte* records = nullptr;
    std::size_t count = 0;
    ReadWindow() = default;
    ReadWindow(const Value* v, const std::byte* r, std::size_t n)
        : values(v), records(r), count(n) {}
    // A moved-from graph reads nothing through its window.
    ReadWindow(ReadWindow&& o) noexcept : values(o.values), records(o.records), count(o.count) {
      o.count = 0;
    }
    ReadWindow& operator=(ReadWindow&& o) noexcept {
      values = o.values;
      records = o.records;
      count = o.count;
      o.count = 0;
      return *this;
    }
  };
  static constexpr std::size_t kRecordBytes = 32;

  std::shared_ptr<GraphState> state_;
  ReadWindow window_;
  // Observers by node: a commit that changes k observed nodes costs O(k), whatever
  // the number of observers elsewhere. A node's list is found through a column indexed by
  // node (1 + its index in observer_lists_; 0: none; as long as the highest node observed),
  // which a commit changing many observed nodes reads in order of change: one load each,
  // where a hash map cost a bucket and a chain (two misses) on a large graph.
  using ObserverList = std::vector<std::pair<ObserverId, std::shared_ptr<const Observer>>>;
  std::vector<std::uint32_t> observer_list_of_;
  std::vector<ObserverList> observer_lists_;
  std::vector<std::uint32_t> free_observer_lists_;  ///< empty lists of observer_lists_
  /// The observers of `node` (null: none).
  ObserverList* observers_of(NodeId node) {
    if (node >= observer_list_of_.size() || observer_list_of_[node] == 0) return nullptr;
    return &observer_lists_[observer_list_of_[node] - 1];
  }
  std::unordered_map<ObserverId, NodeId> observer_nodes_;
  std::vector<ObserverId> observer_scratch_;
  ObserverId next_observer_id_ = 1;
};

}  // namespace mgraph

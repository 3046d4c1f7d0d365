#pragma once
// Planned lean commits (DECISIONS.md "Planned commits"): for a set of written variables
// seen again and again, the fields their writes can reach, in height order, worked out
// once. A commit with a plan walks that list and computes each field one of whose inputs
// changed, where the unplanned lean commit finds the same fields by scheduling each
// changed field's dependents into per-height lists as it goes.
//
// What a plan saves: per computed field, the scheduling of its dependents (a flag test
// and store, a height test, a push) and the walk over heights and lists, ~70 of the ~200
// instructions a field cost on a chain. What it costs: building it (a walk over its reach
// and a sort, a few commits' worth), a byte test per field it lists and does not compute
// (the cutoff stopped the change before it), and its memory. So a key gets a plan only
// once unplanned commits of it have computed at least `GraphOptions::plan_min_fields`
// fields `plan_after` times (more for a larger reach: kPlanFieldsPerSighting); a plan is followed only while its commits compute at least
// one field in kPlanUsefulShare of it (unplanned commits of the key keep measuring that);
// and a plan makes room for another only once it has paid for its building or has not
// been used for long, so that more keys than the budget holds do not rebuild plans
// endlessly.
//
// Invariants:
//   1. A plan lists every derived field reachable from its sources through dependents,
//      each once, in non-decreasing height order; so each field's inputs in the plan come
//      before it (heights rise along every edge).
//   2. A plan is valid for the structure it was built on: any change of nodes, edges,
//      heights or specs bumps GraphState::structure_version, and the cache drops every
//      plan and sighting when it sees a new version.
//   3. Memory is bounded: at most kPlanStepsBudget steps in kPlansMax plans (or keys noted
//      as too large for one), and kPlanSightingsMax keys counted.

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "mgraph/graph/graph.hpp"

namespace mgraph {

struct GraphState;

struct LeanPlan {
  /// A field to compute if an input of it in the plan changed: `count` such inputs, whose
  /// slots are `slot` itself when count is 1 (the common case: no indirection), else
  /// LeanPlan::slots[slot, slot + count). Slot k < sources.size() is sources[k]; slot
  /// sources.size() + i is steps[i].
  struct Step {
    NodeId node;
    std::uint32_t slot;
    std::uint32_t count;
  };
  /// The operation of a kernel form (KernelForm) in one code: a, b the inputs it reads,
  /// c its constant.
  enum class FormCode : std::uint8_t {
    copy,
    add,
    subtract,
    multiply,
    divide,
    add_c,
    subtract_c,
    multiply_c,
    divide_c,
    c_subtract,
    c_divide,
  };
  /// A step of a plan whose every field is a kernel with a form (FieldSpec::kernel_form)
  /// and at most two inputs in the plan: its slots (slot_a twice for one), the inputs its
  /// form reads (in_a twice for one), its form. What the commit needs, in one place. A
  /// form with the field's position (in[a] op (node - c)) is the same op with the constant
  /// node - c, worked out once here: the same double, so the same result.
  struct FormStep {
    NodeId node;
    std::uint32_t slot_a;
    std::uint32_t slot_b;
    NodeId in_a;
    NodeId in_b;
    FormCode code;
    double c;
  };
  std::vector<NodeId> sources;  ///< the changed variables, sorted: the plan's key
  std::uint64_t key = 0;        ///< the key's hash
  std::vector<Step> steps;      ///< in height order (invariant 1)
  std::vector<std::uint32_t> slots;
  /// steps' fields as FormSteps, when each qualifies (else empty): followed in line.
  std::vector<FormStep> form_steps;
  /// False for a key noted as too large for a plan: kept so that it is not walked again.
  bool usable = false;
  /// Whether its last commit computed enough of it for the plan to pay (kPlanUsefulShare).
  bool useful = true;
  std::uint32_t uses = 0;       ///< commits that followed it
  std::uint64_t last_used = 0;  ///< LeanPlans' tick when it was last found

  std::size_t bytes() const {
    return sources.capacity() * sizeof(NodeId) + steps.capacity() * sizeof(Step) +
           slots.capacity() * sizeof(std::uint32_t) + form_steps.capacity() * sizeof(FormStep);
  }
  /// What it takes of kPlanStepsBudget: a step, and kFormStepWeight more with a FormStep.
  std::size_t weight() const;
};

/// A plan pays while its commits compute at least one field in this many of those it lists
/// (a listed field left alone costs ~8 instructions, a scheduled one ~70 more than a
/// planned one: about one in 9 breaks even).
inline constexpr std::size_t kPlanUsefulShare = 8;
/// Steps over all plans kept (~12 B each with their slots, a FormStep as
/// kFormStepWeight more): 3 MiB. A larger reach gets no
/// plan: on such graphs a write's cutoff usually stops it far earlier.
inline constexpr std::size_t kPlanStepsBudget = std::size_t{1} << 18;
/// A FormStep's weight in steps (its bytes over a step's, rounded up).
inline constexpr std::size_t kFormStepWeight =
    (sizeof(LeanPlan::FormStep) + sizeof(LeanPlan::Step) - 1) / sizeof(LeanPlan::Step);
inline std::size_t LeanPlan::weight() const {
  return steps.size() + form_steps.size() * kFormStepWeight;
}
/// Plans and keys noted as too large for one, kept at most (each ~100 B beside its steps).
inline constexpr std::size_t kPlansMax = 1024;
/// Keys seen fewer than plan_after times, counted at most: a workload of ever new keys
/// forgets them all when this is reached.
inline constexpr std::size_t kPlanSightingsMax = 4096;
/// A key is seen plan_after times, and once more per this many fields its commit computed,
/// before its plan is built.
inline constexpr std::size_t kPlanFieldsPerSighting = 4096;
/// A plan makes room for another once followed this many times (building one costs a few
/// commits; following it saves a fifth to a third of one), or while it is not followed
/// (LeanPlan::useful) ...
inline constexpr std::uint32_t kPlanPaidUses = 16;
/// ... or once no commit looked for it in this many lookups (lean commits with a plan
/// lookup) since it was last found.
inline constexpr std::uint64_t kPlanIdleTicks = 4096;

class LeanPlans {
 public:
  /// The plan for `sources` (sorted, distinct: the variables a commit changed), null if
  /// the key has none (yet).
  LeanPlan* find(std::span<const NodeId> sources, const GraphState& g);
  /// Notes that an unplanned commit of `sources`, which has no plan, computed `computed`
  /// fields: a key seen plan_after times computing at least plan_min_fields gets its plan
  /// built, if there is room for it or room can be made (one computing fewer is not even
  /// counted).
  void note_unplanned(std::span<const NodeId> sources, std::size_t computed, GraphState& g);
  /// Notes that a commit of `plan`'s key computed `computed` fields (planned or not).
  static void note_computed(LeanPlan& plan, std::size_t computed) {
    plan.useful = computed * kPlanUsefulShare >= plan.steps.size();
  }
  std::size_t bytes() const;

 private:
  void clear();
  void check_version(const GraphState& g);
  /// Drops plans that have paid for themselves, are not followed or stayed idle until
  /// `steps` more fit in the budget and a plan more in kPlansMax; whether they do.
  bool make_room(std::size_t steps);
  static LeanPlan build(std::span<const NodeId> sources, GraphState& g);

  std::vector<LeanPlan> plans_;
  std::unordered_map<std::uint64_t, std::uint32_t> by_key_;  ///< key hash -> index in plans_
  std::unordered_map<std::uint64_t, std::uint32_t> sightings_;  ///< key hash -> times seen
  std::uint64_t version_ = 0;  ///< GraphState::structure_version the plans were built on
  std::size_t steps_ = 0;      ///< steps over all plans
  std::uint64_t tick_ = 0;     ///< lookups so far
};

}  // namespace mgraph

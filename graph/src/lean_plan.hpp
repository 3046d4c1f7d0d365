#pragma once
// Planned lean commits (DECISIONS.md "Planned commits"): for a set of written variables
// seen again and again, the fields their writes can reach, in height order, worked out
// once. A commit with a plan walks that list and computes each field one of whose inputs
// changed, where the unplanned lean commit finds the same fields by scheduling each
// changed field's dependents into per-height lists as it goes.
//
// What a plan saves: per computed field, the scheduling of its dependents (a flag test
// and store, a height test, a push) and the walk over heights and lists, ~70 of the ~200
// instructions a field cost on a chain. What it costs: a flag test per field it lists and
// does not compute (the cutoff stopped the change before it), and its memory. So a key
// gets a plan only once it has been seen `GraphOptions::plan_after` times, only if its
// reach has at least `plan_min_fields` fields and at most kPlanStepsMax, and a plan is
// used only while its commits compute at least one field in kPlanUsefulShare of it
// (unplanned commits of the same key keep measuring that).
//
// Invariants:
//   1. A plan lists every derived field reachable from its sources through dependents,
//      each once, in non-decreasing height order; so each field's inputs in the plan come
//      before it (heights rise along every edge).
//   2. A plan is valid for the structure it was built on: any change of nodes, edges,
//      heights or specs bumps GraphState::structure_version, and the cache drops every
//      plan and sighting when it sees a new version.
//   3. Memory is bounded: at most kPlanStepsBudget steps and kPlansMax plans (or keys
//      noted as not worth a plan) are kept; reaching either drops them all.

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
  std::vector<NodeId> sources;  ///< the changed variables, sorted: the plan's key
  std::vector<Step> steps;      ///< in height order (invariant 1)
  std::vector<std::uint32_t> slots;
  /// False for a key noted as not worth a plan (its reach too small or too large): kept so
  /// that it is not built again.
  bool usable = false;
  /// Whether its last commit computed enough of it for the plan to pay (kPlanUsefulShare).
  bool useful = true;

  std::size_t bytes() const {
    return sources.capacity() * sizeof(NodeId) + steps.capacity() * sizeof(Step) +
           slots.capacity() * sizeof(std::uint32_t);
  }
};

/// A plan pays while its commits compute at least one field in this many of those it lists
/// (a listed field left alone costs ~8 instructions, a scheduled one ~70 more than a
/// planned one: about one in 9 breaks even).
inline constexpr std::size_t kPlanUsefulShare = 8;
/// Steps over all plans kept (~12 B each with their slots): 3 MiB. A reach larger than this
/// gets no plan: on such graphs a write's cutoff usually stops it far earlier.
inline constexpr std::size_t kPlanStepsBudget = std::size_t{1} << 18;
/// Plans and keys noted as not worth one, kept at most (each ~100 B plus its steps).
inline constexpr std::size_t kPlansMax = 1024;
/// Keys seen fewer than plan_after times, counted at most: a workload of ever new keys
/// forgets them all when this is reached.
inline constexpr std::size_t kPlanSightingsMax = 4096;

class LeanPlans {
 public:
  /// The plan for `sources` (sorted, distinct: the variables a commit changed), null if
  /// the key has none (yet).
  LeanPlan* find(std::span<const NodeId> sources, const GraphState& g);
  /// Notes that an unplanned commit of `sources`, which has no plan, computed `computed`
  /// fields: a key seen plan_after times computing at least plan_min_fields gets its plan
  /// built (one computing fewer is not even counted).
  void note_unplanned(std::span<const NodeId> sources, std::size_t computed, const GraphState& g);
  /// Notes that a commit of `plan`'s key computed `computed` fields (planned or not).
  static void note_computed(LeanPlan& plan, std::size_t computed) {
    plan.useful = computed * kPlanUsefulShare >= plan.steps.size();
  }
  std::size_t bytes() const;
  std::size_t size() const { return plans_.size(); }

 private:
  void clear();
  void check_version(const GraphState& g);
  static LeanPlan build(std::span<const NodeId> sources, const GraphState& g);

  std::vector<LeanPlan> plans_;
  std::unordered_map<std::uint64_t, std::uint32_t> by_key_;  ///< key hash -> index in plans_
  std::unordered_map<std::uint64_t, std::uint32_t> sightings_;  ///< key hash -> times seen
  std::uint64_t version_ = 0;  ///< GraphState::structure_version the plans were built on
  std::size_t steps_ = 0;      ///< steps over all plans
};

}  // namespace mgraph

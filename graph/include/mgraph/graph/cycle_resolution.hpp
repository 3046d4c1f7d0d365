#pragma once
// Cycle resolution (seed 003): which formula of a cycle group computes each member
// in one transaction, given which members were proposed, are kept, or have a value.

#include <span>
#include <vector>

#include "mgraph/graph/graph.hpp"

namespace mgraph {

/// Members one group can have, and formulas: a resolution packs 4 bits per member.
inline constexpr std::size_t kGroupMembersMax = 16;
inline constexpr std::size_t kGroupFormulasMax = 15;

/// Returns, per member, the index of the formula that computes it, or -1 when the
/// member takes its proposed or previous value (ChronoGraph's CalculateProposed).
///
/// Proposed members are never computed. Formulas are then accepted in four passes,
/// each in declaration order, as long as every input is known (proposed, has a
/// value, or is computed by an accepted formula), the output is still free, and the
/// accepted set stays acyclic:
///   1. formulas all of whose inputs were proposed (the user gave them, derive the rest);
///   2. formulas whose output has no value at all;
///   3. the default formulas;
///   4. every other formula whose output is not kept, until nothing changes.
/// Example (S, E, D with E = S + D as default): nothing proposed -> E computed;
/// S and D proposed -> E; E proposed -> S = E - D (declared first), or D = E - S
/// when S is kept.
std::vector<int> resolve_cycle(const CycleGroupDef& def, std::span<const bool> proposed,
                               std::span<const bool> keep, std::span<const bool> has_value);

}  // namespace mgraph

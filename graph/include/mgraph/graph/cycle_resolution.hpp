#pragma once
// Cycle resolution: which formula of a cycle group computes each member in one
// transaction, given what the transaction says about each member. A port of the
// CycleResolver of ChronoGraph 2.0.3 (Bryntum, MIT), whose choices it reproduces; the
// resolver's own test cases run against this one (tests/graph/chronograph_cycles/).
//
// The search, for one input (a MemberInput per member):
//
//   {} --f1--> {f1} --f3--> {f1,f3}   (final: no formula can be added)
//    \--f2--> {f2}                    (final)
//
// Starting from no active formula, a formula may be activated when
//   - every input has a value: proposed, previous, or the output of an active formula;
//   - the active formulas plus it stay acyclic;
//   - it is significant: its output is not computed yet, and, when the output already
//     has a value, every input has a proposed or previous value (so a value is not
//     replaced by one derived from a member that has none).
// At each state the formulas are tried in preference order (below); every state where
// none can be added is a candidate. The candidate chosen is the first, in that walk,
// with the least uncovered input weight, then with the most default formulas.
//
// Preference order (a stable sort of the declaration order): formulas all of whose
// inputs are proposed first; then more inputs proposed or kept first; then default
// formulas first.
//
// Uncovered input weight, summed over the members proposed or kept (a member both
// proposed and kept counts as proposed):
//   - computed by an active default formula that reads a proposed member: 1e6 proposed,
//     1e4 kept (a default formula may overwrite input, but it costs);
//   - computed by any other active formula: 1e7 proposed, 1e5 kept;
//   - read by no active formula: 1e3 proposed, 1e2 kept (the input would go unused).
//
// Example (S, E, D; E = S + D default): nothing proposed, all have values -> E computed;
// S, E, D all proposed -> E computed (the inconsistent end is overwritten); E proposed,
// S kept -> D = E - S; E and D proposed, S kept -> S = E - D (overwriting a kept
// member costs less than overwriting a proposed one).
//
// ChronoGraph enumerates every order of activation; this walk visits each set of
// active formulas once (what follows a state depends only on its set, and a set met
// again yields only candidates met before), so it is at most 2^formulas states.

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "mgraph/graph/graph.hpp"

namespace mgraph {

/// Members one group can have, and formulas: a resolution packs 4 bits per member
/// (formula index + 1) into the dispatcher's int64, and a search state is a 16-bit set.
inline constexpr std::size_t kGroupMembersMax = 16;
inline constexpr std::size_t kGroupFormulasMax = 15;

/// What one transaction says about a member: ChronoGraph's VariableInputState bits.
enum MemberInput : std::uint8_t {
  kNoInput = 0,
  kHasPrevious = 1,     ///< the member has a value (not null) from before
  kHasProposed = 2,     ///< the transaction proposed a value
  kKeepIfPossible = 4,  ///< keep its value unless that contradicts other input
};

/// Per member, the index of the formula that computes it, or -1 when the member takes
/// its proposed or previous value (ChronoGraph's CalculateProposed).
using CycleResolution = std::vector<int>;

/// Resolves one input. REQUIRES: input.size() == def.members.size(); def as
/// Graph::add_cycle_group accepts it (sizes within the bounds above, indices valid).
CycleResolution resolve_cycle(const CycleGroupDef& def, std::span<const std::uint8_t> input);

/// The dispatcher's encoding of a resolution: 4 bits per member, formula index + 1.
std::int64_t pack_resolution(const CycleResolution& resolution);
/// The formula of `member` in a packed resolution, or -1.
int packed_formula(std::int64_t code, std::size_t member);

/// Resolutions of one group shape memoized by input, as ChronoGraph's CycleResolution
/// keeps them by input hash: groups of the same shape (every record of an entity)
/// share one memo. Single-threaded, as the graph is.
class CycleResolutionMemo {
 public:
  /// Inputs remembered at most; the memo starts over when it is full (each entry is a
  /// few dozen bytes; a group of n members has at most 8^n inputs, few of them common).
  static constexpr std::size_t kEntriesMax = 4096;

  /// The packed resolution of `input`, built at the first call for it.
  /// REQUIRES: every call passes a def of the same shape (members, formula outputs,
  /// inputs and defaults), as resolve_cycle() requires.
  std::int64_t resolve(const CycleGroupDef& def, std::span<const std::uint8_t> input);
  /// Resolutions built (not found in the memo) so far.
  std::size_t built() const { return built_; }

 private:
  std::unordered_map<std::uint64_t, std::int64_t> by_input_;
  std::size_t built_ = 0;
};

}  // namespace mgraph

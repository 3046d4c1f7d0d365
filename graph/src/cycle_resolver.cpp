// The cycle resolver: ChronoGraph 2.0.3's search over activations of formulas, with its
// preference order and scoring (see cycle_resolution.hpp for the rules).

#include <algorithm>
#include <array>
#include <bit>

#include "mgraph/graph/assert.hpp"
#include "mgraph/graph/cycle_resolution.hpp"

namespace mgraph {
namespace {

using FormulaSet = std::uint32_t;  // bit per formula
using MemberSet = std::uint32_t;   // bit per member

/// Scores of ChronoGraph's unCoveredInputWeight: overwriting input weighs most, an
/// input no formula reads least; proposed input ten times kept input.
constexpr std::int64_t kOverwrittenProposed = 10'000'000;
constexpr std::int64_t kOverwrittenKept = 100'000;
constexpr std::int64_t kOverwrittenByDefaultProposed = 1'000'000;
constexpr std::int64_t kOverwrittenByDefaultKept = 10'000;
constexpr std::int64_t kUnusedProposed = 1'000;
constexpr std::int64_t kUnusedKept = 100;

/// One point of the walk: the active formulas, which formula computes each member, and
/// the members each member depends on through them (for the acyclicity test).
struct WalkState {
  FormulaSet active = 0;
  MemberSet computed = 0;
  std::array<int, kGroupMembersMax> by{};
  std::array<MemberSet, kGroupMembersMax> upstream{};
};

class Walk {
 public:
  Walk(const CycleGroupDef& def, std::span<const std::uint8_t> input) : def_(def) {
    const std::size_t n = def.members.size();
    MG_ASSERT(n <= kGroupMembersMax && def.formulas.size() <= kGroupFormulasMax);
    MG_ASSERT(input.size() == n);
    for (std::size_t m = 0; m < n; ++m) {
      if (input[m] & kHasPrevious) previous_ |= bit(m);
      if (input[m] & kHasProposed) proposed_ |= bit(m);
      if (input[m] & kKeepIfPossible) kept_ |= bit(m);
    }
    for (std::size_t fi = 0; fi < def.formulas.size(); ++fi) {
      MemberSet ins = 0;
      for (std::size_t i : def.formulas[fi].inputs) ins |= bit(i);
      inputs_.push_back(ins);
      order_.push_back(fi);
    }
    for (std::size_t d : def.default_formulas) defaults_ |= bit(d);
    // ChronoGraph's preferFormula, as a stable sort of the declaration order.
    std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
      return preference(a) > preference(b);
    });
    visited_.assign(std::size_t{1} << def.formulas.size(), false);
  }

  CycleResolution run() {
    WalkState root;
    root.by.fill(-1);
    visit(root);
    MG_ASSERT(have_best_);  // the walk ends somewhere: at the latest, at the root
    return CycleResolution(best_.by.begin(), best_.by.begin() + def_.members.size());
  }

 private:
  static MemberSet bit(std::size_t i) { return MemberSet{1} << i; }

  /// (all inputs proposed, inputs proposed or kept, default): greater is preferred.
  std::array<int, 3> preference(std::size_t fi) const {
    const MemberSet ins = inputs_[fi];
    return {(ins & ~proposed_) == 0 ? 1 : 0, std::popcount(ins & (proposed_ | kept_)),
            is_default(fi) ? 1 : 0};
  }
  bool is_default(std::size_t fi) const { return (defaults_ & bit(fi)) != 0; }

  /// ChronoGraph's formulaIsInsignificant.
  bool insignificant(const WalkState& s, std::size_t fi) const {
    const std::size_t out = def_.formulas[fi].output;
    if (s.computed & bit(out)) return true;
    return (previous_ & bit(out)) && (inputs_[fi] & ~(previous_ | proposed_)) != 0;
  }

  /// ChronoGraph's formulaIsApplicable: every input has a value, and no cycle closes.
  /// A cycle through the new formula runs from its output to one of its inputs.
  bool applicable(const WalkState& s, std::size_t fi) const {
    const MemberSet ins = inputs_[fi];
    if ((ins & ~(proposed_ | previous_ | s.computed)) != 0) return false;
    return (reach(s, ins) & bit(def_.formulas[fi].output)) == 0;
  }

  /// `members` and every member they depend on through the active formulas.
  MemberSet reach(const WalkState& s, MemberSet members) const {
    MemberSet out = members;
    for (std::size_t m = 0; m < def_.members.size(); ++m) {
      if (members & bit(m)) out |= s.upstream[m];
    }
    return out;
  }

  WalkState with(const WalkState& s, std::size_t fi) const {
    WalkState next = s;
    const std::size_t out = def_.formulas[fi].output;
    const MemberSet up = reach(s, inputs_[fi]);
    next.active |= bit(fi);
    next.computed |= bit(out);
    next.by[out] = static_cast<int>(fi);
    next.upstream[out] = up;
    for (std::size_t m = 0; m < def_.members.size(); ++m) {
      if (next.upstream[m] & bit(out)) next.upstream[m] |= up;
    }
    return next;
  }

  void visit(const WalkState& s) {
    visited_[s.active] = true;
    bool final_state = true;
    for (std::size_t fi : order_) {
      if ((s.active & bit(fi)) || insignificant(s, fi) || !applicable(s, fi)) continue;
      final_state = false;
      // A set reached before has yielded its candidates already, earlier in the walk.
      if (!visited_[s.active | bit(fi)]) visit(with(s, fi));
    }
    if (final_state) consider(s);
  }

  /// ChronoGraph's unCoveredInputWeight.
  std::int64_t weight(const WalkState& s) const {
    MemberSet read = 0;
    for (std::size_t fi = 0; fi < inputs_.size(); ++fi) {
      if (s.active & bit(fi)) read |= inputs_[fi];
    }
    std::int64_t total = 0;
    for (std::size_t m = 0; m < def_.members.size(); ++m) {
      const bool is_proposed = (proposed_ & bit(m)) != 0;
      if (!is_proposed && !(kept_ & bit(m))) continue;
      if (s.by[m] >= 0) {
        const auto fi = static_cast<std::size_t>(s.by[m]);
        if (is_default(fi) && (inputs_[fi] & proposed_) != 0) {
          total += is_proposed ? kOverwrittenByDefaultProposed : kOverwrittenByDefaultKept;
        } else {
          total += is_proposed ? kOverwrittenProposed : kOverwrittenKept;
        }
      }
      if (!(read & bit(m))) total += is_proposed ? kUnusedProposed : kUnusedKept;
    }
    return total;
  }

  /// The first candidate with the least weight, then the most default formulas, wins
  /// (ChronoGraph sorts all candidates stably by these two keys and takes the first).
  void consider(const WalkState& s) {
    const std::int64_t w = weight(s);
    const int defaults = std::popcount(s.active & defaults_);
    if (have_best_ && (w > best_weight_ || (w == best_weight_ && defaults <= best_defaults_))) {
      return;
    }
    have_best_ = true;
    best_ = s;
    best_weight_ = w;
    best_defaults_ = defaults;
  }

  const CycleGroupDef& def_;
  MemberSet previous_ = 0, proposed_ = 0, kept_ = 0;
  FormulaSet defaults_ = 0;
  std::vector<MemberSet> inputs_;  ///< per formula
  std::vector<std::size_t> order_;  ///< formulas in preference order
  std::vector<bool> visited_;       ///< per set of active formulas
  bool have_best_ = false;
  WalkState best_;
  std::int64_t best_weight_ = 0;
  int best_defaults_ = 0;
};

/// 3 bits per member: the memo's key.
std::uint64_t input_key(std::span<const std::uint8_t> input) {
  std::uint64_t key = 0;
  for (std::size_t m = 0; m < input.size(); ++m) {
    key |= static_cast<std::uint64_t>(input[m] & 7u) << (3 * m);
  }
  return key;
}

}  // namespace

CycleResolution resolve_cycle(const CycleGroupDef& def, std::span<const std::uint8_t> input) {
  return Walk(def, input).run();
}

std::int64_t pack_resolution(const CycleResolution& resolution) {
  MG_ASSERT(resolution.size() <= kGroupMembersMax);
  std::uint64_t code = 0;
  for (std::size_t m = 0; m < resolution.size(); ++m) {
    MG_ASSERT(resolution[m] >= -1 && resolution[m] < static_cast<int>(kGroupFormulasMax));
    code |= static_cast<std::uint64_t>(resolution[m] + 1) << (4 * m);
  }
  return static_cast<std::int64_t>(code);
}

int packed_formula(std::int64_t code, std::size_t member) {
  MG_ASSERT(member < kGroupMembersMax);
  return static_cast<int>((static_cast<std::uint64_t>(code) >> (4 * member)) & 0xF) - 1;
}

std::int64_t CycleResolutionMemo::resolve(const CycleGroupDef& def,
                                          std::span<const std::uint8_t> input) {
  const std::uint64_t key = input_key(input);
  if (auto it = by_input_.find(key); it != by_input_.end()) return it->second;
  if (by_input_.size() >= kEntriesMax) by_input_.clear();
  const std::int64_t code = pack_resolution(resolve_cycle(def, input));
  ++built_;
  by_input_.emplace(key, code);
  return code;
}

}  // namespace mgraph

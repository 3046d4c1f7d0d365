// Cycle resolution groups: the dispatcher and member formulas that run the resolver
// (cycle_resolver.cpp) inside the graph (ChronoGraph's CycleDispatcher pattern).

#include <algorithm>
#include <array>

#include "graph_state.hpp"
#include "mgraph/graph/cycle_resolution.hpp"

namespace mgraph {

std::uint32_t GraphState::group_shape(const CycleGroupDef& def) {
  // Members, then per formula its output, defaultness, input count and inputs.
  std::vector<std::uint32_t> key{static_cast<std::uint32_t>(def.members.size())};
  for (std::size_t fi = 0; fi < def.formulas.size(); ++fi) {
    const GroupFormula& f = def.formulas[fi];
    const bool is_default = std::find(def.default_formulas.begin(), def.default_formulas.end(),
                                      fi) != def.default_formulas.end();
    key.push_back(static_cast<std::uint32_t>(f.output));
    key.push_back(is_default ? 1 : 0);
    key.push_back(static_cast<std::uint32_t>(f.inputs.size()));
    for (std::size_t i : f.inputs) key.push_back(static_cast<std::uint32_t>(i));
  }
  const auto [it, added] =
      group_shapes.emplace(std::move(key), static_cast<std::uint32_t>(group_memos.size()));
  if (added) group_memos.emplace_back();
  return it->second;
}

Value GraphState::eval_group_dispatcher(NodeId, const SpecEntry& se) {
  GroupState& g = groups[se.group];
  const std::size_t n = g.members.size();
  std::array<std::uint8_t, kGroupMembersMax> input{};
  for (std::size_t i = 0; i < n; ++i) {
    const NodeId m = g.members[i];
    if (!values[m].is_null()) input[i] |= kHasPrevious;
    if (proposals.count(m) != 0) input[i] |= kHasProposed;
    if (g.keep[i] || kept.count(m) != 0) input[i] |= kKeepIfPossible;
  }
  return Value(group_memos[g.shape].resolve(g.def, {input.data(), n}));
}

Value GraphState::eval_group_member(Context& ctx, const SpecEntry& se) {
  const GroupState& g = groups[se.group];
  const int formula = packed_formula(ctx.read(g.dispatcher).as_int(), se.member);
  if (formula < 0) return ctx.proposed_or_previous();
  const GroupFormula& f = g.def.formulas[static_cast<std::size_t>(formula)];
  std::vector<Value> inputs;
  inputs.reserve(f.inputs.size());
  for (std::size_t i : f.inputs) inputs.push_back(ctx.read(g.members[i]));
  return f.compute(inputs);
}

}  // namespace mgraph

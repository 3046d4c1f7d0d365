// Cycle resolution groups: the resolver, and the dispatcher and member formulas that
// run it inside the graph (ChronoGraph's CycleDispatcher pattern).

#include <algorithm>
#include <memory>

#include "graph_state.hpp"
#include "mgraph/graph/cycle_resolution.hpp"

namespace mgraph {

std::vector<int> resolve_cycle(const CycleGroupDef& def, std::span<const bool> proposed,
                               std::span<const bool> keep, std::span<const bool> has_value) {
  const std::size_t n = def.members.size();
  MG_ASSERT(proposed.size() == n && keep.size() == n && has_value.size() == n);
  std::vector<int> by(n, -1);  // formula computing each member
  std::vector<bool> accepted(def.formulas.size(), false);

  // Does member `target` feed (through accepted formulas) into member `from`?
  auto reaches = [&](std::size_t from, std::size_t target) {
    std::vector<std::size_t> stack{from};
    std::vector<bool> seen(n, false);
    for (std::size_t steps = 0; !stack.empty() && steps <= n * n; ++steps) {
      const std::size_t m = stack.back();
      stack.pop_back();
      if (m == target) return true;
      if (seen[m] || by[m] < 0) continue;
      seen[m] = true;
      for (std::size_t i : def.formulas[static_cast<std::size_t>(by[m])].inputs) stack.push_back(i);
    }
    return false;
  };
  auto try_accept = [&](std::size_t fi) {
    const GroupFormula& f = def.formulas[fi];
    if (accepted[fi] || proposed[f.output] || by[f.output] >= 0) return false;
    for (std::size_t i : f.inputs) {
      if (!(proposed[i] || has_value[i] || by[i] >= 0)) return false;
      if (reaches(i, f.output)) return false;
    }
    by[f.output] = static_cast<int>(fi);
    accepted[fi] = true;
    return true;
  };

  for (std::size_t fi = 0; fi < def.formulas.size(); ++fi) {
    const auto& ins = def.formulas[fi].inputs;
    if (!ins.empty() && std::all_of(ins.begin(), ins.end(), [&](std::size_t i) { return proposed[i]; })) {
      try_accept(fi);
    }
  }
  for (std::size_t fi = 0; fi < def.formulas.size(); ++fi) {
    if (!has_value[def.formulas[fi].output]) try_accept(fi);
  }
  for (std::size_t fi : def.default_formulas) try_accept(fi);
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t fi = 0; fi < def.formulas.size(); ++fi) {
      if (!keep[def.formulas[fi].output] && try_accept(fi)) progress = true;
    }
  }
  return by;
}

Value GraphState::eval_group_dispatcher(NodeId, const SpecEntry& se) {
  const GroupState& g = groups[se.group];
  const std::size_t n = g.members.size();
  auto proposed = std::make_unique<bool[]>(n);
  auto keep = std::make_unique<bool[]>(n);
  auto has_value = std::make_unique<bool[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    proposed[i] = proposals.count(g.members[i]) != 0;
    keep[i] = g.keep[i];
    has_value[i] = !values[g.members[i]].is_null();
  }
  const std::vector<int> by = resolve_cycle(g.def, {proposed.get(), n}, {keep.get(), n},
                                            {has_value.get(), n});
  std::int64_t code = 0;
  for (std::size_t i = 0; i < n; ++i) {
    code |= static_cast<std::int64_t>(by[i] + 1) << (4 * i);
  }
  return Value(code);
}

Value GraphState::eval_group_member(Context& ctx, const SpecEntry& se) {
  const GroupState& g = groups[se.group];
  const std::int64_t code = ctx.read(g.dispatcher).as_int();
  const auto instr = static_cast<int>((code >> (4 * se.member)) & 0xF);
  if (instr == 0) return ctx.proposed_or_previous();
  const GroupFormula& f = g.def.formulas[static_cast<std::size_t>(instr - 1)];
  std::vector<Value> inputs;
  inputs.reserve(f.inputs.size());
  for (std::size_t i : f.inputs) inputs.push_back(ctx.read(g.members[i]));
  return f.compute(inputs);
}

}  // namespace mgraph

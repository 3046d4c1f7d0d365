#include "lean_plan.hpp"

#include <algorithm>

#include "graph_state.hpp"
#include "mgraph/graph/hash.hpp"

namespace mgraph {
namespace {

/// The key's hash: a single source (the common key) is its own.
std::uint64_t key_hash(std::span<const NodeId> sources) {
  if (sources.size() == 1) return sources[0];
  Fnv1a64 h;
  for (const NodeId s : sources) h.u64(s);
  return h.value();
}

/// The code of `form`, which reads inputs `in_a`, `in_b` (in_a twice for one), and the
/// constant it uses.
LeanPlan::FormCode form_code(const KernelForm& form) {
  using Op = KernelForm::Op;
  using Operands = KernelForm::Operands;
  using Code = LeanPlan::FormCode;
  if (form.op == Op::copy) return Code::copy;
  switch (form.operands) {
    case Operands::inputs:
      return form.op == Op::add        ? Code::add
             : form.op == Op::subtract ? Code::subtract
             : form.op == Op::multiply ? Code::multiply
                                       : Code::divide;
    case Operands::input_constant:
      return form.op == Op::add        ? Code::add_c
             : form.op == Op::subtract ? Code::subtract_c
             : form.op == Op::multiply ? Code::multiply_c
                                       : Code::divide_c;
    case Operands::constant_input:
      // c + x and c * x are x + c and x * c (IEEE addition and multiplication commute).
      return form.op == Op::add        ? Code::add_c
             : form.op == Op::subtract ? Code::c_subtract
             : form.op == Op::multiply ? Code::multiply_c
                                       : Code::c_divide;
    case Operands::input_position:  // the constant node - c (form_steps)
      return form.op == Op::add        ? Code::add_c
             : form.op == Op::subtract ? Code::subtract_c
             : form.op == Op::multiply ? Code::multiply_c
                                       : Code::divide_c;
  }
  return Code::copy;
}

/// `plan`'s steps as FormSteps, or none if a field is not a kernel the lean path runs with a
/// form, or has more than two inputs in the plan.
std::vector<LeanPlan::FormStep> form_steps(const LeanPlan& plan, const GraphState& g) {
  std::vector<LeanPlan::FormStep> out;
  out.reserve(plan.steps.size());
  for (const LeanPlan::Step& s : plan.steps) {
    const SpecEntry& e = g.specs[g.nodes[s.node].spec];
    const KernelForm& form = e.spec.kernel_form;
    if (e.lean_kernel == nullptr || form.op == KernelForm::Op::none || s.count > 2) return {};
    const std::span<const NodeId> deps = g.deps_of(s.node);
    if (form.inputs_read() > deps.size()) return {};  // add_derived refuses such fields
    LeanPlan::FormStep f{};
    f.node = s.node;
    f.slot_a = s.count == 1 ? s.slot : plan.slots[s.slot];
    f.slot_b = s.count == 1 ? s.slot : plan.slots[s.slot + 1];
    const bool reads_b = form.op != KernelForm::Op::copy && form.operands == KernelForm::Operands::inputs;
    f.in_a = deps[form.a];
    f.in_b = reads_b ? deps[form.b] : deps[form.a];
    f.code = form_code(form);
    // in[a] op (node - c) as KernelForm::apply computes it, the position folded in.
    f.c = form.operands == KernelForm::Operands::input_position ? static_cast<double>(s.node) - form.c : form.c;
    out.push_back(f);
  }
  return out;
}

}  // namespace

void LeanPlans::check_version(const GraphState& g) {
  if (version_ != g.structure_version) {
    clear();  // invariant 2
    version_ = g.structure_version;
  }
}

LeanPlan* LeanPlans::find(std::span<const NodeId> sources, const GraphState& g) {
  check_version(g);
  ++tick_;
  if (by_key_.empty()) return nullptr;
  const auto it = by_key_.find(key_hash(sources));
  if (it == by_key_.end()) return nullptr;
  LeanPlan& plan = plans_[it->second];
  // Another key with the same hash has no plan.
  const bool same = std::equal(sources.begin(), sources.end(), plan.sources.begin(), plan.sources.end());
  if (!same || !plan.usable) return nullptr;
  plan.last_used = tick_;
  if (plan.useful) ++plan.uses;
  return &plan;
}

void LeanPlans::note_unplanned(std::span<const NodeId> sources, std::size_t computed, GraphState& g) {
  if (computed < g.options.plan_min_fields) return;
  check_version(g);
  const std::uint64_t key = key_hash(sources);
  if (by_key_.count(key) != 0) return;  // noted as too large for a plan, or a collision
  if (sightings_.size() >= kPlanSightingsMax) sightings_.clear();
  // Building costs about as much per field as a commit: a larger reach waits for more
  // commits of its key to pay for it.
  const std::size_t needed = g.options.plan_after + computed / kPlanFieldsPerSighting;
  if (++sightings_[key] < needed) return;
  sightings_.erase(key);  // seen plan_after times more before it is tried again
  // The plan has at least `computed` steps: no room for that, no walk.
  if (!make_room(computed)) return;
  LeanPlan plan = build(sources, g);
  if (!make_room(plan.weight())) return;
  plan.key = key;
  plan.last_used = tick_;
  steps_ += plan.weight();
  by_key_.emplace(key, static_cast<std::uint32_t>(plans_.size()));
  plans_.push_back(std::move(plan));
}

bool LeanPlans::make_room(std::size_t steps) {
  auto fits = [&] { return plans_.size() < kPlansMax && steps_ + steps <= kPlanStepsBudget; };
  if (fits()) return true;
  for (std::size_t i = plans_.size(); i-- > 0;) {
    const LeanPlan& p = plans_[i];
    // Paid for, not followed (its commits compute too little of it), or idle.
    if (p.uses < kPlanPaidUses && p.useful && tick_ - p.last_used < kPlanIdleTicks) continue;
    steps_ -= p.weight();
    by_key_.erase(p.key);
    if (i + 1 != plans_.size()) {
      plans_[i] = std::move(plans_.back());
      by_key_[plans_[i].key] = static_cast<std::uint32_t>(i);
    }
    plans_.pop_back();
    if (fits()) return true;
  }
  return false;
}

LeanPlan LeanPlans::build(std::span<const NodeId> sources, GraphState& g) {
  LeanPlan plan;
  plan.sources.assign(sources.begin(), sources.end());
  // Every field reachable from the sources, each once (a breadth-first walk over
  // dependents, kVisiting marking the fields met: no commit runs, so none is on an
  // evaluation stack), then in height order: invariant 1.
  std::vector<NodeId> fields;
  struct Unmark {  // the marks go, whatever happens
    GraphState& g;
    const std::vector<NodeId>& fields;
    ~Unmark() {
      for (const NodeId x : fields) g.clear(x, kVisiting);
    }
  } unmark{g, fields};
  auto reach_from = [&](NodeId n) {
    for (const NodeId d : g.rdeps_of(n)) {
      if (g.has(d, kVisiting)) continue;
      g.set(d, kVisiting);
      fields.push_back(d);
    }
  };
  for (const NodeId s : sources) reach_from(s);
  for (std::size_t i = 0; i < fields.size() && fields.size() <= kPlanStepsBudget; ++i) reach_from(fields[i]);
  if (fields.size() > kPlanStepsBudget) {
    return plan;  // too large for a plan: usable stays false
  }
  std::stable_sort(fields.begin(), fields.end(),
                   [&](NodeId a, NodeId b) { return g.height(a) < g.height(b); });
  // Each node of the plan with its slot, by node: a field's inputs are looked up in it.
  std::vector<std::pair<NodeId, std::uint32_t>> slot_of;
  slot_of.reserve(sources.size() + fields.size());
  for (std::size_t k = 0; k < sources.size(); ++k) slot_of.emplace_back(sources[k], static_cast<std::uint32_t>(k));
  const auto first_step = static_cast<std::uint32_t>(sources.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    slot_of.emplace_back(fields[i], first_step + static_cast<std::uint32_t>(i));
  }
  std::sort(slot_of.begin(), slot_of.end());
  plan.steps.reserve(fields.size());
  std::vector<std::uint32_t> inputs;
  for (const NodeId x : fields) {
    inputs.clear();
    // Inputs outside the plan never change in a commit of this key: no slot.
    for (const NodeId d : g.deps_of(x)) {
      const auto it = std::lower_bound(slot_of.begin(), slot_of.end(), std::pair<NodeId, std::uint32_t>{d, 0});
      if (it != slot_of.end() && it->first == d) inputs.push_back(it->second);
    }
    MG_ASSERT_MSG(!inputs.empty(), "a planned field has no input in its plan");
    if (inputs.size() == 1) {
      plan.steps.push_back(LeanPlan::Step{x, inputs[0], 1});
    } else {
      plan.steps.push_back(LeanPlan::Step{x, static_cast<std::uint32_t>(plan.slots.size()),
                                          static_cast<std::uint32_t>(inputs.size())});
      plan.slots.insert(plan.slots.end(), inputs.begin(), inputs.end());
    }
  }
  plan.usable = true;
  plan.form_steps = form_steps(plan, g);
  return plan;
}

void LeanPlans::clear() {
  plans_.clear();
  by_key_.clear();
  sightings_.clear();
  steps_ = 0;
}

std::size_t LeanPlans::bytes() const {
  std::size_t total = plans_.capacity() * sizeof(LeanPlan);
  for (const LeanPlan& p : plans_) total += p.bytes();
  // Hash nodes: a key, a value and a next pointer each, plus the bucket arrays.
  constexpr std::size_t kNodeBytes = 2 * sizeof(std::uint64_t) + sizeof(void*);
  total += (by_key_.size() + sightings_.size()) * kNodeBytes +
           (by_key_.bucket_count() + sightings_.bucket_count()) * sizeof(void*);
  return total;
}

}  // namespace mgraph

// Graph: structure, the public API, and copy-on-write branching.

#include "mgraph/graph/graph.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <unordered_set>

#include "graph_state.hpp"
#include "mgraph/graph/cycle_resolution.hpp"

namespace mgraph {

namespace {

Status unknown_node(NodeId n, std::size_t count) {
  return Status(StatusCode::not_found, "node #" + std::to_string(n) + " does not exist (graph has " +
                                           std::to_string(count) + " nodes)");
}

// A kernel reads its declared inputs (FieldSpec::kernel).
Status kernel_spec_status(const SpecEntry& e) {
  if (e.spec.kernel == nullptr || e.spec.dependencies == Dependencies::declared) return Status::ok();
  return Status(StatusCode::invalid_argument,
                "spec " + e.spec.name + " has a kernel, which needs declared dependencies");
}

// Whether spec e's kernel form (FieldSpec::kernel_form) can stand for its kernel on a field
// `node` with `input_count` inputs: it reads only inputs the field has, and on a few inputs
// it computes what the kernel does (a kernel that throws on one is not compared there).
Status kernel_form_status(const SpecEntry& e, std::size_t input_count, NodeId node) {
  const KernelForm& form = e.spec.kernel_form;
  if (form.op == KernelForm::Op::none) return Status::ok();
  const std::string what = "spec " + e.spec.name + "'s kernel_form";
  if (e.spec.kernel == nullptr) {
    return Status(StatusCode::invalid_argument, what + " describes a kernel, and the spec has none");
  }
  if (form.inputs_read() > input_count) {
    return Status(StatusCode::invalid_argument,
                  what + " reads input " + std::to_string(form.inputs_read() - 1) + "; the field has " +
                      std::to_string(input_count) + " inputs");
  }
  // Inputs with distinct values (and none zero: a divisor), in two orders.
  constexpr double kSamples[] = {1.5, -2.25, 7.0, 0.375, -11.0, 3.0};
  std::array<double, 8> local{};
  std::vector<double> heap;
  std::span<double> in(local.data(), input_count);
  if (input_count > local.size()) {
    heap.resize(input_count);
    in = std::span<double>(heap);
  }
  for (std::size_t round = 0; round < 2; ++round) {
    for (std::size_t k = 0; k < input_count; ++k) {
      in[k] = kSamples[(round == 0 ? k : input_count - 1 - k) % std::size(kSamples)] + static_cast<double>(k / std::size(kSamples));
    }
    double by_kernel;
    try {
      by_kernel = e.spec.kernel(std::span<const double>(in.data(), in.size()), node, e.spec.kernel_data);
    } catch (const std::exception&) {
      continue;
    }
    const double by_form = form.apply(in.data(), node);
    if (by_kernel != by_form && !(by_kernel != by_kernel && by_form != by_form)) {
      std::string inputs;
      for (std::size_t k = 0; k < input_count; ++k) inputs += (k == 0 ? "" : ", ") + Value(in[k]).to_json();
      return Status(StatusCode::invalid_argument,
                    what + " does not compute what its kernel does: for inputs (" + inputs + ") the kernel gives " +
                        Value(by_kernel).to_json() + ", the form " + Value(by_form).to_json());
    }
  }
  return Status::ok();
}

// The Context formula of a kernel spec: what reads and the general commit path run.
Formula kernel_formula(ScalarKernel kernel, const void* data) {
  return [kernel, data](Context& ctx) -> Value {
    const std::size_t count = ctx.input_count();
    std::array<double, 8> local{};
    std::vector<double> heap;
    double* in = local.data();
    if (count > local.size()) {
      heap.resize(count);
      in = heap.data();
    }
    for (std::size_t k = 0; k < count; ++k) in[k] = kernel_input(ctx.input(k), k);
    return Value(kernel(std::span<const double>(in, count), ctx.node(), data));
  };
}
}  // namespace

[[noreturn]] void kernel_input_not_a_number(const Value& v, std::size_t k) {
  throw std::invalid_argument("input " + std::to_string(k) + " is " + value_type_name(v.type()) +
                              ", not a number");
}

// ---- GraphState: structure ----

GraphState::GraphState(GraphOptions opts) : options(opts) {
  SpecEntry var;
  var.kind = SpecKind::variable;
  var.spec.name = "variable";
  push_spec(std::move(var));
  SpecEntry mirror;
  mirror.kind = SpecKind::mirror;
  mirror.spec.name = "mirror";
  push_spec(std::move(mirror));
}

std::string GraphState::name_of(NodeId n) const {
  auto it = names.find(n);
  if (it != names.end()) return it->second;
  return "#" + std::to_string(n);
}

NodeId GraphState::new_node(SpecId s, Value initial, std::string name) {
  MG_ASSERT_MSG(values.size() < kNoNode, "node ids exhausted");
  const auto id = static_cast<NodeId>(values.size());
  values.push_back(std::move(initial));
  nodes.push_back(NodeRecord{structure_flags(s), s, 0, s <= kMirrorSpec ? 1u : 0u, {}, {}});
  lean_blockers += spec_blocks_lean(s) ? 1 : 0;
  structure_changed();
  if (!name.empty()) names.emplace(id, std::move(name));
  return id;
}

void GraphState::set_deps(NodeId n, std::span<const NodeId> new_deps) {
  structure_changed();
  for (NodeId d : deps_of(n)) edges.remove_one(nodes[d].rdeps, n);
  edges.assign(nodes[n].deps, new_deps);
  std::uint32_t h = 0;
  for (NodeId d : new_deps) {
    edges.push_back(nodes[d].rdeps, n);
    h = std::max(h, height(d) + 1);
  }
  // Heights follow the current edges exactly, so dependencies that come and go (cycle
  // groups switching formulas) do not ratchet them up forever. Lowering a node needs
  // nothing else: its dependents stay above it.
  if (h > height(n)) {
    raise_height(n, h);
  } else if (h < height(n) && !is_variable(n)) {
    set_height(n, std::max<std::uint32_t>(h, 1));
  }
}

Status GraphState::check_cycle(NodeId node, std::span<const NodeId> inputs) const {
  // A cycle exists if `node` is reachable from an input through dependencies. Only
  // nodes higher than `node` can depend on it, which bounds the search.
  for (NodeId in : inputs) {
    if (in == node) {
      return Status(StatusCode::cycle, "defining " + name_of(node) +
                                           " closes a cycle: " + name_of(node) + " -> " +
                                           name_of(node));
    }
    if (height(in) <= height(node) && !is_variable(node) && height(node) != 0) continue;
    std::unordered_map<NodeId, NodeId> parent{{in, kNoNode}};
    std::vector<NodeId> stack{in};
    while (!stack.empty()) {
      const NodeId x = stack.back();
      stack.pop_back();
      for (NodeId d : deps_of(x)) {
        if (parent.count(d) != 0) continue;
        parent[d] = x;
        if (d == node) {
          std::vector<NodeId> path{node};
          for (NodeId p = x; p != kNoNode; p = parent[p]) path.push_back(p);
          std::string text = name_of(node);
          for (NodeId p : std::vector<NodeId>(path.rbegin(), path.rend())) text += " -> " + name_of(p);
          return Status(StatusCode::cycle, "defining " + name_of(node) + " to read " +
                                               name_of(in) + " closes a cycle: " + text);
        }
        stack.push_back(d);
      }
    }
  }
  return Status::ok();
}

// ---- Context ----

void Context::input_out_of_range(std::size_t k) const {
  throw std::out_of_range("input " + std::to_string(k) + " of " + g_.name_of(node_) +
                          " does not exist (it has " + std::to_string(input_count_) + ")");
}

const Value& Context::read(NodeId node) {
  if (node >= g_.values.size()) {
    throw std::out_of_range(g_.name_of(node_) + " reads node #" + std::to_string(node) +
                            " which does not exist");
  }
  if (g_.spec_of(node_).tracked) {
    g_.track.push_back(node);
  } else {
    const std::span<const NodeId> ds = g_.deps_of(node_);
    if (std::find(ds.begin(), ds.end(), node) == ds.end()) {
      throw std::logic_error(g_.name_of(node_) + " reads " + g_.name_of(node) +
                             ", which is not one of its declared inputs");
    }
  }
  if (g_.has(node, kStale)) {
    if (g_.has(node, kVisiting)) throw CycleError{g_.cycle_path(node)};
    if (g_.nest_depth >= kNestMax) throw NeedFirst{node};
    if (!g_.ensure(node)) throw BlockedError{};
  }
  if (!g_.conditions.empty()) [[unlikely]] {
    if (const NodeId cause = g_.failure_cause(node); cause != kNoNode) throw InputFailed{cause};
  }
  return g_.values[node];
}

const Value& Context::self() const {
  // Normally the slot still holds the committed value; a node recomputed twice in one
  // transaction (a write after a read) finds it in the journal.
  return g_.journaled(node_) ? g_.txn_start_value(node_) : g_.values[node_];
}

bool Context::has_proposed() const { return g_.proposals.count(node_) != 0; }

const Value& Context::proposed() const {
  static const Value kNull;
  auto it = g_.proposals.find(node_);
  return it == g_.proposals.end() ? kNull : it->second;
}

const Value& Context::proposed_or_previous() const {
  auto it = g_.proposals.find(node_);
  return it == g_.proposals.end() ? self() : it->second;
}

void Context::reject(std::string reason) { throw RejectError{node_, std::move(reason)}; }

std::span<const InputChange> Context::changes() const {
  if (g_.running_incremental != node_ || g_.running_changes == nullptr) return {};
  return *g_.running_changes;
}

const Value& Context::peek(NodeId node) const {
  if (node >= g_.values.size()) {
    throw std::out_of_range(g_.name_of(node_) + " peeks at node #" + std::to_string(node) +
                            " which does not exist");
  }
  return g_.values[node];
}

// ---- Graph ----

Graph::Graph(GraphOptions options) : state_(std::make_shared<GraphState>(options)) {}
Graph::Graph(std::shared_ptr<GraphState> state) : state_(std::move(state)) {}
Graph::~Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;

GraphState& Graph::mut() {
  window_.count = 0;
  if (state_.use_count() > 1) state_ = std::make_shared<GraphState>(*state_);
  return *state_;
}

Graph Graph::branch() const { return Graph(state_); }

NodeId Graph::add_variable(Value initial, std::string name) {
  GraphState& g = mut();
  // Change stamp 0: an initial value is no change in any transaction.
  return g.new_node(kVariableSpec, std::move(initial), std::move(name));
}

NodeId Graph::add_mirror(Value initial, std::string name) {
  GraphState& g = mut();
  return g.new_node(kMirrorSpec, std::move(initial), std::move(name));
}

SpecId Graph::add_spec(FieldSpec spec) {
  GraphState& g = mut();
  SpecEntry e;
  e.kind = spec.dependencies == Dependencies::incremental ? SpecKind::incremental
                                                          : SpecKind::formula;
  e.lazy = spec.evaluation == Evaluation::lazy;
  e.tracked = spec.dependencies == Dependencies::tracked;
  e.custom_equality = static_cast<bool>(spec.equality);
  if (spec.kernel != nullptr) spec.formula = kernel_formula(spec.kernel, spec.kernel_data);
  if (!e.custom_equality) e.lean_kernel = spec.kernel;
  e.spec = std::move(spec);
  MG_ASSERT(g.specs.size() < UINT32_MAX);
  g.push_spec(std::move(e));
  return static_cast<SpecId>(g.specs.size() - 1);
}

Result<NodeId> Graph::add_derived(SpecId spec, std::span<const NodeId> inputs, std::string name) {
  GraphState& g = mut();
  if (spec >= g.specs.size() || (g.specs[spec].kind != SpecKind::formula &&
                                 g.specs[spec].kind != SpecKind::incremental)) {
    return Status(StatusCode::invalid_argument,
                  "spec " + std::to_string(spec) + " is not a formula spec from add_spec()");
  }
  if (!g.specs[spec].spec.formula) {
    return Status(StatusCode::invalid_argument, "spec " + g.specs[spec].spec.name + " has no formula");
  }
  if (Status s = kernel_spec_status(g.specs[spec]); !s.is_ok()) return s;
  if (g.specs[spec].kind == SpecKind::incremental && g.specs[spec].lazy) {
    // Its changes are relative to the previous computation, which must be the last commit.
    return Status(StatusCode::invalid_argument,
                  "spec " + g.specs[spec].spec.name + " is incremental and lazy; incremental "
                                                      "fields are strict");
  }
  for (NodeId in : inputs) {
    if (in >= g.values.size()) return unknown_node(in, g.values.size());
  }
  if (Status s = kernel_form_status(g.specs[spec], inputs.size(), static_cast<NodeId>(g.values.size()));
      !s.is_ok()) {
    return s;
  }
  const NodeId n = g.new_node(spec, Value(), std::move(name));
  if (!g.specs[spec].tracked) g.set_deps(n, inputs);
  g.set(n, kStale | kForce);
  g.pending_new.push_back(n);
  return n;
}

NodeId Graph::add_formula(Formula formula, std::string name) {
  FieldSpec spec;
  spec.formula = std::move(formula);
  spec.dependencies = Dependencies::tracked;
  spec.name = name;
  const SpecId s = add_spec(std::move(spec));
  return add_derived(s, std::span<const NodeId>{}, std::move(name)).value();
}

Status Graph::define(NodeId node, SpecId spec, std::span<const NodeId> inputs) {
  GraphState& g = mut();
  if (node >= g.values.size()) return unknown_node(node, g.values.size());
  if (g.txn_open) {
    return Status(StatusCode::failed_precondition,
                  "define(" + g.name_of(node) + ") inside an open transaction: commit or reject first");
  }
  if (spec >= g.specs.size() || (g.specs[spec].kind != SpecKind::formula &&
                                 g.specs[spec].kind != SpecKind::incremental)) {
    return Status(StatusCode::invalid_argument, "spec " + std::to_string(spec) + " is not a formula spec");
  }
  if (Status s = kernel_spec_status(g.specs[spec]); !s.is_ok()) return s;
  if (g.specs[spec].kind == SpecKind::incremental && g.specs[spec].lazy) {
    return Status(StatusCode::invalid_argument,
                  "spec " + g.specs[spec].spec.name + " is incremental and lazy; incremental "
                                                      "fields are strict");
  }
  for (NodeId in : inputs) {
    if (in >= g.values.size()) return unknown_node(in, g.values.size());
  }
  if (Status s = kernel_form_status(g.specs[spec], inputs.size(), node); !s.is_ok()) return s;
  const bool tracked = g.specs[spec].tracked;
  if (!tracked) {
    if (Status s = g.check_cycle(node, inputs); !s) return s;
  }
  g.set_spec(node, spec);
  g.set_deps(node, tracked ? std::span<const NodeId>{} : inputs);
  // Recomputed by the next commit as if new; mark() then marks its dependents.
  g.set(node, kStale | kForce);
  g.nodes[node].computed_at = 0;
  if (std::find(g.pending_new.begin(), g.pending_new.end(), node) == g.pending_new.end()) {
    g.pending_new.push_back(node);
  }
  g.undo_stack.clear();
  g.redo_stack.clear();
  return Status::ok();
}

bool GraphState::reaches(NodeId from, NodeId to, std::vector<NodeId>* path) const {
  // `to` depends on `from` only through dependents of `from` lower than `to` (invariant 1),
  // so the walk stays below height(to): O(1) when `from` is already above `to`.
  if (from == to) {
    if (path != nullptr) *path = {to};
    return true;
  }
  if (height(from) >= height(to)) return false;
  std::unordered_map<NodeId, NodeId> parent{{from, kNoNode}};
  std::vector<NodeId> stack{from};
  while (!stack.empty()) {
    const NodeId x = stack.back();
    stack.pop_back();
    for (NodeId d : rdeps_of(x)) {
      if (parent.count(d) != 0) continue;
      parent[d] = x;
      if (d == to) {
        if (path != nullptr) {
          path->clear();
          for (NodeId p = d; p != kNoNode; p = parent[p]) path->push_back(p);
        }
        return true;
      }
      if (height(d) < height(to)) stack.push_back(d);
    }
  }
  return false;
}

namespace {

Status check_incremental(const GraphState& g, NodeId node, NodeId input) {
  const std::size_t n = g.values.size();
  if (node >= n) return unknown_node(node, n);
  if (input >= n) return unknown_node(input, n);
  if (g.spec_of(node).kind != SpecKind::incremental) {
    return Status(StatusCode::invalid_argument,
                  g.name_of(node) + " is not an incremental field (Dependencies::incremental)");
  }
  return Status::ok();
}

}  // namespace

std::uint32_t GraphState::input_position(NodeId node, NodeId input) {
  const std::span<const NodeId> ds = deps_of(node);
  // Short lists are scanned; long ones keep an index, so that unlinking every member of a
  // large collection is not quadratic. The index is a cache: checked on every use and
  // rebuilt when the list changed behind it (define, import_image).
  constexpr std::size_t kScannedInputsMax = 32;
  if (ds.size() <= kScannedInputsMax) {
    input_index.erase(node);
    const auto it = std::find(ds.begin(), ds.end(), input);
    return it == ds.end() ? kNoNode : static_cast<std::uint32_t>(it - ds.begin());
  }
  auto& index = input_index[node];
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1 || index.size() != ds.size()) {
      index.clear();
      for (std::uint32_t k = 0; k < ds.size(); ++k) index[ds[k]] = k;
    }
    const auto it = index.find(input);
    if (it != index.end() && it->second < ds.size() && ds[it->second] == input) return it->second;
  }
  return kNoNode;
}

void GraphState::remove_input_at(NodeId node, NodeId input, std::uint32_t pos) {
  // Moved to the front first, where EdgeArena::remove_one finds it at once.
  const std::span<NodeId> ds = edges.get_mut(nodes[node].deps);
  MG_ASSERT(pos < ds.size() && ds[pos] == input);
  std::swap(ds[0], ds[pos]);
  structure_changed();
  edges.remove_one(nodes[node].deps, input);  // the last input takes its place
  edges.remove_one(nodes[input].rdeps, node);
  const auto it = input_index.find(node);
  if (it == input_index.end()) return;
  auto& index = it->second;
  index.erase(input);
  const std::span<const NodeId> now = deps_of(node);
  if (pos != 0 && pos < now.size()) index[now[pos]] = pos;
  if (!now.empty()) index[now[0]] = 0;
}

void GraphState::add_input_edge(NodeId node, NodeId input) {
  structure_changed();
  edges.push_back(nodes[node].deps, input);
  edges.push_back(nodes[input].rdeps, node);
  if (height(node) <= height(input)) raise_height(node, height(input) + 1);
  const auto it = input_index.find(node);
  if (it != input_index.end()) it->second[input] = nodes[node].deps.count - 1;
}

Status Graph::check_input(NodeId node, NodeId input) const {
  const GraphState& g = state();
  if (Status s = check_incremental(g, node, input); !s) return s;
  std::vector<NodeId> path;
  if (g.reaches(node, input, &path)) {
    std::string text = g.name_of(node);
    for (NodeId p : path) text += " -> " + g.name_of(p);
    return Status(StatusCode::cycle, "adding " + g.name_of(input) + " as an input of " +
                                         g.name_of(node) + " closes a cycle: " + text);
  }
  return Status::ok();
}

Status Graph::add_input(NodeId node, NodeId input) {
  if (Status s = check_input(node, input); !s) return s;
  GraphState& g = mut();
  if (g.computed_in_txn) g.reset_computations();
  g.input_stamp();
  g.add_input_edge(node, input);
  g.note_input(node, input, InputEvent::added, Value());
  if (!g.has(node, kForce)) g.force(node);
  return Status::ok();
}

Status Graph::remove_input(NodeId node, NodeId input) {
  GraphState& g = mut();
  if (Status s = check_incremental(g, node, input); !s) return s;
  const std::uint32_t pos = g.input_position(node, input);
  if (pos == kNoNode) {
    return Status(StatusCode::not_found,
                  g.name_of(input) + " is not an input of " + g.name_of(node));
  }
  if (g.computed_in_txn) g.reset_computations();
  g.input_stamp();
  // What the node's computations so far have seen of it: its value when the transaction began.
  const Value old = g.start_value(input);
  g.remove_input_at(node, input, pos);
  g.note_input(node, input, InputEvent::removed, old);
  if (!g.has(node, kForce)) g.force(node);
  return Status::ok();
}

Status Graph::restore_input(NodeId node, NodeId input, bool present) {
  GraphState& g = mut();
  if (Status s = check_incremental(g, node, input); !s) return s;
  if (g.txn_open) {
    return Status(StatusCode::failed_precondition,
                  "restore_input(" + g.name_of(node) + ") inside an open transaction");
  }
  if (!present) {
    const std::uint32_t pos = g.input_position(node, input);
    if (pos == kNoNode) {
      return Status(StatusCode::not_found,
                    g.name_of(input) + " is not an input of " + g.name_of(node));
    }
    g.remove_input_at(node, input, pos);
    return Status::ok();
  }
  if (g.reaches(node, input, nullptr)) {
    return Status(StatusCode::cycle, "restoring " + g.name_of(input) + " as an input of " +
                                         g.name_of(node) + " closes a cycle");
  }
  g.add_input_edge(node, input);
  return Status::ok();
}

Result<CycleGroup> Graph::add_cycle_group(CycleGroupDef def) {
  GraphState& g = mut();
  const std::size_t n = def.members.size();
  if (n == 0 || n > kGroupMembersMax) {
    return Status(StatusCode::invalid_argument, "cycle group " + def.name + " has " + std::to_string(n) +
                                                    " members; 1 to " + std::to_string(kGroupMembersMax) +
                                                    " are allowed");
  }
  if (def.formulas.size() > kGroupFormulasMax) {
    return Status(StatusCode::invalid_argument, "cycle group " + def.name + " has more than " +
                                                    std::to_string(kGroupFormulasMax) + " formulas");
  }
  for (std::size_t fi = 0; fi < def.formulas.size(); ++fi) {
    const GroupFormula& f = def.formulas[fi];
    const std::string fname = f.name.empty() ? "formula " + std::to_string(fi) : f.name;
    if (f.output >= n || !f.compute) {
      return Status(StatusCode::invalid_argument,
                    "cycle group " + def.name + ": " + fname + " has no valid output or computation");
    }
    for (std::size_t i : f.inputs) {
      if (i >= n || i == f.output) {
        return Status(StatusCode::invalid_argument,
                      "cycle group " + def.name + ": " + fname + " has an invalid input " + std::to_string(i));
      }
    }
  }
  for (std::size_t d : def.default_formulas) {
    if (d >= def.formulas.size()) {
      return Status(StatusCode::invalid_argument, "cycle group " + def.name + ": default formula " +
                                                      std::to_string(d) + " does not exist");
    }
  }
  const auto gid = static_cast<std::uint32_t>(g.groups.size());
  GroupState gs;
  gs.keep.assign(n, false);
  gs.shape = g.group_shape(def);

  SpecEntry dispatcher;
  dispatcher.kind = SpecKind::group_dispatcher;
  dispatcher.group = gid;
  dispatcher.spec.name = def.name + ".dispatcher";
  g.push_spec(std::move(dispatcher));
  gs.dispatcher = g.new_node(static_cast<SpecId>(g.specs.size() - 1), Value(), def.name + ".dispatcher");
  g.set(gs.dispatcher, kStale | kForce);
  g.pending_new.push_back(gs.dispatcher);
  g.set_height(gs.dispatcher, 1);

  for (std::size_t i = 0; i < n; ++i) {
    SpecEntry member;
    member.kind = SpecKind::group_member;
    member.tracked = true;
    member.group = gid;
    member.member = static_cast<std::uint32_t>(i);
    member.spec.name = def.members[i];
    g.push_spec(std::move(member));
    Value initial = i < def.initial.size() ? def.initial[i] : Value();
    const NodeId m = g.new_node(static_cast<SpecId>(g.specs.size() - 1), std::move(initial),
                                def.name.empty() ? def.members[i] : def.name + "." + def.members[i]);
    g.set(m, kStale | kForce);
    g.pending_new.push_back(m);
    gs.members.push_back(m);
  }
  gs.def = std::move(def);
  CycleGroup out{gid, gs.members, gs.dispatcher};
  g.groups.push_back(std::move(gs));
  return out;
}

Status Graph::set_keep(const CycleGroup& group, std::size_t member, bool keep) {
  GraphState& g = mut();
  if (group.id >= g.groups.size() || member >= g.groups[group.id].members.size()) {
    return Status(StatusCode::not_found, "no such cycle group member");
  }
  GroupState& gs = g.groups[group.id];
  if (gs.keep[member] == keep) return Status::ok();
  if (g.computed_in_txn) g.reset_computations();
  g.input_stamp();
  gs.keep[member] = keep;
  g.force(gs.dispatcher);
  return Status::ok();
}

Status Graph::keep_if_possible(NodeId node) {
  GraphState& g = mut();
  if (node >= g.values.size()) return unknown_node(node, g.values.size());
  if (g.is_variable(node) || g.spec_of(node).kind != SpecKind::group_member) {
    return Status(StatusCode::invalid_argument,
                  g.name_of(node) + " is not a member of a cycle group: only members can be kept");
  }
  if (g.computed_in_txn) g.reset_computations();
  g.input_stamp();
  if (!g.kept.insert(node).second) return Status::ok();
  g.force(g.groups[g.spec_of(node).group].dispatcher);
  return Status::ok();
}

void Graph::set_exported(NodeId node, bool exported) {
  GraphState& g = mut();
  MG_ASSERT(node < g.values.size());
  if (exported != g.has(node, kExported)) {
    if (exported) {
      ++g.lean_blockers;
    } else {
      --g.lean_blockers;
    }
  }
  if (exported) {
    g.set(node, kExported);
  } else {
    g.clear(node, kExported);
  }
}

void Graph::set_name(NodeId node, std::string name) {
  GraphState& g = mut();
  MG_ASSERT(node < g.values.size());
  g.names[node] = std::move(name);
}

std::string Graph::name(NodeId node) const { return state().name_of(node); }
std::size_t Graph::node_count() const { return state().values.size(); }
bool Graph::is_variable(NodeId node) const { return state().is_variable(node); }
bool Graph::is_mirror(NodeId node) const {
  MG_ASSERT(node < state().values.size());
  return state().spec_of(node).kind == SpecKind::mirror;
}
bool Graph::is_lazy(NodeId node) const { return state().spec_of(node).lazy; }
std::uint32_t Graph::height(NodeId node) const { return state().height(node); }
std::span<const NodeId> Graph::dependencies(NodeId node) const { return state().deps_of(node); }
std::span<const NodeId> Graph::dependents(NodeId node) const { return state().rdeps_of(node); }

void Graph::reserve(std::size_t nodes, std::size_t edge_count) {
  GraphState& g = mut();
  g.values.reserve(nodes);
  g.nodes.reserve(nodes);
  g.edges.reserve(2 * edge_count);
}

Status Graph::compact() {
  GraphState& g = mut();
  if (g.txn_open) {
    return Status(StatusCode::failed_precondition, "compact() inside an open transaction");
  }
  const std::size_t n = g.values.size();
  std::size_t entries = 0;
  for (NodeId x = 0; x < n; ++x) {
    for (const Span s : {g.nodes[x].deps, g.nodes[x].rdeps}) {
      if (s.count > 0) entries += EdgeArena::class_capacity()[EdgeArena::class_for(s.count)];
    }
  }
  EdgeArena fresh;
  fresh.reserve(entries);
  std::vector<NodeId> tmp;
  for (NodeId x = 0; x < n; ++x) {
    for (Span* span : {&g.nodes[x].deps, &g.nodes[x].rdeps}) {
      const std::span<const NodeId> cur = g.edges.get(*span);
      tmp.assign(cur.begin(), cur.end());
      Span s;
      fresh.assign(s, tmp);
      *span = s;
    }
  }
  g.edges = std::move(fresh);
  g.structure_changed();
  g.values.shrink_to_fit();
  g.nodes.shrink_to_fit();
  for (auto* v : {&g.marked, &g.queue, &g.mark_stack, &g.pending_new, &g.forced, &g.forced_txn,
                  &g.last_changed}) {
    v->shrink_to_fit();
  }
  g.journal.values.shrink_to_fit();
  g.freshened.shrink_to_fit();
  return Status::ok();
}

Status Graph::write(NodeId node, Value value) {
  GraphState& g = mut();
  if (node >= g.values.size()) return unknown_node(node, g.values.size());
  if (!g.is_variable(node)) {
    return Status(StatusCode::invalid_argument,
                  g.name_of(node) + " is a derived field: write() sets variables; use propose()");
  }
  if (g.nodes[node].spec == kMirrorSpec) {
    return Status(StatusCode::invalid_argument,
                  g.name_of(node) + " is a mirror of a remote field: use resolve_mirror()");
  }
  return g.write(node, std::move(value));
}

Status Graph::propose(NodeId node, Value value) {
  GraphState& g = mut();
  if (node >= g.values.size()) return unknown_node(node, g.values.size());
  if (g.is_variable(node)) return write(node, std::move(value));
  const SpecEntry& se = g.spec_of(node);
  if (se.kind == SpecKind::group_dispatcher) {
    return Status(StatusCode::invalid_argument, g.name_of(node) + " is internal to its cycle group");
  }
  if (g.computed_in_txn) g.reset_computations();
  g.input_stamp();
  g.proposals[node] = std::move(value);
  g.force(node);
  if (se.kind == SpecKind::group_member) g.force(g.groups[se.group].dispatcher);
  return Status::ok();
}

const Value& Graph::read_slow(NodeId node) {
  const GraphState& g = state();
  MG_ASSERT_MSG(node < g.values.size(), "read of a node that does not exist");
  const bool quiet = g.written.empty() && g.forced.empty();
  const Value& v = !g.has(node, kStale) && quiet ? g.values[node] : mut().read(node, nullptr);
  // state_ may be a new copy now (mut() detaches a shared state): take the window from it.
  const GraphState& now = state();
  // Graph::read() reads a node's stale bit through the window, as the first word of a
  // record of kRecordBytes bytes.
  static_assert(offsetof(NodeRecord, meta) == 0 && kStale == 1u &&
                sizeof(NodeRecord) == kRecordBytes && sizeof(NodeRecord::meta) == 4);
  if (now.written.empty() && now.forced.empty() && !now.values.empty()) {
    window_ = ReadWindow(now.values.data(), reinterpret_cast<const std::byte*>(now.nodes.data()),
                         now.values.size());
  }
  return v;
}

void Graph::prefetch(NodeId node) const {
  const GraphState& g = state();
  if (node >= g.values.size()) return;
  __builtin_prefetch(&g.nodes[node], 1);
  __builtin_prefetch(&g.values[node], 1);
}

Result<Value> Graph::try_read(NodeId node) {
  GraphState& g = mut();
  if (node >= g.values.size()) return unknown_node(node, g.values.size());
  Status error;
  const Value& v = g.read(node, &error);
  if (!error) return error;
  return v;
}

Result<Value> Graph::value_at(NodeId node, Revision revision) const {
  const GraphState& g = state();
  if (node >= g.values.size()) return unknown_node(node, g.values.size());
  if (g.txn_open) {
    return Status(StatusCode::failed_precondition,
                  "a transaction is open: commit or reject it before reading at revision " +
                      std::to_string(revision));
  }
  if (revision == g.revision) return g.values[node];
  if ((g.nodes[node].meta & kLazy) != 0) {
    return Status(StatusCode::invalid_argument,
                  "a lazy field has no value kept at a past revision (revision " +
                      std::to_string(revision) + "; now " + std::to_string(g.revision) + ")");
  }
  // Walk the journals as undo() and redo() would apply them, following only `node`: a
  // journal entry holds the value the node takes when its record is applied the other way.
  Value v = g.values[node];
  const auto back = [&](const RevisionRecord& rec, const auto& self) -> void {
    for (std::size_t i = rec.after_pulls.size(); i-- > 0;) self(rec.after_pulls[i], self);
    for (std::size_t i = rec.values.size(); i-- > 0;) {
      if (rec.values[i].node == node) v = rec.values[i].value;
    }
  };
  const auto forth = [&](const RevisionRecord& rec, const auto& self) -> void {
    for (const JournalEntry& e : rec.values) {
      if (e.node == node) v = e.value;
    }
    for (const RevisionRecord& r : rec.after_pulls) self(r, self);
  };
  for (std::size_t i = g.ambient.size(); i-- > 0;) back(g.ambient[i], back);
  const Value now = v;
  for (std::size_t i = g.undo_stack.size(); i-- > 0;) {
    back(g.undo_stack[i], back);
    if (g.undo_stack[i].before == revision) return v;
  }
  v = now;
  for (std::size_t i = g.redo_stack.size(); i-- > 0;) {
    forth(g.redo_stack[i], forth);
    if (g.redo_stack[i].after == revision) return v;
  }
  return Status(StatusCode::not_found,
                "revision " + std::to_string(revision) +
                    " is not one that undo or redo can reach (now " +
                    std::to_string(g.revision) + ", " + std::to_string(g.undo_stack.size()) +
                    " to undo, " + std::to_string(g.redo_stack.size()) + " to redo)");
}

Value Graph::committed(NodeId node) const {
  MG_ASSERT(node < state().values.size());
  return state().txn_start_value(node);
}

bool Graph::is_stale(NodeId node) const { return state().has(node, kStale); }

bool Graph::ran_in_transaction(NodeId node) const {
  const GraphState& g = state();
  MG_ASSERT(node < g.values.size() && g.has(node, kIncremental));
  // Undone computations of incremental fields take their old stamp back (note_fresh
  // records them for reset_computations and rollback).
  return g.nodes[node].computed_at >= g.txn_first_stamp;
}

Result<CommitStats> Graph::commit() {
  Result<CommitStats> r = mut().commit();
  if (r.is_ok() && r->changed > 0 && !observer_nodes_.empty()) run_observers();
  return r;
}

void Graph::run_observers() {
  // An observer may write (opening the next transaction), observe or unobserve: walk
  // a copy of the changed list and look each observer up again before calling it.
  const std::vector<NodeId> changed(state().last_changed.begin(), state().last_changed.end());
  // Reaching a node's observer takes four loads, each needing the one before: its entry
  // in the column, its list, the list's first pair, the observer (and its count). On a
  // large graph each one misses, so the nodes ahead are prefetched in four stages, kDist
  // nodes apart, and the misses of several nodes overlap (as the lean commit does with
  // the columns it visits). A prefetch is only a hint: an observer called may change the
  // lists, and the addresses read ahead are then merely useless.
  constexpr std::size_t kDist = 8;
  const std::size_t count = changed.size();
  const NodeId* const at = changed.data();
  for (std::size_t k = 0; k < count; ++k) {
    if (k + 4 * kDist < count && at[k + 4 * kDist] < observer_list_of_.size()) {
      __builtin_prefetch(observer_list_of_.data() + at[k + 4 * kDist]);
    }
    if (k + 3 * kDist < count) {
      if (const ObserverList* l = observers_of(at[k + 3 * kDist])) __builtin_prefetch(l);
    }
    if (k + 2 * kDist < count) {
      if (const ObserverList* l = observers_of(at[k + 2 * kDist]); l != nullptr && !l->empty()) {
        __builtin_prefetch(l->data());
      }
    }
    if (k + kDist < count) {
      if (const ObserverList* l = observers_of(at[k + kDist]); l != nullptr && !l->empty()) {
        const char* const fn = reinterpret_cast<const char*>(l->front().second.get());
        __builtin_prefetch(fn);
        __builtin_prefetch(fn - 16);  // make_shared's counts, before the observer
      }
    }
    const NodeId n = changed[k];
    if (!state().has(n, kObserved)) continue;
    const ObserverList* list = observers_of(n);
    if (list == nullptr) continue;  // observed by another graph sharing the state
    if (list->size() == 1) {  // the common case: no other observer to look up again
      const std::shared_ptr<const Observer> call = list->front().second;
      (*call)(n, committed(n));
      continue;
    }
    observer_scratch_.clear();
    for (const auto& [id, fn] : *list) observer_scratch_.push_back(id);
    const std::vector<ObserverId> ids = observer_scratch_;
    for (ObserverId id : ids) {
      // Looked up again: an observer called may have changed the lists.
      const ObserverList* now = observers_of(n);
      if (now == nullptr) break;
      for (const auto& [oid, fn] : *now) {
        if (oid == id) {
          const std::shared_ptr<const Observer> call = fn;  // survives unobserve() inside
          (*call)(n, committed(n));
          break;
        }
      }
    }
  }
}

void Graph::reject() { mut().rollback(); }

Status Graph::undo() { return step_history(/*forward=*/false); }

Status Graph::redo() { return step_history(/*forward=*/true); }

Status Graph::step_history(bool forward) {
  GraphState& g = mut();
  const char* what = forward ? "redo" : "undo";
  if (g.txn_open) {
    return Status(StatusCode::failed_precondition,
                  std::string("a transaction is open: commit() or reject() it before ") + what + "()");
  }
  const bool empty = forward ? g.redo_stack.empty() : g.undo_stack.empty();
  if (empty) {
    return Status(StatusCode::failed_precondition,
                  !forward && g.options.history_limit == 0
                      ? "undo is off (GraphOptions::history_limit is 0)"
                      : std::string("nothing to ") + what);
  }
  g.unapply_ambient();
  RevisionRecord rec;
  if (forward) {
    rec = std::move(g.redo_stack.back());
    g.redo_stack.pop_back();
    g.apply(rec);
  } else {
    rec = std::move(g.undo_stack.back());
    g.undo_stack.pop_back();
    g.unapply(rec);
  }
  g.revision = forward ? rec.after : rec.before;
  g.last_changed.clear();
  for (const JournalEntry& e : rec.values) g.last_changed.push_back(e.node);
  if (forward) {
    g.undo_stack.push_back(std::move(rec));
  } else {
    g.redo_stack.push_back(std::move(rec));
  }
  return Status::ok();
}

bool Graph::can_undo() const { return !state().undo_stack.empty(); }
bool Graph::can_redo() const { return !state().redo_stack.empty(); }
bool Graph::in_transaction() const { return state().txn_open; }
Revision Graph::revision() const { return state().revision; }

void Graph::begin() { mut().open_txn(); }

Status Graph::add_revision() {
  GraphState& g = mut();
  if (g.txn_open) {
    return Status(StatusCode::failed_precondition, "add_revision() inside a transaction");
  }
  g.last_changed.clear();
  g.push_revision(RevisionRecord{});
  return Status::ok();
}

// ---- Stepwise ----

Status Graph::mark(std::vector<NodeId>* exported_stale) {
  GraphState& g = mut();
  g.open_txn();
  // Writes after a finished compute() start another round of the same transaction (a
  // read inside it needed every value): marking may start again.
  if (g.computing && g.waiting_for.empty()) {
    g.computing = false;
    // What the last round reported is resolved: the new round reports what it marks
    // again. Fields marked since the last report (a read inside the transaction marks
    // from the writes before it) are still to be reported. A write after an earlier round
    // took its computations back (reset_computations): every field this transaction
    // reported, in any round, is announced again, since the values other partitions hold
    // are no longer its own.
    const std::size_t from = g.exported_taken_back ? 0 : g.exported_stale_reported;
    g.exported_stale_reported = from;
    g.exported_taken_back = false;
    g.exported_reported.clear();
    // What this round's compute() reports: those computed since (the rest of the round
    // is noted as it computes).
    g.exported_done.clear();
    for (std::size_t i = from; i < g.exported_marked.size(); ++i) {
      if (!g.has(g.exported_marked[i], kStale)) g.exported_done.push_back(g.exported_marked[i]);
    }
    // Of those, the ones a read has computed since are announced too: the other
    // partitions mark their mirrors, and compute() sends the value.
    if (exported_stale != nullptr) {
      for (std::size_t i = from; i < g.exported_marked.size(); ++i) {
        if (!g.has(g.exported_marked[i], kStale)) exported_stale->push_back(g.exported_marked[i]);
      }
    }
  }
  g.mark();
  g.report_exported_stale(exported_stale);
  return Status::ok();
}

Status Graph::mark_mirror(NodeId mirror, std::vector<NodeId>* exported_stale) {
  GraphState& g = mut();
  if (mirror >= g.values.size()) return unknown_node(mirror, g.values.size());
  if (g.nodes[mirror].spec != kMirrorSpec) {
    return Status(StatusCode::invalid_argument, g.name_of(mirror) + " is not a mirror");
  }
  g.input_stamp();
  if (g.computing) {
    return Status(StatusCode::failed_precondition,
                  "mark_mirror(" + g.name_of(mirror) + ") after compute() started: marking must finish first");
  }
  if (g.has(mirror, kStale)) return Status::ok();
  g.set(mirror, kStale | kMirrorPending);
  g.marked_mirrors.push_back(mirror);
  g.mark_dependents(mirror);
  g.report_exported_stale(exported_stale);
  return Status::ok();
}

Status Graph::compute(std::vector<Resolution>* resolved) {
  GraphState& g = mut();
  g.open_txn();
  try {
    if (!g.written.empty() || !g.forced.empty() || !g.pending_new.empty()) g.mark();
    g.computing = true;
    g.compute_pending(resolved);
  } catch (...) {
    const Status failed = g.failure_status(std::current_exception(), kNoNode);
    g.unwind();
    return failed;
  }
  return Status::ok();
}

Status Graph::resolve_mirror(NodeId mirror, bool changed, Value value, FieldCondition condition) {
  GraphState& g = mut();
  if (mirror >= g.values.size()) return unknown_node(mirror, g.values.size());
  if (g.nodes[mirror].spec != kMirrorSpec) {
    return Status(StatusCode::invalid_argument, g.name_of(mirror) + " is not a mirror");
  }
  if (!g.has(mirror, kMirrorPending)) {
    return Status(StatusCode::failed_precondition, g.name_of(mirror) + " was not marked stale in this transaction");
  }
  const std::uint32_t s = g.input_stamp();
  g.clear(mirror, kStale | kMirrorPending);
  g.resolved_mirrors.push_back(mirror);  // the next compute() tries the fields waiting for it
  // "Unchanged" is against the start of the transaction: an earlier round of it may have
  // resolved another value here, which a write then took back on the owner.
  if (!changed) {
    value = g.txn_start_value(mirror);
    condition = g.txn_start_condition(mirror);
  } else if (condition.state == FieldState::failed) {
    condition.cause = mirror;  // the same node on its owner
  } else if (condition.state == FieldState::blocked && (condition.cause == mirror || condition.cause >= g.values.size())) {
    return Status(StatusCode::invalid_argument, g.name_of(mirror) + ": a blocked condition naming no other field (#" +
                                                    std::to_string(condition.cause) + ")");
  } else if (condition.state == FieldState::ok) {
    condition = FieldCondition{};
  }
  if (!(g.values[mirror] == value)) {
    g.journal_value(mirror);
    g.values[mirror] = std::move(value);
    g.nodes[mirror].changed_at = s;
  }
  if (condition.state != FieldState::ok || !g.conditions.empty()) [[unlikely]] {
    const auto it = g.conditions.find(mirror);
    if (it == g.conditions.end() ? condition.state != FieldState::ok : !(it->second == condition)) {
      g.set_condition(mirror, std::move(condition));
      g.nodes[mirror].changed_at = s;
    }
  }
  return Status::ok();
}

std::size_t Graph::pending_count() const { return state().waiting_for.size(); }
std::optional<CommitPreview> Graph::preview_commit() const { return state().preview_commit(); }
std::span<const NodeId> Graph::pending() const {
  const GraphState& g = state();
  g.waiting_view.clear();
  for (const auto& [field, key] : g.waiting_for) g.waiting_view.push_back(field);
  std::sort(g.waiting_view.begin(), g.waiting_view.end());
  return g.waiting_view;
}

// ---- Observers ----

ObserverId Graph::observe(NodeId node, Observer observer) {
  GraphState& g = mut();
  MG_ASSERT(node < g.values.size());
  g.set(node, kObserved);
  if (g.has(node, kStale) && !g.is_variable(node)) {
    // A stale lazy field becomes eager: the next commit must compute it.
    g.forced.push_back(node);
  }
  const ObserverId id = next_observer_id_++;
  if (node >= observer_list_of_.size()) observer_list_of_.resize(std::size_t{node} + 1, 0);
  if (observer_list_of_[node] == 0) {
    if (free_observer_lists_.empty()) {
      observer_lists_.emplace_back();
      observer_list_of_[node] = static_cast<std::uint32_t>(observer_lists_.size());
    } else {
      observer_list_of_[node] = free_observer_lists_.back() + 1;
      free_observer_lists_.pop_back();
    }
  }
  observers_of(node)->emplace_back(id, std::make_shared<const Observer>(std::move(observer)));
  observer_nodes_.emplace(id, node);
  return id;
}

void Graph::unobserve(ObserverId id) {
  auto where = observer_nodes_.find(id);
  if (where == observer_nodes_.end()) return;
  const NodeId node = where->second;
  observer_nodes_.erase(where);
  ObserverList& list = *observers_of(node);
  list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& e) { return e.first == id; }),
             list.end());
  if (list.empty()) {
    list.shrink_to_fit();
    free_observer_lists_.push_back(observer_list_of_[node] - 1);
    observer_list_of_[node] = 0;
    mut().clear(node, kObserved);
  }
}

// ---- Introspection ----

std::span<const NodeId> Graph::last_changed() const { return state().last_changed; }

std::size_t Graph::memory_bytes() const {
  const GraphState& g = state();
  return g.values.capacity() * sizeof(Value) + g.nodes.capacity() * sizeof(NodeRecord) +
         g.edges.bytes() +
         // transaction scratch kept between commits
         g.journal.values.capacity() * sizeof(JournalEntry) + g.marked.capacity() * sizeof(NodeId) +
         g.queue.capacity() * sizeof(NodeId) + g.last_changed.capacity() * sizeof(NodeId) +
         g.freshened.capacity() * sizeof(Freshened) + g.mark_stack.capacity() * sizeof(NodeId) +
         g.lean_scheduled.capacity() * sizeof(GraphState::LeanEntry) +
         g.lean_levels.capacity() * sizeof(GraphState::LeanLevel) +
         g.lean_height_bits.capacity() * sizeof(std::uint64_t) +
         g.kernel_inputs.capacity() * sizeof(double) +
         (g.lean_layers[0].capacity() + g.lean_layers[1].capacity()) * sizeof(NodeId) +
         g.lean_plans.bytes() + g.lean_sources.capacity() * sizeof(NodeId) +
         g.lean_changed.capacity() + g.lean_staged.capacity() * sizeof(GraphState::StagedDouble);
}

const char* field_state_name(FieldState state) {
  switch (state) {
    case FieldState::ok: return "ok";
    case FieldState::failed: return "failed";
    case FieldState::blocked: return "blocked";
  }
  return "unknown";
}

FieldCondition Graph::condition(NodeId node) const {
  const GraphState& g = state();
  MG_ASSERT_MSG(node < g.values.size(), "condition() of a node that does not exist");
  const auto it = g.conditions.find(node);
  if (it == g.conditions.end()) return FieldCondition{};
  FieldCondition c = it->second;
  if (c.state == FieldState::blocked) c.reason = g.reason_of_cause(c.cause);
  return c;
}

std::size_t Graph::failed_count() const { return state().conditions.size(); }

std::uint64_t Graph::formula_failures() const { return state().formula_failures; }

std::uint64_t Graph::formulas_computed() const { return state().computed_count; }

Status Graph::check_invariants() const {
  const GraphState& g = state();
  const std::size_t n = g.values.size();
  std::unordered_map<std::uint64_t, int> edge_balance;
  for (NodeId x = 0; x < n; ++x) {
    const std::string where = g.name_of(x);
    if (g.is_variable(x) && g.height(x) != 0) {
      return Status(StatusCode::internal, "variable " + where + " has height " + std::to_string(g.height(x)));
    }
    for (NodeId d : g.deps_of(x)) {
      if (g.height(x) <= g.height(d)) {
        return Status(StatusCode::internal, "invariant 1: " + where + " (height " + std::to_string(g.height(x)) +
                                                ") is not above its input " + g.name_of(d) + " (height " +
                                                std::to_string(g.height(d)) + ")");
      }
      ++edge_balance[(std::uint64_t{d} << 32) | x];
    }
    for (NodeId r : g.rdeps_of(x)) --edge_balance[(std::uint64_t{x} << 32) | r];
    if (g.has(x, kStale) && g.nodes[x].computed_at != 0) {
      for (NodeId r : g.rdeps_of(x)) {
        if (!g.has(r, kStale)) {
          return Status(StatusCode::internal, "invariant 2: " + where + " is stale but its dependent " +
                                                  g.name_of(r) + " is not");
        }
      }
      if (!g.txn_open && g.is_eager(x) && g.nodes[x].computed_at != 0) {
        return Status(StatusCode::internal, "invariant 3: eager " + where + " is stale outside a transaction");
      }
    }
    if (!g.txn_open && (g.has(x, kVisiting) || g.has(x, kWritten))) {
      return Status(StatusCode::internal, "transaction flags left on " + where + " outside a transaction");
    }
  }
  for (const auto& [x, c] : g.conditions) {
    const std::string where = g.name_of(x);
    if ((g.is_variable(x) && !g.is_mirror(x)) || c.state == FieldState::ok) {
      return Status(StatusCode::internal, "invariant 6: " + where + " has a condition entry but is " +
                                              (c.state == FieldState::ok ? "ok" : "a variable"));
    }
    if (c.state == FieldState::failed && c.cause != x) {
      return Status(StatusCode::internal, "invariant 6: failed " + where + " names another cause");
    }
    if (c.state == FieldState::blocked) {
      if (c.cause == x || c.cause >= n) {
        return Status(StatusCode::internal, "invariant 6: blocked " + where + " names a bad cause");
      }
      const auto cause = g.conditions.find(c.cause);
      const bool cause_failed = cause != g.conditions.end() && cause->second.state == FieldState::failed;
      // A cause with no condition here lives on another partition: a mirror names it.
      bool remote = cause == g.conditions.end() && g.is_mirror(x);
      for (const auto& [m, mc] : g.conditions) remote = remote || (g.is_mirror(m) && mc.cause == c.cause);
      if (!g.txn_open && !g.has(x, kStale) && g.is_eager(x) && !cause_failed && !remote) {
        return Status(StatusCode::internal, "invariant 6: " + where + " is blocked by " +
                                                g.name_of(c.cause) + ", which is not failed");
      }
    }
  }
  if (!g.txn_open && !g.kept.empty()) {
    return Status(StatusCode::internal, "invariant 5: " + g.name_of(*g.kept.begin()) +
                                            " is kept if possible outside a transaction");
  }
  for (const auto& [edge, balance] : edge_balance) {
    if (balance != 0) {
      return Status(StatusCode::internal, "invariant 4: edge " + g.name_of(static_cast<NodeId>(edge & 0xffffffff)) +
                                              " -> " + g.name_of(static_cast<NodeId>(edge >> 32)) +
                                              " is listed unevenly in dependencies and dependents");
    }
  }
  return Status::ok();
}

void Graph::set_stamp_for_testing(std::uint32_t stamp) {
  GraphState& g = mut();
  MG_ASSERT(!g.txn_open);
  for (NodeId x = 0; x < g.values.size(); ++x) {
    MG_ASSERT_MSG(!g.has(x, kStale) || g.nodes[x].computed_at == 0, "stale nodes carry stamp order");
    g.nodes[x].changed_at = std::min(g.nodes[x].changed_at, stamp);
    if (g.nodes[x].computed_at != 0) g.nodes[x].computed_at = stamp;
  }
  g.clamp_history_stamps(stamp);
  g.stamp = stamp;
}

}  // namespace mgraph

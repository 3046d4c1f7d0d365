// Store: accumulators (AggregateDef). Those over sources the Store writes are variables
// updated from mutation events; those over computed sources are incremental fields that
// the engine feeds with the sources' changes. Memberships and min/max multisets are
// journaled as operations, and the inputs of incremental fields follow the memberships.

#include <algorithm>

#include "mgraph/graph/schema/store.hpp"
#include "ops.hpp"

namespace mgraph::schema {
namespace {

bool is_bag(const AggregateDef& a) { return a.kind == AccKind::min || a.kind == AccKind::max; }

/// What a member's value adds to an integer accumulator: an int as it is, a bool 1 if true.
std::int64_t int_part(const Value& v) {
  return v.is_int() ? v.as_int() : (v.is_bool() && v.as_bool() ? 1 : 0);
}

Value bag_best(const AggregateDef& a, bool found, double best) {
  if (!found) return Value();
  return a.type == Type::real ? Value(best) : Value(ops::saturating_int(best));
}

}  // namespace

Value Store::initial_of(const AggregateDef& a) {
  if (is_bag(a)) return Value();  // no members: no least or greatest value
  return a.type == Type::real ? Value(0.0) : Value(std::int64_t{0});
}

void Store::build_accumulators() {
  const auto& ents = schema_->entities;
  acc_specs_.resize(ents.size());
  for (std::uint32_t ei = 0; ei < ents.size(); ++ei) watchers_[ei].resize(ents[ei].local_count);
  for (std::uint32_t ei = 0; ei < ents.size(); ++ei) {
    const EntityDef& e = ents[ei];
    acc_specs_[ei].assign(e.aggregates.size(), 0);
    for (std::uint32_t k = 0; k < e.aggregates.size(); ++k) {
      const AggregateDef& a = e.aggregates[k];
      const RelationDef& rel = e.relations[a.relation];
      if (a.computed) {
        FieldSpec spec;
        spec.name = e.name + "." + a.name;
        spec.dependencies = Dependencies::incremental;
        if (is_bag(a)) {
          spec.formula = [this, ei, k](Context& c) { return incremental_bag(c, ei, k); };
        } else {
          spec.formula = [this, &a](Context& c) { return incremental_sum(c, a); };
        }
        acc_specs_[ei][k] = graph_.add_spec(std::move(spec));
        continue;
      }
      if (a.kind == AccKind::members) continue;
      watchers_[rel.target][a.source].push_back({ei, k, rel.inverse});
      if (a.weight != kNone && a.weight != a.source)
        watchers_[rel.target][a.weight].push_back({ei, k, rel.inverse});
    }
  }
}

// ---- Variables the Store keeps from mutation events ----

[[gnu::always_inline]] inline void Store::add_to_acc(RecordId owner, const Record& o,
                                                     const AggregateDef& a, const Value& old_v,
                                                     const Value& new_v) {
  const NodeId n = node(o, a.local);
  const Value cur = current(n);
  Value next = a.type == Type::integer
                   ? Value(ops::sub_wrapping(ops::add_wrapping(cur.as_int(), int_part(new_v)),
                                             int_part(old_v)))
                   : Value(cur.as_double() + ops::num(new_v) - ops::num(old_v));
  if (watchers_[o.entity][a.local].empty()) {
    // The common case, a sum nothing accumulates further: written as it is (an unchanged
    // value is no change to the engine either).
    MG_ASSERT(write(n, std::move(next)).is_ok());
    return;
  }
  set_acc(owner, o, a, n, cur, std::move(next));
}

void Store::notify(RecordId id, std::uint32_t local, const Value& old_v, const Value& new_v) {
  const Record& r = records_[id - 1];
  const std::vector<Watcher>& ws = watchers_[r.entity][local];
  if (ws.empty()) return;
  const EntityDef& e = schema_->entities[r.entity];
  auto change = [&](RecordId owner, std::uint32_t agg) {
    const Record& o = records_[owner - 1];
    const AggregateDef& a = schema_->entities[o.entity].aggregates[agg];
    if (a.kind == AccKind::sum) {
      add_to_acc(owner, o, a, old_v, new_v);  // the common case, without the dispatch
    } else {
      acc_change(owner, agg, id, local, old_v, new_v);
    }
  };
  for (const Watcher& w : ws) {
    if (e.relations[w.inverse].many) {
      // Accumulators change no membership, so the list stays as it is while we walk it.
      for (RecordId o : r.extra->members[w.inverse]) change(o, w.aggregate);
    } else {
      const Value o = current(node(r, e.relation_local(w.inverse)));
      if (o.is_int()) change(static_cast<RecordId>(o.as_int()), w.aggregate);
    }
  }
}

void Store::write_acc(RecordId owner, std::uint32_t agg, const Value& old, Value v) {
  const Record& o = records_[owner - 1];
  const AggregateDef& a = schema_->entities[o.entity].aggregates[agg];
  set_acc(owner, o, a, node(o, a.local), old, std::move(v));
}

inline void Store::set_acc(RecordId owner, const Record& o, const AggregateDef& a, NodeId n,
                           const Value& old, Value v) {
  if (old == v) return;
  if (watchers_[o.entity][a.local].empty()) {
    MG_ASSERT(write(n, std::move(v)).is_ok());
    return;
  }
  MG_ASSERT(write(n, v).is_ok());
  notify(owner, a.local, old, v);  // the accumulators of nested patterns over this one
}

Value Store::acc_value(RecordId owner, std::uint32_t agg) const {
  const Record& o = records_[owner - 1];
  return current(node(o, schema_->entities[o.entity].aggregates[agg].local));
}

void Store::acc_join(RecordId owner, std::uint32_t agg, RecordId member, int sign) {
  const Record& o = records_[owner - 1];
  const AggregateDef& a = schema_->entities[o.entity].aggregates[agg];
  MG_ASSERT(!a.computed);
  const Record& m = records_[member - 1];
  switch (a.kind) {
    case AccKind::members: {
      const Value cur = acc_value(owner, agg);
      write_acc(owner, agg, cur, Value(cur.as_int() + sign));
      return;
    }
    case AccKind::min:
    case AccKind::max: {
      const Value v = current(node(m, a.source));
      if (v.is_null()) return;  // an inner multiset without members: nothing to add
      bag_op(owner, agg, ops::num(v), sign > 0);
      refresh_bag_value(owner, agg);
      return;
    }
    case AccKind::product: {
      const double p = ops::num(current(node(m, a.source))) * ops::num(current(node(m, a.weight)));
      const Value cur = acc_value(owner, agg);
      write_acc(owner, agg, cur, Value(cur.as_double() + sign * p));
      return;
    }
    default: {
      const Value v = current(node(m, a.source));
      add_to_acc(owner, o, a, sign > 0 ? Value() : v, sign > 0 ? v : Value());
    }
  }
}

void Store::acc_change(RecordId owner, std::uint32_t agg, RecordId member, std::uint32_t local,
                       const Value& old_v, const Value& new_v) {
  const Record& o = records_[owner - 1];
  const AggregateDef& a = schema_->entities[o.entity].aggregates[agg];
  switch (a.kind) {
    case AccKind::min:
    case AccKind::max:
      if (!old_v.is_null()) bag_op(owner, agg, ops::num(old_v), false);
      if (!new_v.is_null()) bag_op(owner, agg, ops::num(new_v), true);
      refresh_bag_value(owner, agg);
      return;
    case AccKind::product: {
      // One factor changed (or both, for wavg(x, x)); the other is read as it is now.
      const Record& m = records_[member - 1];
      auto factor = [&](std::uint32_t l, const Value& changed) {
        return l == local ? ops::num(changed) : ops::num(current(node(m, l)));
      };
      const double delta = factor(a.source, new_v) * factor(a.weight, new_v) -
                           factor(a.source, old_v) * factor(a.weight, old_v);
      const Value cur = acc_value(owner, agg);
      write_acc(owner, agg, cur, Value(cur.as_double() + delta));
      return;
    }
    default:
      add_to_acc(owner, o, a, old_v, new_v);
  }
}

void Store::bag_op(RecordId owner, std::uint32_t agg, double v, bool insert) {
  const Op op{false, insert, owner, agg, 0, v};
  apply(op, true);
  pending_.push_back(op);
}

void Store::refresh_bag_value(RecordId owner, std::uint32_t agg) {
  Record& o = records_[owner - 1];
  const AggregateDef& a = schema_->entities[o.entity].aggregates[agg];
  const auto& bag = o.extra->bags[agg];
  const Value cur = acc_value(owner, agg);
  if (bag.empty()) {
    write_acc(owner, agg, cur, Value());
    return;
  }
  write_acc(owner, agg, cur,
            bag_best(a, true, a.kind == AccKind::min ? bag.begin()->first : bag.rbegin()->first));
}

// ---- Memberships ----

Status Store::add_inputs(RecordId a, std::uint32_t rel, RecordId b, std::uint32_t inverse) {
  if (!deferred_bags_.empty() && !graph_.in_transaction()) clear_deferred_bags();
  std::vector<std::pair<NodeId, NodeId>> added;
  auto add = [&](RecordId owner, std::uint32_t relation, RecordId member) {
    if (!owns(owner)) return Status::ok();  // its accumulators are mirrors here
    const Record& o = records_[owner - 1];
    const Record& m = records_[member - 1];
    for (const AggregateDef& g : schema_->entities[o.entity].aggregates) {
      if (!g.computed || g.relation != relation) continue;
      const NodeId x = node(o, g.local), in = node(m, g.source);
      if (Status s = graph_.add_input(x, in); !s.is_ok()) return s;
      added.emplace_back(x, in);
    }
    return Status::ok();
  };
  Status s = add(a, rel, b);
  if (s.is_ok()) s = add(b, inverse, a);
  if (!s.is_ok()) {
    // Added and removed in one transaction: the fields see no change.
    for (auto it = added.rbegin(); it != added.rend(); ++it)
      MG_ASSERT(graph_.remove_input(it->first, it->second).is_ok());
  }
  return s;
}

void Store::join(RecordId owner, std::uint32_t rel, RecordId member, int sign) {
  const Record& o = records_[owner - 1];
  const auto& aggs = schema_->entities[o.entity].aggregates;
  for (std::uint32_t g = 0; g < aggs.size(); ++g) {
    if (aggs[g].relation != rel) continue;
    if (!aggs[g].computed) {
      acc_join(owner, g, member, sign);
    } else if (sign < 0 && owns(owner)) {  // add_inputs added it before the link
      const NodeId in = node(records_[member - 1], aggs[g].source);
      MG_ASSERT(graph_.remove_input(node(o, aggs[g].local), in).is_ok());
    }
  }
}

void Store::join_self(RecordId id, std::uint32_t rel, std::uint32_t inverse) {
  const Record& r = records_[id - 1];
  const auto& aggs = schema_->entities[r.entity].aggregates;
  for (std::uint32_t g = 0; g < aggs.size(); ++g) {
    if ((aggs[g].relation == rel || aggs[g].relation == inverse) && !aggs[g].computed)
      acc_join(id, g, id, 1);
  }
}

void Store::restore(const std::vector<Op>& ops, bool forward) {
  restore(ops, forward, true);
  restore(ops, forward, false);
}

void Store::restore(const std::vector<Op>& ops, bool forward, bool removals) {
  edge_scratch_.clear();
  auto one = [&](const Op& op) {
    if (!removals) apply(op, forward);
    if (!op.membership) return;
    if (!owns(op.record)) return;  // its computed accumulators are mirrors here
    const Record& r = records_[op.record - 1];
    for (const AggregateDef& a : schema_->entities[r.entity].aggregates) {
      if (!a.computed || a.relation != op.index) continue;
      edge_scratch_.push_back(EdgeChange{node(r, a.local), node(records_[op.other - 1], a.source),
                                         forward == op.insert});
    }
  };
  if (forward) {
    for (const Op& op : ops) one(op);
  } else {
    for (std::size_t i = ops.size(); i-- > 0;) one(ops[i]);
  }
  if (edge_scratch_.empty()) return;
  // A pair's changes alternate, so only the net one matters. Removals go first: every
  // structure on the way is then part of the final one, which was acyclic.
  std::stable_sort(edge_scratch_.begin(), edge_scratch_.end(),
                   [](const EdgeChange& x, const EdgeChange& y) {
                     return x.node != y.node ? x.node < y.node : x.input < y.input;
                   });
  for (std::size_t i = 0; i < edge_scratch_.size();) {
    std::size_t j = i;
    while (j < edge_scratch_.size() && edge_scratch_[j].node == edge_scratch_[i].node &&
           edge_scratch_[j].input == edge_scratch_[i].input) {
      ++j;
    }
    const EdgeChange first = edge_scratch_[i], last = edge_scratch_[j - 1];
    if (first.present == last.present && (j - i) % 2 == 1 && last.present != removals)
      MG_ASSERT(graph_.restore_input(last.node, last.input, last.present).is_ok());
    i = j;
  }
  edge_scratch_.clear();
}

// ---- Incremental accumulators (computed sources) ----

Value Store::incremental_sum(Context& c, const AggregateDef& a) {
  values_read_ += 1 + c.changes().size();
  const Value& prev = c.self();
  if (a.type == Type::integer) {
    std::int64_t s = prev.is_int() ? prev.as_int() : 0;
    for (const InputChange& ch : c.changes()) {
      if (a.kind == AccKind::present) {
        s += (ch.is_input && !ch.new_value.is_null() ? 1 : 0) -
             (ch.was_input && !ch.old_value.is_null() ? 1 : 0);
        continue;
      }
      if (ch.was_input) s = ops::sub_wrapping(s, int_part(ch.old_value));
      if (ch.is_input) s = ops::add_wrapping(s, int_part(ch.new_value));
    }
    return Value(s);
  }
  double s = prev.is_double() ? prev.as_double() : 0.0;
  for (const InputChange& ch : c.changes()) {
    if (ch.was_input) s -= ops::num(ch.old_value);
    if (ch.is_input) s += ops::num(ch.new_value);
  }
  return Value(s);
}

Value Store::incremental_bag(Context& c, std::uint32_t entity, std::uint32_t agg) {
  const AggregateDef& a = schema_->entities[entity].aggregates[agg];
  const NodeId x = c.node();
  values_read_ += 1 + c.changes().size();
  DeferredBag d{x, owner_[x], agg, {}, {}};
  for (const InputChange& ch : c.changes()) {
    if (ch.was_input && !ch.old_value.is_null()) d.removed.push_back(ops::num(ch.old_value));
    if (ch.is_input && !ch.new_value.is_null()) d.added.push_back(ops::num(ch.new_value));
  }
  std::sort(d.removed.begin(), d.removed.end());
  // The multiset is as the transaction found it: its best value that was not removed,
  // against the added ones. Each value skipped is one removed: O(changes * log n).
  const auto& bag = records_[d.owner - 1].extra->bags[agg];
  const bool is_min = a.kind == AccKind::min;
  bool found = false;
  double best = 0;
  auto first_kept = [&](auto it, auto end) {
    for (; it != end; ++it) {
      const auto r = std::equal_range(d.removed.begin(), d.removed.end(), it->first);
      if (it->second > static_cast<std::uint32_t>(r.second - r.first)) {
        found = true;
        best = it->first;
        return;
      }
    }
  };
  if (is_min) {
    first_kept(bag.begin(), bag.end());
  } else {
    first_kept(bag.rbegin(), bag.rend());
  }
  for (double v : d.added) {
    if (!found || (is_min ? v < best : v > best)) best = v;
    found = true;
  }
  // Outside a transaction only a record whose creation was undone computes (read
  // directly): it has no members, and nothing is left for a commit to apply.
  if (!graph_.in_transaction()) return bag_best(a, found, best);
  // A later computation in this transaction replaces this one's changes.
  const auto [it, fresh] =
      deferred_index_.try_emplace(x, static_cast<std::uint32_t>(deferred_bags_.size()));
  if (fresh) {
    deferred_bags_.push_back(std::move(d));
  } else {
    deferred_bags_[it->second] = std::move(d);
  }
  return bag_best(a, found, best);
}

void Store::apply_deferred_bags() {
  for (const DeferredBag& d : deferred_bags_) {
    // A computation that a later write took back (and that did not run again) found
    // nothing: the inputs are as the transaction began.
    if (!graph_.ran_in_transaction(d.node)) continue;
    for (double v : d.removed) bag_op(d.owner, d.aggregate, v, false);
    for (double v : d.added) bag_op(d.owner, d.aggregate, v, true);
  }
  clear_deferred_bags();
}

void Store::clear_deferred_bags() {
  deferred_bags_.clear();
  deferred_index_.clear();
}

}  // namespace mgraph::schema

#include "mgraph/actors/partitioned.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "mgraph/graph/assert.hpp"

namespace mgraph::actors {

using session::OpKind;
using session::OpResult;

PartitionedDocuments::PartitionedDocuments(std::shared_ptr<const schema::Schema> schema,
                                           Options options)
    : options_(std::move(options)) {
  MG_ASSERT(options_.partitions >= 1);
  for (std::uint32_t p = 0; p < options_.partitions; ++p) {
    schema::StoreOptions so;
    so.history_limit = options_.history_limit;
    so.placement = schema::Placement{p, options_.partitions, options_.salt};
    stores_.push_back(std::make_unique<schema::Store>(schema, so));
    executors_.push_back(std::make_unique<session::StoreExecutor>(*stores_.back()));
  }
}

session::BatchResult PartitionedDocuments::run(const session::Batch& batch) {
  session::BatchResult results;
  results.reserve(batch.size());
  for (const session::Op& op : batch) results.push_back(apply(op, results));
  if (in_transaction()) reject_all();
  return results;
}

OpResult PartitionedDocuments::apply(const session::Op& op, const session::BatchResult& earlier) {
  if (partitions() == 1) return executors_[0]->apply(op, earlier);
  switch (op.kind) {
    case OpKind::commit:
    case OpKind::undo:
    case OpKind::redo:
      return transition(op, earlier);
    case OpKind::get:
    case OpKind::explain: {
      // A malformed op gets the executor's answer, alike everywhere.
      if (op.refs.size() != session::refs_of(op.kind)) return executors_[0]->apply(op, earlier);
      OpResult out;
      Result<session::RecordId> id = session::StoreExecutor::resolve(op.refs[0], earlier);
      if (!id.is_ok()) {
        out.status = id.status();
        return out;
      }
      const std::uint32_t owner = owner_of(*id);
      schema::Store& store = *stores_[owner];
      // A read that names nothing fails before it computes anything, as in one Store, and
      // an input's value needs no computation.
      bool computed = false;
      if (store.exists(*id)) {
        const Result<NodeId> node = store.node_of(*id, op.name);
        computed = node.is_ok() && !store.graph().is_variable(*node);
      }
      if (computed) {
        if (Status s = settle_for_read(); !s.is_ok()) {
          out.status = s;
          return out;
        }
      }
      return executors_[owner]->apply(op, earlier);
    }
    case OpKind::dot: {
      OpResult out;
      if (Status s = settle_for_read(); !s.is_ok()) {
        out.status = s;
        return out;
      }
      std::vector<schema::Store::DotParts> parts;
      for (auto& store : stores_) parts.push_back(store->dot_parts());
      out.text = schema::Store::merge_dot(parts);
      return out;
    }
    case OpKind::link: {
      // Only the owners hold the accumulators a link adds inputs to, so only they can
      // tell that it closes a cycle: they check first, and a refused link goes nowhere.
      if (op.refs.size() != 2) return everywhere(op, earlier);
      Result<session::RecordId> a = session::StoreExecutor::resolve(op.refs[0], earlier);
      Result<session::RecordId> b = session::StoreExecutor::resolve(op.refs[1], earlier);
      if (!a.is_ok() || !b.is_ok()) return everywhere(op, earlier);
      for (const session::RecordId id : {*a, *b}) {
        const std::uint32_t owner = owner_of(id);
        if (Status s = stores_[owner]->check_link(*a, op.name, *b); !s.is_ok()) {
          // A refused link may have opened the transaction (inputs added before the one
          // that closed the cycle): then it is open everywhere.
          if (stores_[owner]->graph().in_transaction()) {
            for (auto& store : stores_) store->graph().begin();
          }
          OpResult out;
          out.status = s;
          return out;
        }
      }
      return everywhere(op, earlier);
    }
    default:
      return everywhere(op, earlier);
  }
}

OpResult PartitionedDocuments::everywhere(const session::Op& op,
                                          const session::BatchResult& earlier) {
  OpResult first = executors_[0]->apply(op, earlier);
  for (std::uint32_t p = 1; p < partitions(); ++p) {
    const OpResult other = executors_[p]->apply(op, earlier);
    if (other.status == first.status && other.created == first.created) continue;
    // Inputs are applied alike everywhere: a difference is a defect, never an answer.
    OpResult out;
    out.status = Status(StatusCode::internal,
                        std::string("partitions disagree on a ") + session::op_kind_name(op.kind) +
                            ": partition 0 says '" + first.status.message() + "', partition " +
                            std::to_string(p) + " '" + other.status.message() + "'");
    return out;
  }
  return first;
}

OpResult PartitionedDocuments::transition(const session::Op& op,
                                          const session::BatchResult& earlier) {
  // A commit computes what is new even with no transaction open: fields of a record whose
  // creation was rejected still compute at the next commit, as in one Store.
  if (op.kind == OpKind::commit) {
    if (Status s = stabilize(); !s.is_ok()) {
      OpResult out;
      out.status = Status(s.code(), s.message() + "; the transaction was rolled back");
      return out;
    }
  }
  OpResult out = everywhere(op, earlier);
  if (!out.status.is_ok()) return out;
  out.changed = 0;
  for (const auto& store : stores_) out.changed += store->owned_changed();
  return out;
}

std::uint32_t PartitionedDocuments::owner_of(session::RecordId id) const {
  return schema::Placement::partition_of(id, partitions(), options_.salt);
}

Status PartitionedDocuments::settle_for_read() {
  return in_transaction() ? stabilize() : Status::ok();
}

bool PartitionedDocuments::in_transaction() const {
  for (const auto& store : stores_) {
    if (store->graph().in_transaction()) return true;
  }
  return false;
}

void PartitionedDocuments::reject_all() {
  queue_.clear();
  for (auto& store : stores_) store->reject();
}

void PartitionedDocuments::broadcast(std::uint32_t from, const std::vector<NodeId>& stale) {
  for (const NodeId n : stale) {
    for (std::uint32_t q = 0; q < partitions(); ++q) {
      if (q == from) continue;
      queue_.push_back(Message{q, false, n, false, Value()});
      ++traffic_.marks;
    }
  }
}

void PartitionedDocuments::broadcast(std::uint32_t from, const std::vector<Resolution>& resolved) {
  for (const Resolution& r : resolved) {
    for (std::uint32_t q = 0; q < partitions(); ++q) {
      if (q == from) continue;
      queue_.push_back(Message{q, true, r.node, r.changed, r.value});
      ++traffic_.resolutions;
    }
  }
}

PartitionedDocuments::Message PartitionedDocuments::take() {
  MG_ASSERT(!queue_.empty());
  std::size_t i = 0;
  if (options_.choose) {
    i = options_.choose(queue_.size());
    MG_ASSERT(i < queue_.size());
  }
  Message m = std::move(queue_[i]);
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
  return m;
}

Status PartitionedDocuments::stabilize() {
  queue_.clear();
  auto fail = [this](Status s) {
    reject_all();
    return s;
  };
  // Mark: every partition's own writes, then the Marks they cause, until none is left.
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    stale_scratch_.clear();
    if (Status s = stores_[p]->graph().mark(&stale_scratch_); !s.is_ok()) return fail(s);
    broadcast(p, stale_scratch_);
  }
  while (!queue_.empty()) {
    const Message m = take();
    MG_ASSERT(!m.resolve);
    stale_scratch_.clear();
    if (Status s = stores_[m.to]->graph().mark_mirror(m.node, &stale_scratch_); !s.is_ok())
      return fail(s);
    broadcast(m.to, stale_scratch_);
  }
  // Compute: what no mirror holds back, then whatever each Resolve releases.
  for (std::uint32_t p = 0; p < partitions(); ++p) {
    resolved_scratch_.clear();
    if (Status s = stores_[p]->graph().compute(&resolved_scratch_); !s.is_ok()) return fail(s);
    broadcast(p, resolved_scratch_);
  }
  while (!queue_.empty()) {
    Message m = take();
    MG_ASSERT(m.resolve);
    Graph& g = stores_[m.to]->graph();
    if (Status s = g.resolve_mirror(m.node, m.changed, std::move(m.value)); !s.is_ok())
      return fail(s);
    resolved_scratch_.clear();
    if (Status s = g.compute(&resolved_scratch_); !s.is_ok()) return fail(s);
    broadcast(m.to, resolved_scratch_);
  }
  // Fields still waiting wait on one another through other partitions.
  std::vector<std::pair<NodeId, std::string>> waiting;
  for (const auto& store : stores_) {
    for (const NodeId n : store->graph().pending()) waiting.emplace_back(n, store->graph().name(n));
  }
  if (waiting.empty()) return Status::ok();
  std::sort(waiting.begin(), waiting.end());
  std::string names;
  for (const auto& [n, name] : waiting) names += (names.empty() ? "" : ", ") + name;
  return fail(Status(StatusCode::cycle, "dependency cycle across partitions among " + names));
}

}  // namespace mgraph::actors

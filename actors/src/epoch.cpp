#include "mgraph/actors/epoch.hpp"

#include <algorithm>
#include <utility>

#include "mgraph/graph/assert.hpp"
#include "mgraph/graph/hash.hpp"

namespace mgraph::actors {

// ---- CreditCounter ----

void CreditCounter::add(std::uint32_t exponent) {
  MG_ASSERT_MSG(!whole_, "credit returned beyond the whole");
  // Adding 2^-k to a binary fraction: set bit k, carrying towards 2^0 = 1.
  for (std::uint32_t k = exponent; k > 0; --k) {
    if (bits_.size() <= k) bits_.resize(k + 1, false);
    if (!bits_[k]) {
      bits_[k] = true;
      return;
    }
    bits_[k] = false;
  }
  whole_ = true;
}

void CreditCounter::reset() {
  bits_.clear();
  whole_ = false;
}

namespace {

/// Shares that sum to 1 for `n` messages: 2^-1, 2^-2, ..., 2^-(n-1), 2^-(n-1).
std::vector<std::uint32_t> split_whole(std::size_t n) {
  std::vector<std::uint32_t> shares;
  for (std::size_t i = 1; i < n; ++i) shares.push_back(static_cast<std::uint32_t>(i));
  shares.push_back(static_cast<std::uint32_t>(n == 0 ? 0 : n - 1));
  return shares;
}

}  // namespace

// ---- FieldValueDigest ----

void FieldValueDigest::add(FieldId field, const Value& value) {
  // Over the field id and the value's JSON; summed, so the order does not matter.
  sum_ += Fnv1a64().u64(field).bytes(value.to_json()).value();
}

// ---- PartitionCore ----

std::uint64_t PartitionCore::digest() const {
  FieldValueDigest d;
  for (const auto& [field, node] : layout_.owned) d.add(field, graph_.committed(node));
  return d.value();
}

PartitionCore::PartitionCore(PartitionId id, Graph graph, PartitionLayout layout)
    : id_(id), graph_(std::move(graph)), layout_(std::move(layout)) {
  MG_ASSERT(!graph_.in_transaction());
  for (const auto& [field, node] : layout_.owned) field_of_.emplace(node, field);
  for (const auto& [field, node] : layout_.mirrors) mirror_field_.emplace(node, field);
}

std::uint32_t PartitionCore::split_credit() {
  MG_ASSERT_MSG(!credit_.empty(), "a partition sends only while it holds credit");
  // Halve the smallest share: keep one half, send the other.
  const std::uint32_t k = credit_.back() + 1;
  credit_.back() = k;
  return k;
}

void PartitionCore::go_idle(std::vector<Message>* out, std::string reason) {
  Message idle;
  idle.kind = MessageKind::idle;
  idle.epoch = epoch_;
  idle.from = id_;
  idle.to = kCoordinator;
  idle.credit = std::move(credit_);
  idle.reason = std::move(reason);
  credit_.clear();
  out->push_back(std::move(idle));
}

const std::vector<PartitionId>* PartitionCore::subscribers_of(NodeId n, FieldId* field) const {
  const auto f = field_of_.find(n);
  if (f == field_of_.end()) return nullptr;
  const auto subs = layout_.subscribers.find(f->second);
  if (subs == layout_.subscribers.end()) return nullptr;
  *field = f->second;
  return &subs->second;
}

Message PartitionCore::to_peer(MessageKind kind, PartitionId to) {
  Message m;
  m.kind = kind;
  m.epoch = epoch_;
  m.from = id_;
  m.to = to;
  m.credit.push_back(split_credit());
  return m;
}

void PartitionCore::send_marks(const std::vector<NodeId>& stale, std::vector<Message>* out) {
  // One Mark per destination, listing every field it mirrors that became stale.
  std::map<PartitionId, std::vector<FieldId>> by_destination;
  FieldId field = 0;
  for (const NodeId n : stale) {
    const std::vector<PartitionId>* subs = subscribers_of(n, &field);
    if (subs == nullptr) continue;
    for (const PartitionId p : *subs) by_destination[p].push_back(field);
  }
  for (auto& [p, fields] : by_destination) {
    out->push_back(to_peer(MessageKind::mark, p));
    out->back().fields = std::move(fields);
  }
}

void PartitionCore::send_resolutions(const std::vector<Resolution>& resolved,
                                     std::vector<Message>* out) {
  std::map<PartitionId, std::vector<FieldResolution>> by_destination;
  FieldId field = 0;
  for (const Resolution& r : resolved) {
    const std::vector<PartitionId>* subs = subscribers_of(r.node, &field);
    if (subs == nullptr) continue;
    for (const PartitionId p : *subs)
      by_destination[p].push_back(FieldResolution{field, r.changed, r.changed ? r.value : Value()});
  }
  for (auto& [p, resolutions] : by_destination) {
    out->push_back(to_peer(MessageKind::resolve, p));
    out->back().resolutions = std::move(resolutions);
  }
}

Status PartitionCore::apply(const Message& m) {
  stale_scratch_.clear();
  resolved_scratch_.clear();
  switch (m.kind) {
    case MessageKind::begin:
      for (const FieldWrite& w : m.writes) {
        const auto it = layout_.owned.find(w.field);
        if (it == layout_.owned.end()) {
          return Status(StatusCode::not_found, "partition " + std::to_string(id_) +
                                                   " does not own field " + std::to_string(w.field));
        }
        if (Status s = graph_.write(it->second, w.value); !s.is_ok()) return s;
        // A written variable that others mirror is stale for them until the compute phase
        // says whether it changed (the engine reports only derived fields).
        if (layout_.subscribers.count(w.field) != 0 &&
            std::find(written_exported_.begin(), written_exported_.end(), it->second) ==
                written_exported_.end()) {
          written_exported_.push_back(it->second);
          stale_scratch_.push_back(it->second);
        }
      }
      return graph_.mark(&stale_scratch_);
    case MessageKind::mark:
      for (const FieldId f : m.fields) {
        const auto it = layout_.mirrors.find(f);
        if (it == layout_.mirrors.end()) {
          return Status(StatusCode::not_found, "partition " + std::to_string(id_) +
                                                   " does not mirror field " + std::to_string(f));
        }
        if (Status s = graph_.mark_mirror(it->second, &stale_scratch_); !s.is_ok()) return s;
      }
      return Status::ok();
    case MessageKind::compute:
      for (const NodeId n : written_exported_) {
        const Value& now = graph_.read(n);
        const bool changed = !(now == graph_.committed(n));
        resolved_scratch_.push_back(Resolution{n, changed, changed ? now : Value(), {}});
      }
      return graph_.compute(&resolved_scratch_);
    case MessageKind::resolve:
      for (const FieldResolution& r : m.resolutions) {
        const auto it = layout_.mirrors.find(r.field);
        if (it == layout_.mirrors.end()) {
          return Status(StatusCode::not_found, "partition " + std::to_string(id_) +
                                                   " does not mirror field " + std::to_string(r.field));
        }
        if (Status s = graph_.resolve_mirror(it->second, r.changed, r.value); !s.is_ok()) return s;
      }
      return graph_.compute(&resolved_scratch_);
    default:
      return Status(StatusCode::invalid_argument,
                    std::string("a partition does not take ") + message_kind_name(m.kind));
  }
}

void PartitionCore::handle(const Message& m, std::vector<Message>* out) {
  if (m.kind == MessageKind::commit || m.kind == MessageKind::abort) {
    if (m.epoch != epoch_) return;  // not a participant of that epoch any more
    if (m.kind == MessageKind::commit && !failed_) {
      MG_ASSERT_MSG(graph_.pending_count() == 0, "commit with fields still waiting for a mirror");
      const Result<CommitStats> c = graph_.commit();
      MG_ASSERT_MSG(c.is_ok(), "a computed epoch failed to commit");
    } else {
      graph_.abort();
    }
    epoch_ = 0;
    failed_ = false;
    failure_.clear();
    written_exported_.clear();
    return;
  }
  if (epoch_ == 0) epoch_ = m.epoch;
  credit_.insert(credit_.end(), m.credit.begin(), m.credit.end());
  if (m.epoch != epoch_) {
    go_idle(out, "partition " + std::to_string(id_) + " got epoch " + std::to_string(m.epoch) +
                     " during epoch " + std::to_string(epoch_));
    return;
  }
  if (failed_) {  // the epoch is lost here already: only give the credit back
    go_idle(out, failure_);
    return;
  }
  const Status s = apply(m);
  if (!s.is_ok()) {
    failed_ = true;
    failure_ = "partition " + std::to_string(id_) + ": " + s.message();
    go_idle(out, failure_);
    return;
  }
  send_marks(stale_scratch_, out);
  send_resolutions(resolved_scratch_, out);
  go_idle(out);
}

// ---- CoordinatorCore ----

void CoordinatorCore::begin(Epoch epoch, std::map<PartitionId, std::vector<FieldWrite>> writes,
                            std::vector<Message>* out) {
  MG_ASSERT_MSG(phase_ == Phase::none, "an epoch is already in progress");
  epoch_ = epoch;
  phase_ = Phase::mark;
  participants_.clear();
  failure_.clear();
  counter_.reset();
  if (writes.empty()) {
    finish(true, out);
    return;
  }
  const std::vector<std::uint32_t> shares = split_whole(writes.size());
  std::size_t i = 0;
  for (auto& [p, w] : writes) {
    out->push_back(to_partition(MessageKind::begin, p));
    out->back().writes = std::move(w);
    out->back().credit.push_back(shares[i++]);
  }
}

Message CoordinatorCore::to_partition(MessageKind kind, PartitionId to) const {
  Message m;
  m.kind = kind;
  m.epoch = epoch_;
  m.from = kCoordinator;
  m.to = to;
  return m;
}

void CoordinatorCore::start_phase(MessageKind kind, std::vector<Message>* out) {
  counter_.reset();
  const std::vector<std::uint32_t> shares = split_whole(participants_.size());
  std::size_t i = 0;
  for (const auto& [p, unused] : participants_) {
    (void)unused;
    out->push_back(to_partition(kind, p));
    out->back().credit.push_back(shares[i++]);
  }
}

void CoordinatorCore::finish(bool committed, std::vector<Message>* out) {
  for (const auto& [p, unused] : participants_) {
    (void)unused;
    out->push_back(to_partition(committed ? MessageKind::commit : MessageKind::abort, p));
    out->back().reason = failure_;
  }
  result_ = EpochResult{epoch_, committed, failure_, participants_.size()};
  phase_ = Phase::none;
}

void CoordinatorCore::handle(const Message& m, std::vector<Message>* out) {
  if (m.kind != MessageKind::idle || m.epoch != epoch_ || phase_ == Phase::none) return;
  participants_[m.from] = true;
  if (!m.reason.empty() && failure_.empty()) failure_ = m.reason;
  for (const std::uint32_t k : m.credit) counter_.add(k);
  if (!counter_.whole()) return;
  // Every message of the phase has been handled: nothing is in flight.
  if (!failure_.empty()) {
    finish(false, out);
  } else if (phase_ == Phase::mark) {
    phase_ = Phase::compute;
    start_phase(MessageKind::compute, out);
  } else {
    finish(true, out);
  }
}

}  // namespace mgraph::actors

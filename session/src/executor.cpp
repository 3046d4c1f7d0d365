#include "mgraph/session/executor.hpp"

#include "mgraph/graph/assert.hpp"
#include "mgraph/graph/clock.hpp"
#include "mgraph/session/classifier.hpp"

namespace mgraph::session {

Result<RecordId> StoreExecutor::resolve(const RecordRef& ref, const BatchResult& earlier) {
  for (const std::uint32_t op : ref.created_by) {
    MG_ASSERT_MSG(op < earlier.size(), "a reference to a later operation");
    if (earlier[op].status.is_ok()) return earlier[op].created;
  }
  if (ref.id != 0) return ref.id;
  return Status(StatusCode::not_found, "unknown record '" + ref.text + "'");
}

Result<RecordId> StoreExecutor::record(const RecordRef& ref, const BatchResult& earlier) const {
  Result<RecordId> id = resolve(ref, earlier);
  if (id.is_ok() && ref.text == kGlobalRef && ref.created_by.empty() &&
      store_.schema().global_entity == schema::kNone) {
    return Status(StatusCode::not_found,
                  "unknown record 'global': the schema declares no global values");
  }
  // A record named with its entity (Entity#N) must be of that entity.
  if (const std::size_t hash = ref.text.find('#');
      id.is_ok() && ref.created_by.empty() && hash != std::string::npos && hash > 0) {
    const std::string_view named = std::string_view(ref.text).substr(0, hash);
    if (const Result<std::uint32_t> e = store_.entity_of(*id); e.is_ok()) {
      const std::string& actual = store_.schema().entities[*e].name;
      if (actual != named) {
        return Status(StatusCode::not_found, "no " + std::string(named) + " #" + std::to_string(*id) + " (record #" +
                                                 std::to_string(*id) + " is of entity " + actual + ")");
      }
    }
  }
  return id;
}

OpResult StoreExecutor::apply(const Op& op, const BatchResult& earlier) {
  OpResult out;
  // Ops from the network are checked here too: a malformed one is an error, not a crash.
  if (op.kind != OpKind::invalid && op.refs.size() != refs_of(op.kind)) {
    out.status = Status(StatusCode::invalid_argument,
                        std::string("a ") + op_kind_name(op.kind) + " operation names " +
                            std::to_string(refs_of(op.kind)) + " records, not " +
                            std::to_string(op.refs.size()));
    return out;
  }
  switch (op.kind) {
    case OpKind::invalid:
      // A name that meant a record created earlier in the batch fails first, as resolving
      // it would have when the line ran.
      for (const RecordRef& ref : op.refs) {
        if (Result<RecordId> id = resolve(ref, earlier); !id.is_ok()) {
          out.status = id.status();
          return out;
        }
      }
      out.status = op.error;
      return out;
    case OpKind::get:
    case OpKind::explain:
    case OpKind::dot:
      out.status = read(op, earlier, &out);
      return out;
    default:
      out.status = mutate(op, earlier, &out);
      return out;
  }
}

BatchResult StoreExecutor::run(const Batch& batch) {
  BatchResult results;
  results.reserve(batch.size());
  for (const Op& op : batch) results.push_back(apply(op, results));
  return results;
}

void StoreExecutor::transition_result(OpResult* out) {
  out->revision = store_.graph().revision();
  out->changed = store_.graph().last_changed().size();
}

Status StoreExecutor::mutate(const Op& op, const BatchResult& earlier, OpResult* out) {
  std::vector<RecordId> ids;
  for (const RecordRef& ref : op.refs) {
    Result<RecordId> id = record(ref, earlier);
    if (!id.is_ok()) return id.status();
    ids.push_back(*id);
  }
  switch (op.kind) {
    case OpKind::create: {
      Result<RecordId> id = store_.create(op.entity, op.values);
      if (!id.is_ok()) return id.status();
      out->created = *id;
      return Status::ok();
    }
    case OpKind::update:
      return store_.update(ids.at(0), op.values, op.keep);
    case OpKind::remove:
      return store_.remove(ids.at(0));
    case OpKind::link:
      return store_.link(ids.at(0), op.name, ids.at(1), op.values);
    case OpKind::update_link:
      return store_.update_link(ids.at(0), op.name, ids.at(1), op.values);
    case OpKind::unlink:
      return store_.unlink(ids.at(0), op.name, ids.at(1));
    case OpKind::set:
      return store_.set(ids.at(0), op.name, op.value);
    case OpKind::ack:
      return store_.set(ids.at(0), op.name, Value(false));
    case OpKind::resolve: {
      if (!op.at) {
        return Status(StatusCode::invalid_argument, "a resolve operation names the request's version");
      }
      Result<bool> written = store_.resolve(ids.at(0), op.name, *op.at, op.value);
      if (!written.is_ok()) return written.status();
      out->text = *written ? "written" : "superseded";
      return Status::ok();
    }
    case OpKind::clock: {
      if (!op.value.is_int() || !(op.text.empty() || op.text == "+" || op.text == kClockTickText)) {
        return Status(StatusCode::invalid_argument,
                      "a clock operation moves the clock to, or forward by, an int of ms");
      }
      std::int64_t to = op.value.as_int();
      if (op.text == kClockTickText) {
        // A cluster's own tick: forward to `to`, or nowhere when a client moved it further.
        Result<std::int64_t> now = store_.clock();
        if (!now.is_ok()) return now.status();
        if (to <= *now) return Status::ok();
      }
      if (op.text == "+") {
        Result<std::int64_t> now = store_.clock();
        if (!now.is_ok()) return now.status();
        if (to < 0 || to > kTimeMsMax) {
          return Status(StatusCode::invalid_argument, "clock +" + std::to_string(to) +
                                                          " ms is outside the clock's range");
        }
        to += *now;
      }
      return store_.set_clock(to);
    }
    case OpKind::commit: {
      Result<CommitStats> c = store_.commit();
      if (!c.is_ok()) return c.status();
      out->revision = c->revision;
      out->changed = c->changed;
      return Status::ok();
    }
    case OpKind::reject:
      store_.reject();
      out->revision = store_.graph().revision();
      return Status::ok();
    case OpKind::undo:
    case OpKind::redo: {
      const Status s = op.kind == OpKind::undo ? store_.undo() : store_.redo();
      if (s.is_ok()) transition_result(out);
      return s;
    }
    default:
      return Status(StatusCode::internal,
                    std::string("not a mutation: ") + op_kind_name(op.kind));
  }
}

Status StoreExecutor::read(const Op& op, const BatchResult& earlier, OpResult* out) {
  if (op.kind == OpKind::dot) {
    out->text = store_.dot();
    return Status::ok();
  }
  Result<RecordId> id = record(op.refs.at(0), earlier);
  if (!id.is_ok()) return id.status();
  if (op.kind == OpKind::explain) {
    Result<std::string> e = store_.explain(*id, op.name);
    if (!e.is_ok()) return e.status();
    out->text = std::move(e).value();
    return Status::ok();
  }
  if (op.at) {
    Result<Value> v = store_.get_at(*id, op.name, *op.at);
    if (!v.is_ok()) return v.status();
    out->value = std::move(v).value();
    out->revision = *op.at;
    return Status::ok();
  }
  Result<Value> v = store_.get(*id, op.name);
  if (!v.is_ok()) return v.status();
  out->value = std::move(v).value();
  const NodeId node = store_.node_of(*id, op.name).value();
  out->version = store_.version(node);
  out->revision = store_.graph().revision();
  FieldCondition c = store_.graph().condition(node);
  out->state = c.state;
  if (c.state == FieldState::blocked) out->cause = store_.graph().name(c.cause);
  out->reason = std::move(c.reason);
  return Status::ok();
}

}  // namespace mgraph::session

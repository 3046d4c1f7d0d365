#include "mgraph/session/client.hpp"

namespace mgraph::session {

Result<RecordId> ScriptClient::record(std::string_view name) const {
  if (const std::optional<RecordId> id = record_id_of(name)) return *id;
  if (name == kGlobalRef) return schema::kGlobalRecord;
  const auto it = aliases_.find(name);
  if (it == aliases_.end())
    return Status(StatusCode::not_found, "unknown record '" + std::string(name) + "'");
  return it->second;
}

Result<std::pair<RecordId, std::string_view>> ScriptClient::field_ref(std::string_view ref_field) const {
  const std::size_t dot = ref_field.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == ref_field.size()) {
    std::string message(ref_field);
    message.append(" is not REF.field");
    return Status(StatusCode::invalid_argument, std::move(message));
  }
  Result<RecordId> id = record(ref_field.substr(0, dot));
  if (!id.is_ok()) return id.status();
  return std::make_pair(*id, ref_field.substr(dot + 1));
}

Result<RecordRef> ScriptClient::resolve(std::string_view name) const {
  RecordRef ref;
  ref.text = std::string(name);
  if (const std::optional<RecordId> id = record_id_of(name)) {
    ref.id = *id;
    return ref;
  }
  if (name == kGlobalRef) {
    // The store checks that its schema has global values (StoreExecutor).
    ref.id = schema::kGlobalRecord;
    return ref;
  }
  const auto in_batch = batch_aliases_.find(name);
  const auto known = aliases_.find(name);
  if (in_batch == batch_aliases_.end() && known == aliases_.end())
    return Status(StatusCode::not_found, "unknown record '" + ref.text + "'");
  if (known != aliases_.end()) ref.id = known->second;
  if (in_batch != batch_aliases_.end()) ref.created_by = in_batch->second;
  return ref;
}

std::size_t ScriptClient::run_line(std::string_view line, std::size_t line_no, std::string* out,
                                   AppliedBatch* applied) {
  if (!failure_.is_ok()) return 0;
  std::optional<Classified> c =
      classify(line, [this](std::string_view name) { return resolve(name); });
  if (!c) return 0;
  const OpKind kind = c->op.kind;
  if (kind == OpKind::create && !c->alias.empty()) {
    std::vector<std::uint32_t>& ops = batch_aliases_[c->alias];
    ops.insert(ops.begin(), static_cast<std::uint32_t>(batch_.size()));
  }
  if (kind == OpKind::clock && c->op.text == "now") {
    c->op.value = Value(wall_clock_());
    c->op.text.clear();
  }
  batch_.push_back(std::move(c->op));
  pending_.push_back(Pending{line_no, std::move(c->alias)});
  mutated_ = mutated_ || is_mutation(kind);
  // Embedded: every line goes at once. Connected: a transaction's lines go together, and
  // a line outside one goes alone.
  const bool send = !options_.batch_transactions || !mutated_ || ends_transaction(kind) ||
                    batch_.size() >= kBatchOpsMax;
  return send ? flush(out, applied) : 0;
}

std::size_t ScriptClient::finish(std::string* out) { return flush(out, nullptr); }

Result<BatchResult> ScriptClient::apply(const Batch& ops, const std::vector<std::string>& aliases) {
  if (!batch_.empty()) {
    return Status(StatusCode::failed_precondition,
                  "cannot apply operations while lines are batched");
  }
  if (aliases.size() != ops.size()) {
    return Status(StatusCode::invalid_argument,
                  std::to_string(aliases.size()) + " aliases for " + std::to_string(ops.size()) +
                      " operations");
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!aliases[i].empty() && ops[i].kind != OpKind::create) {
      return Status(StatusCode::invalid_argument,
                    "operation " + std::to_string(i) + " (" + op_kind_name(ops[i].kind) +
                        ") gives an alias; only a create does");
    }
  }
  Result<BatchResult> results = backend_.run(ops);
  if (!results.is_ok()) return results.status();
  if (results->size() != ops.size()) {
    return Status(StatusCode::corruption,
                  "the backend answered " + std::to_string(results->size()) + " results for " +
                      std::to_string(ops.size()) + " operations");
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if ((*results)[i].status.is_ok() && !aliases[i].empty())
      aliases_[aliases[i]] = (*results)[i].created;
  }
  return results;
}

std::size_t ScriptClient::flush(std::string* out, AppliedBatch* applied) {
  if (batch_.empty() || !failure_.is_ok()) return 0;
  Result<BatchResult> results = backend_.run(batch_);
  if (results.is_ok() && results->size() != batch_.size()) {
    results = Status(StatusCode::corruption,
                     "the backend answered " + std::to_string(results->size()) + " results for " +
                         std::to_string(batch_.size()) + " operations");
  }
  std::size_t failed = 0;
  if (!results.is_ok()) {
    failure_ = results.status();
  } else {
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      const OpResult& r = (*results)[i];
      if (!print_result(batch_[i], r, pending_[i].line_no, options_.print, out)) ++failed;
      if (r.status.is_ok() && !pending_[i].alias.empty()) aliases_[pending_[i].alias] = r.created;
    }
    if (applied != nullptr) {
      for (std::size_t i = 0; i < batch_.size(); ++i) {
        applied->ops.push_back(std::move(batch_[i]));
        applied->results.push_back(std::move((*results)[i]));
        applied->aliases.push_back(std::move(pending_[i].alias));
      }
    }
  }
  batch_.clear();
  pending_.clear();
  batch_aliases_.clear();
  mutated_ = false;
  return failed;
}

}  // namespace mgraph::session

#include "mgraph/session/operation.hpp"

namespace mgraph::session {

const char* op_kind_name(OpKind kind) {
  static constexpr const char* kNames[kOpKinds] = {
      "create", "update", "delete", "link", "unlink", "set",  "ack",    "commit",
      "reject", "undo",   "redo",   "get",  "explain", "dot", "invalid", "update-link",
      "clock", "resolve"};
  return kNames[static_cast<std::size_t>(kind)];
}

bool is_mutation(OpKind kind) {
  switch (kind) {
    case OpKind::create:
    case OpKind::update:
    case OpKind::remove:
    case OpKind::link:
    case OpKind::unlink:
    case OpKind::set:
    case OpKind::ack:
    case OpKind::update_link:
    case OpKind::clock:
    case OpKind::resolve:
      return true;
    default:
      return false;
  }
}

std::size_t refs_of(OpKind kind) {
  switch (kind) {
    case OpKind::update:
    case OpKind::remove:
    case OpKind::set:
    case OpKind::ack:
    case OpKind::resolve:
    case OpKind::get:
    case OpKind::explain:
      return 1;
    case OpKind::link:
    case OpKind::unlink:
    case OpKind::update_link:
      return 2;
    default:
      return 0;
  }
}

bool told_committed(const Batch& batch, const BatchResult& results) {
  for (std::size_t k = 0; k < batch.size() && k < results.size(); ++k) {
    const OpKind kind = batch[k].kind;
    const bool transition = kind == OpKind::commit || kind == OpKind::undo || kind == OpKind::redo;
    if (transition && results[k].status.is_ok()) return true;
  }
  return false;
}

std::optional<std::string> cut_short(const BatchResult& results) {
  for (const OpResult& r : results) {
    if (r.status.code() == StatusCode::io_error) return r.status.message();
  }
  return std::nullopt;
}

}  // namespace mgraph::session

#include "mgraph/session/access.hpp"

#include <string>

namespace mgraph::session {

const char* role_name(Role role) {
  switch (role) {
    case Role::read: return "read";
    case Role::write: return "write";
    case Role::admin: return "admin";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role r : {Role::read, Role::write, Role::admin}) {
    if (text == role_name(r)) return r;
  }
  return std::nullopt;
}

bool may_apply(Role role, OpKind kind) {
  switch (kind) {
    // Reads, and a line the client could not classify: it only answers its error.
    case OpKind::get:
    case OpKind::explain:
    case OpKind::dot:
    case OpKind::invalid:
      return true;
    case OpKind::create:
    case OpKind::update:
    case OpKind::remove:
    case OpKind::link:
    case OpKind::unlink:
    case OpKind::set:
    case OpKind::ack:
    case OpKind::commit:
    case OpKind::reject:
    case OpKind::undo:
    case OpKind::redo:
    case OpKind::update_link:
    case OpKind::clock:
    case OpKind::resolve:
      return role >= Role::write;
  }
  return false;
}

Status permit(Role role, const Batch& batch) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (may_apply(role, batch[i].kind)) continue;
    return Status(StatusCode::permission_denied,
                  std::string("role ") + role_name(role) + " cannot write (operation " +
                      std::to_string(i) + ": " + op_kind_name(batch[i].kind) + ")");
  }
  return Status::ok();
}

}  // namespace mgraph::session

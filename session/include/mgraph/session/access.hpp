#pragma once
// What a client may do. A client of a cluster acts with one role, given by the token it
// logged in with (node/: the configuration's [[clients.token]]); the client protocol's
// server checks every batch against it before the batch goes anywhere, so a refused batch
// changes nothing.
//
//   read   get, explain, dot (and lines the client could not classify, which only answer
//          an error)
//   write  read + every operation that changes the documents or their history: create,
//          update, delete, link, unlink, set, ack, resolve, commit, reject, undo, redo
//   admin  everything write may; the client protocol has no operator call yet, so on it
//          admin and write may do the same today
//
// The roles are ordered: each may do all that the one before it may.

#include <cstdint>
#include <optional>
#include <string_view>

#include "mgraph/graph/status.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::session {

enum class Role : std::uint8_t { read = 0, write = 1, admin = 2 };

/// "read", "write" or "admin".
const char* role_name(Role role);

/// The role named `text` (exactly "read", "write" or "admin"); none for anything else.
std::optional<Role> parse_role(std::string_view text);

/// Whether `role` may apply an op of `kind`.
bool may_apply(Role role, OpKind kind);

/// Ok when `role` may apply every op of `batch`; else permission_denied naming the role and
/// the first op it may not apply, by its index in the batch ("role read cannot write
/// (operation 2: update)").
Status permit(Role role, const Batch& batch);

}  // namespace mgraph::session

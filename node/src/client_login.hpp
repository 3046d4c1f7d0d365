#pragma once
// What `mgraph eval --connect` and `mgraph bench --connect` share about logging in: the
// --token check, the exit code of a refusal and how a refusal is printed.

#include <string>

#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// The exit code of a client the node refused: no token or one it does not accept
/// (unauthenticated), or a role that may not do what was asked (permission denied).
inline constexpr int kExitRefused = 4;

/// Whether the node refused the client (kExitRefused) rather than failed.
inline bool refused(const Status& status) {
  return status.code() == StatusCode::unauthenticated ||
         status.code() == StatusCode::permission_denied;
}

/// A --token (or MGRAPH_TOKEN) a login can carry: at most kTokenBytesMax bytes, so that a
/// mistake (a file's contents, say) is a bad argument rather than a refused login.
inline Status check_token(const std::string& token) {
  if (token.size() <= codec::kTokenBytesMax) return Status::ok();
  return Status(StatusCode::invalid_argument,
                std::string("--token (or MGRAPH_TOKEN): a token has at most ") +
                    std::to_string(codec::kTokenBytesMax) + " bytes, this one " +
                    std::to_string(token.size()));
}

/// What to print for a failure of the client protocol: a refusal with its code first
/// ("unauthenticated: ...", "permission denied: ..."), and a hint when no token was given.
inline std::string client_failure(const Status& status, bool token_given) {
  if (!refused(status)) return status.message();
  std::string text = status.to_string();
  if (status.code() == StatusCode::unauthenticated && !token_given)
    text += " (give --token TOKEN or set MGRAPH_TOKEN)";
  return text;
}

}  // namespace mgraph::node

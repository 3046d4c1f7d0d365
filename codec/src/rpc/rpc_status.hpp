#pragma once
// Errors across the client protocol (internal to codec/rpc/): a server's Status travels as
// the description of an RPC exception ("code: message", Status::to_string()), and the client
// turns it back into a Status of the same code. A failure of the transport itself (the
// connection lost) becomes an io_error.

#include <kj/exception.h>

#include <string>

#include "mgraph/graph/status.hpp"

namespace mgraph::codec::rpc {

/// The RPC exception that carries `status` to the client. REQUIRES: !status.is_ok().
kj::Exception to_exception(const Status& status);

/// What an exception met by a call means to the caller; `what` names the call.
Status from_exception(const kj::Exception& e, const std::string& what);

}  // namespace mgraph::codec::rpc

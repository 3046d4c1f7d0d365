#pragma once
// Batches and results to and from their Cap'n Proto structures (internal to codec/): the
// byte encodings (session_codec.cpp) and the client protocol's RPC (rpc/) share them.
// get_* throw detail::DecodeError for content the session layer cannot take.

#include "mgraph/codec/wire/session.capnp.h"
#include "mgraph/session/operation.hpp"

namespace mgraph::codec::detail {

void put_batch(wire::Batch::Builder b, const session::Batch& batch);
session::Batch get_batch(wire::Batch::Reader r);
void put_batch_result(wire::BatchResult::Builder b, const session::BatchResult& result);
session::BatchResult get_batch_result(wire::BatchResult::Reader r);

}  // namespace mgraph::codec::detail

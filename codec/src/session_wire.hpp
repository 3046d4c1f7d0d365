#pragma once
// Batches and results to and from their Cap'n Proto structures (internal to codec/): the
// byte encodings (session_codec.cpp) and the client protocol's RPC (rpc/) share them.
// get_* throw detail::DecodeError for content the session layer cannot take.

#include "mgraph/codec/wire/session.capnp.h"
#include "mgraph/session/operation.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace mgraph::codec::detail {

/// A Cap'n Proto text that reads `s` (no copy).
capnp::Text::Reader text(const std::string& s);
std::string get_text(capnp::Text::Reader t);
/// Sets the texts of `b` (a list initialised to texts.size()) to `texts`.
void put_texts(capnp::List<capnp::Text>::Builder b, const std::vector<std::string>& texts);
std::vector<std::string> get_texts(capnp::List<capnp::Text>::Reader r);
/// A status from its code and message; throws DecodeError for an unknown code, or an ok
/// code that carries a message.
Status get_status(std::uint8_t code, capnp::Text::Reader message);

void put_batch(wire::Batch::Builder b, const session::Batch& batch);
/// `first`: the index of the first op in its batch (the ops may be the tail of a batch).
session::Batch get_batch(wire::Batch::Reader r, std::size_t first = 0);
void put_batch_result(wire::BatchResult::Builder b, const session::BatchResult& result);
session::BatchResult get_batch_result(wire::BatchResult::Reader r);

}  // namespace mgraph::codec::detail

#pragma once
// Batches of typed operations and their results (session/operation.hpp) as bytes: a
// Cap'n Proto message (codec/schema/session.capnp) after an 8-byte prefix, "MGOP" or
// "MGOR" and the format version. Requests and answers of the client protocol use the same
// structures; the input log keeps each epoch's batch in these bytes. Decoding bounds the
// reader and validates every enum, status code and value: bad bytes give a Status.

#include <string>
#include <string_view>

#include "mgraph/graph/status.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::codec {

inline constexpr std::uint32_t kSessionFormatVersion = 1;

Result<std::string> encode_batch(const session::Batch& batch);
Result<session::Batch> decode_batch(std::string_view bytes);
Result<std::string> encode_batch_result(const session::BatchResult& result);
Result<session::BatchResult> decode_batch_result(std::string_view bytes);

}  // namespace mgraph::codec

#pragma once
// Batches of typed operations and their results (session/operation.hpp) as bytes: a
// Cap'n Proto message (codec/schema/session.capnp) after an 8-byte prefix, "MGOP", "MGOG",
// "MGOR" or "MGOA" and the format version. Requests and answers of the client protocol use the
// same structures; the cluster's input log keeps each epoch's batch in these bytes, a
// persistent embedded session's log each epoch's applied batch (ops, results, aliases).
// Decoding bounds the reader and validates every enum, status code and value: bad bytes
// give a Status.

#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::codec {

inline constexpr std::uint32_t kSessionFormatVersion = 1;

/// With the client's transaction id, when it gave one.
Result<std::string> encode_batch(const session::Batch& batch, session::TxnId txn = {});
Result<session::Batch> decode_batch(std::string_view bytes);
/// The transaction id in encode_batch's bytes (empty when none was given).
Result<session::TxnId> decode_batch_txn(std::string_view bytes);
/// Batches (each in encode_batch's bytes) that run as one epoch (session/merge.hpp):
/// "MGOG". A log entry holds either form; is_batch_group tells which.
Result<std::string> encode_batch_group(const std::vector<std::string_view>& batches);
Result<std::vector<std::string>> decode_batch_group(std::string_view bytes);
bool is_batch_group(std::string_view bytes);
/// A log entry cancelling an earlier epoch (it did not run; a replay skips it), with why:
/// "MGOX". is_epoch_cancel tells it from a batch or a group.
struct EpochCancel {
  std::uint64_t epoch = 0;
  std::string reason;
  /// A merged epoch's batches that did not run (indexes in its BatchGroup, ascending),
  /// the others having committed; empty: the whole epoch.
  std::vector<std::uint32_t> members;
};
Result<std::string> encode_epoch_cancel(const EpochCancel& cancel);
Result<EpochCancel> decode_epoch_cancel(std::string_view bytes);
bool is_epoch_cancel(std::string_view bytes);
Result<std::string> encode_batch_result(const session::BatchResult& result);
Result<session::BatchResult> decode_batch_result(std::string_view bytes);
/// In Cap'n Proto's packed encoding (after the prefix), since the log keeps every epoch.
/// Decoding also checks that there is one result and one alias per op.
Result<std::string> encode_applied_batch(const session::AppliedBatch& applied);
Result<session::AppliedBatch> decode_applied_batch(std::string_view bytes);

}  // namespace mgraph::codec

#pragma once
// A script session's backend that outlives its connections. A batch whose answer is lost —
// the transport failed, the node does not reach its coordinator yet, the sequencer stopped
// before answering ("may have run") — is sent again with the same transaction id, on a new
// connection when the old one broke, until an answer comes or the patience runs out. The
// cluster answers an id it has seen with the first outcome (actors/documents.hpp), so a
// script goes on across a coordinator's restart and no transaction runs twice.
//
// Answers are final and returned as they are: a batch's results (including ops that failed,
// say on an unavailable partition: the cluster rolled those back), and errors that a resend
// cannot change (permission denied, a batch too large, bytes that are no answer).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/session/client.hpp"

namespace mgraph::codec {

struct ResendOptions {
  /// How long one batch may take, resends included, before its last error is returned.
  std::chrono::milliseconds patience{30'000};
  /// Pause before the first resend, doubling up to pause_max.
  std::chrono::milliseconds pause_first{20};
  std::chrono::milliseconds pause_max{1'000};
  /// The seams tests control: the time, and waiting (default: the steady clock, sleeping).
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> pause;
  /// Told before each pause why the batch goes again (for a client that shows progress).
  std::function<void(const Status& why, std::chrono::milliseconds pause)> on_resend;
};

/// Whether an error from ClientConnection::transact leaves the batch's outcome unknown or
/// unreached, so that sending it again (same id) may get the answer.
bool worth_resending(const Status& status);

class ResendingBackend final : public session::Backend {
 public:
  /// Makes a connection (with the same address and login every time).
  using Connect = std::function<Result<std::unique_ptr<ClientConnection>>()>;

  ResendingBackend(Connect connect, ResendOptions options, std::uint64_t client = random_client_id());

  /// Connects now: the first connection's error, for a client that wants to fail early.
  /// A refusal (a wrong token, say) is never retried, by open() or by run().
  Status open();
  Result<session::BatchResult> run(const session::Batch& batch) override;
  /// Asked once (a read: nothing to resend).
  Result<std::string> ledger(session::RecordId record, const std::string& field, const std::string& command,
                             const std::string& ref, std::optional<std::uint64_t> at) override;
  /// Batches sent again so far.
  std::uint64_t resends() const { return resends_; }

 private:
  Connect connect_;
  ResendOptions options_;
  std::uint64_t client_;
  std::uint64_t seq_ = 0;
  std::uint64_t resends_ = 0;
  std::unique_ptr<ClientConnection> connection_;
};

}  // namespace mgraph::codec

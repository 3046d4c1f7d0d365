#include "mgraph/codec/resending_backend.hpp"

#include <algorithm>
#include <thread>
#include <utility>

namespace mgraph::codec {

bool worth_resending(const Status& status) {
  switch (status.code()) {
    case StatusCode::io_error:             // the transport, or "may have run"
    case StatusCode::failed_precondition:  // the node does not reach its coordinator yet
      return true;
    default:
      return false;
  }
}

ResendingBackend::ResendingBackend(Connect connect, ResendOptions options, std::uint64_t client)
    : connect_(std::move(connect)), options_(std::move(options)), client_(client) {
  if (!options_.now) options_.now = [] { return std::chrono::steady_clock::now(); };
  if (!options_.pause) options_.pause = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  // A pause of zero would resend as fast as the loop runs: at least a millisecond.
  options_.pause_first = std::max(options_.pause_first, std::chrono::milliseconds(1));
  options_.pause_max = std::max(options_.pause_max, options_.pause_first);
}

Status ResendingBackend::open() {
  if (connection_) return Status::ok();
  Result<std::unique_ptr<ClientConnection>> c = connect_();
  if (!c.is_ok()) return c.status();
  connection_ = std::move(c).value();
  return Status::ok();
}

Result<session::BatchResult> ResendingBackend::run(const session::Batch& batch) {
  const session::TxnId txn{client_, ++seq_};
  const auto deadline = options_.now() + options_.patience;
  std::chrono::milliseconds pause = options_.pause_first;
  // Each pass sends once or fails to connect, then waits at least a millisecond of the
  // clock: the deadline ends the loop.
  for (std::uint64_t sends = 1;; ++sends) {
    if (sends > 1) ++resends_;
    Status status = open();
    if (!status.is_ok() && !worth_resending(status)) return status;
    if (status.is_ok()) {
      Result<session::BatchResult> answer = connection_->transact(batch, txn);
      if (answer.is_ok() || !worth_resending(answer.status())) return answer;
      status = answer.status();
      // A connection that failed in the transport fails every later call: a new one.
      if (status.code() == StatusCode::io_error) connection_.reset();
    }
    if (options_.now() + pause > deadline) {
      return Status(status.code(), status.message() + " (tried " + std::to_string(sends) +
                                       " times; gave up after " +
                                       std::to_string(options_.patience.count()) + " ms)");
    }
    if (options_.on_resend) options_.on_resend(status, pause);
    options_.pause(pause);
    pause = std::min(pause * 2, options_.pause_max);
  }
}

Result<std::string> ResendingBackend::ledger(session::RecordId record, const std::string& field,
                                             const std::string& command, const std::string& ref,
                                             std::optional<std::uint64_t> at) {
  if (Status s = open(); !s.is_ok()) return s;
  Result<std::string> answer = connection_->ledger(record, field, command, ref, at);
  if (!answer.is_ok() && answer.status().code() == StatusCode::io_error) connection_.reset();
  return answer;
}

}  // namespace mgraph::codec

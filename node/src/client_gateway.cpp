#include "client_gateway.hpp"

#include "mgraph/codec/session_codec.hpp"

namespace mgraph::node {
namespace {

using Done = std::function<void(Result<session::BatchResult>)>;

/// A short-lived actor: sends one batch to the sequencer and hands the answer to `done`.
/// Its state comes as spawn arguments: CAF 0.17 dereferences a null argument tuple for a
/// function actor spawned without any (UBSan reports it).
void batch_request(caf::event_based_actor* self, caf::actor sequencer, std::string bytes,
                   Done done) {
  self->request(sequencer, kBatchTimeout, actors::transact_atom::value, bytes)
      .then([done](const std::string& answer) { done(codec::decode_batch_result(answer)); },
            [self, done](caf::error& e) {
              done(Status(StatusCode::io_error,
                          "the cluster did not run the batch: " + self->system().render(e)));
            });
}

}  // namespace

ClientRequestKind client_request_kind(const session::Batch& batch) {
  return actors::changes_documents(batch) ? ClientRequestKind::write : ClientRequestKind::read;
}

ClientRequestOutcome client_request_outcome(const Result<session::BatchResult>& answer) {
  if (!answer.is_ok()) return ClientRequestOutcome::error;
  for (const session::OpResult& r : *answer) {
    if (!r.status.is_ok()) return ClientRequestOutcome::failed;
  }
  return ClientRequestOutcome::ok;
}

void ClientGateway::transact(session::Batch batch,
                             std::function<void(Result<session::BatchResult>)> done) {
  const ClientRequestKind kind = client_request_kind(batch);
  const auto start = now_();
  auto observe = [this, kind, start](ClientRequestOutcome outcome) {
    if (observe_) observe_(kind, outcome, std::chrono::duration<double>(now_() - start).count());
  };
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    observe(ClientRequestOutcome::not_ready);
    done(Status(StatusCode::failed_precondition,
                "the cluster is not ready: this node does not reach the coordinator's sequencer "
                "yet (mgraphctl status shows the peers); try again"));
    return;
  }
  Result<std::string> bytes = codec::encode_batch(batch);
  if (!bytes.is_ok()) {
    observe(ClientRequestOutcome::error);
    done(bytes.status());
    return;
  }
  state_.count_batch();
  if (observe_) {
    // The answer may come after the gateway is gone: the wrapper holds copies, not `this`.
    done = [done = std::move(done), observe = observe_, now = now_, kind,
            start](Result<session::BatchResult> answer) {
      observe(kind, client_request_outcome(answer),
              std::chrono::duration<double>(now() - start).count());
      done(std::move(answer));
    };
  }
  sys_.spawn(batch_request, sequencer, std::move(bytes).value(), std::move(done));
}

codec::SchemaInfo ClientGateway::schema() {
  const auto start = now_();
  codec::SchemaInfo info{schema_.name, schema_.source, schema_.fingerprint};
  if (observe_) {
    observe_(ClientRequestKind::schema, ClientRequestOutcome::ok,
             std::chrono::duration<double>(now_() - start).count());
  }
  return info;
}

}  // namespace mgraph::node

#include "client_gateway.hpp"

#include "mgraph/codec/session_codec.hpp"

namespace mgraph::node {
namespace {

using Done = std::function<void(Result<session::BatchResult>)>;

/// A short-lived actor: sends one batch to the sequencer and hands the answer to `done`.
/// Its state comes as spawn arguments: CAF 0.17 dereferences a null argument tuple for a
/// function actor spawned without any (UBSan reports it).
/// The sequencer is monitored: one that stops before it answers (the coordinator lost, or
/// a node registering again starts a new one) delivers nothing in CAF 0.17, and the client
/// must hear at once, not after kBatchTimeout.
void batch_request(caf::event_based_actor* self, caf::actor sequencer, std::string bytes,
                   Done done) {
  auto answered = std::make_shared<bool>(false);
  auto answer = [answered, done](Result<session::BatchResult> r) {
    if (*answered) return;
    *answered = true;
    done(std::move(r));
  };
  self->monitor(sequencer);
  self->set_down_handler([self, answer](const caf::down_msg& down) {
    answer(Status(StatusCode::io_error,
                  "unavailable: the coordinator's sequencer stopped before answering (" +
                      self->system().render(down.reason) +
                      "); the batch may have run: read before sending it again"));
    self->quit();
  });
  self->request(sequencer, kBatchTimeout, actors::transact_atom::value, bytes)
      .then(
          [self, answer](const std::string& a) {
            answer(codec::decode_batch_result(a));
            self->quit();
          },
          [self, answer](caf::error& e) {
            answer(Status(StatusCode::io_error,
                          "the cluster did not run the batch: " + self->system().render(e)));
            self->quit();
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

void ClientGateway::transact(session::Batch batch, session::TxnId txn,
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
  // The id travels in the batch's bytes: the sequencer logs it with the batch.
  Result<std::string> bytes = codec::encode_batch(batch, txn);
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

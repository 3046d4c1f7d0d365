#include "client_gateway.hpp"

#include "log.hpp"
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

void ClientGateway::transact(session::Batch batch,
                             std::function<void(Result<session::BatchResult>)> done) {
  if (!state_.begin_transaction()) {
    done(Status(StatusCode::io_error,
                "unavailable: node draining (mgraphctl drain): it takes no new transactions; "
                "send them to another node"));
    return;
  }
  // Counted in flight until its answer went out, whatever way it goes. The state, not
  // the gateway: the state outlives the actor system that may answer last.
  done = [state = &state_, inner = std::move(done)](Result<session::BatchResult> r) {
    inner(std::move(r));
    state->end_transaction();
  };
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(Status(StatusCode::failed_precondition,
                "the cluster is not ready: this node does not reach the coordinator's sequencer "
                "yet (mgraphctl status shows the peers); try again"));
    return;
  }
  Result<std::string> bytes = codec::encode_batch(batch);
  if (!bytes.is_ok()) {
    done(bytes.status());
    return;
  }
  state_.count_batch();
  if (log::enabled(log::Level::debug)) log::debug("client_batch", {{"ops", batch.size()}});
  sys_.spawn(batch_request, sequencer, std::move(bytes).value(), std::move(done));
}

codec::SchemaInfo ClientGateway::schema() {
  return codec::SchemaInfo{schema_.name, schema_.source, schema_.fingerprint};
}

}  // namespace mgraph::node

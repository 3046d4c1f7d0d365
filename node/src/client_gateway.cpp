#include "client_gateway.hpp"

#include <arpa/inet.h>

#include <memory>

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
  sys_.spawn(batch_request, sequencer, std::move(bytes).value(), std::move(done));
}

codec::SchemaInfo ClientGateway::schema() {
  return codec::SchemaInfo{schema_.name, schema_.source, schema_.fingerprint};
}

bool is_loopback(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  const std::string text(host);
  return ::inet_pton(AF_INET, text.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

Result<codec::ClientAccess> client_access(const ClientsConfig& clients, const std::string& node,
                                          const std::string& host) {
  codec::ClientAccess access;
  access.anonymous = std::nullopt;
  if (clients.allow_anonymous || (clients.tokens.empty() && is_loopback(host))) {
    access.anonymous = clients.anonymous_role;
  }
  if (!clients.tokens.empty()) {
    auto table = std::make_shared<const TokenTable>(clients.tokens);
    access.login = [table](std::string_view token) { return table->check(token); };
    return access;
  }
  if (!access.anonymous) {
    return Status(StatusCode::failed_precondition,
                  "node " + node + " would serve clients on " + host +
                      ", beyond this machine, to anyone: add [[clients.token]] entries (mgraph "
                      "token new) or set [clients] allow_anonymous = true");
  }
  return access;
}

std::string describe(const codec::ClientAccess& access, std::size_t tokens) {
  std::string anonymous;
  if (access.anonymous) anonymous = std::string("act as ") + session::role_name(*access.anonymous);
  if (tokens == 0) return "clients " + anonymous;
  std::string text = "clients need a token (" + std::to_string(tokens) + " configured)";
  if (access.anonymous) text += " or " + anonymous + " without one";
  return text;
}

}  // namespace mgraph::node

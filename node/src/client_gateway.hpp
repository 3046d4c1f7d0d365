#pragma once
// Clients of any node reach the cluster's sequencer through the node's gateway: the client
// protocol's server (codec/client_rpc.hpp) hands it each request on its own thread; the
// gateway sends the batch to the sequencer — on this node or another — through its relay
// (request_relay.hpp, one long-lived actor) and answers when the sequencer's partition has
// run it. It tells an observer (the node's metrics) what each request was and how it ended
// (client_requests.hpp).

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <mutex>

#include "client_requests.hpp"
#include "mgraph/actors/documents.hpp"
#include "cluster_config.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "node_state.hpp"
#include "request_relay.hpp"

namespace mgraph::node {

/// How long a batch may take from the gateway to its answer before the client gets an error.
inline constexpr std::chrono::seconds kBatchTimeout{60};

/// The kind of a batch: a write if the sequencer makes an epoch of it (actors::changes_documents).
ClientRequestKind client_request_kind(const session::Batch& batch);
/// How an answered batch ended: `failed` if any op failed.
ClientRequestOutcome client_request_outcome(const Result<session::BatchResult>& answer);

class ClientGateway final : public codec::ClientHandler {
 public:
  /// REQUIRES: `sys` and `state` outlive the gateway; `observe` (may be empty) is callable
  /// until the actor system has stopped (answers may come after the gateway is gone).
  ClientGateway(caf::actor_system& sys, NodeState& state, actors::SchemaInfo schema,
                ClientRequestObserver observe = {},
                actors::SteadyClock now = actors::system_steady_clock())
      : state_(state),
        schema_(std::move(schema)),
        observe_(std::move(observe)),
        now_(std::move(now)),
        relay_(std::make_shared<RequestRelay>(sys, kBatchTimeout)) {}

  void transact(session::Batch batch, session::TxnId txn,
                std::function<void(Result<session::BatchResult>)> done) override;
  codec::SchemaInfo schema() override;
  /// Effect deliveries: asked of the sequencer (actors/documents.hpp), like a batch.
  void poll_effects(std::string group, std::vector<std::string> effects, std::uint32_t max,
                    std::function<void(Texts)> done) override;
  void ack_effect(std::uint64_t field, std::uint64_t version,
                  std::function<void(Texts)> done) override;
  void ack_effects(std::vector<std::string> keys, std::function<void(Texts)> done) override;
  void resolve_effect(std::uint64_t field, std::uint64_t version, Value value,
                      std::function<void(Texts)> done) override;
  /// History and audit: asked of the sequencer, which keeps them (actors/documents.hpp,
  /// ledger_atom).
  void ledger(std::uint64_t record, std::string field, std::string command, std::string ref,
              std::optional<std::uint64_t> at, std::function<void(Texts)> done) override;
  /// Subscriptions (actors/watch.hpp): polls go to the coordinator's watch actor (the
  /// sequencer asked once where it is), reads to its driver through the sequencer.
  void watch(std::vector<std::string> targets, std::uint64_t from, std::uint32_t max,
             std::uint32_t wait_ms, std::function<void(Result<codec::WatchAnswer>)> done) override;
  void watch_values(session::Batch gets, std::vector<std::string> entities,
                    std::function<void(Result<codec::WatchValues>)> done) override;

  /// Where the current sequencer's watch actor is, once asked: polls go to it directly.
  struct WatchRoute {
    std::mutex mutex;
    caf::actor sequencer;
    caf::actor watch;
  };

 private:
  NodeState& state_;
  actors::SchemaInfo schema_;
  ClientRequestObserver observe_;
  actors::SteadyClock now_;
  std::shared_ptr<WatchRoute> route_ = std::make_shared<WatchRoute>();
  /// Shared with the callbacks that send a second request (a watch's route, then its poll).
  std::shared_ptr<RequestRelay> relay_;
};

/// Whether `host` reaches this machine only: "localhost", "::1" or an address in 127.0.0.0/8.
bool is_loopback(std::string_view host);

/// Who may use the client port of a node listening on `host`, from [clients]:
///   - with tokens: a client logs in with one and acts with its role; one without a token is
///     served only with allow_anonymous (anonymous_role);
///   - without tokens: every client acts with anonymous_role, on loopback always, elsewhere
///     only with allow_anonymous = true. Without it that is an error (failed_precondition)
///     naming the node and `host`: a port anyone on the network reaches must not serve
///     anyone by default.
Result<codec::ClientAccess> client_access(const ClientsConfig& clients, const std::string& node,
                                          const std::string& host);

/// How `access` lets clients in, for the line mgraphd prints when it listens: "clients need
/// a token (2 configured)", "... or act as read without one", "clients act as admin".
std::string describe(const codec::ClientAccess& access, std::size_t tokens);

}  // namespace mgraph::node

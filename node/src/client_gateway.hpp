#pragma once
// Clients of any node reach the cluster's sequencer through the node's gateway: the client
// protocol's server (codec/client_rpc.hpp) hands it each request on its own thread; the
// gateway sends the batch to the sequencer — on this node or another — from a short-lived
// actor and answers when the sequencer's partition has run it.

#include <caf/all.hpp>

#include <chrono>

#include "mgraph/actors/documents.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "node_state.hpp"

namespace mgraph::node {

/// How long a batch may take from the gateway to its answer before the client gets an error.
inline constexpr std::chrono::seconds kBatchTimeout{60};

class ClientGateway final : public codec::ClientHandler {
 public:
  /// REQUIRES: `sys` and `state` outlive the gateway.
  ClientGateway(caf::actor_system& sys, NodeState& state, actors::SchemaInfo schema)
      : sys_(sys), state_(state), schema_(std::move(schema)) {}

  void transact(session::Batch batch, session::TxnId txn,
                std::function<void(Result<session::BatchResult>)> done) override;
  codec::SchemaInfo schema() override;

 private:
  caf::actor_system& sys_;
  NodeState& state_;
  actors::SchemaInfo schema_;
};

}  // namespace mgraph::node

#pragma once
// What a node's client port was asked and how each request ended: the labels of
// mgraph_client_requests_total (node_metrics.hpp), decided in one place, the gateway
// (client_gateway.hpp). Both sets are closed, so the metric has at most
// kClientRequestKinds * kClientRequestOutcomes series.

#include <cstddef>
#include <cstdint>
#include <functional>

namespace mgraph::node {

enum class ClientRequestKind : std::uint8_t {
  read,    ///< a batch that changes nothing (only get, explain, dot): no epoch
  write,   ///< a batch the sequencer numbers and logs: an epoch, or its share of one
  schema,  ///< the schema the cluster serves (`mgraph bench` asks once per run)
};
inline constexpr std::size_t kClientRequestKinds = 3;

enum class ClientRequestOutcome : std::uint8_t {
  ok,         ///< answered, every op succeeded
  failed,     ///< answered, and an op failed (a formula error, a missing record, ...)
  not_ready,  ///< refused: this node does not reach the coordinator's sequencer yet
  error,      ///< not run: the cluster did not answer in time, or was lost
};
inline constexpr std::size_t kClientRequestOutcomes = 4;

constexpr const char* client_request_kind_name(ClientRequestKind k) {
  switch (k) {
    case ClientRequestKind::read:
      return "read";
    case ClientRequestKind::write:
      return "write";
    case ClientRequestKind::schema:
      return "schema";
  }
  return "unknown";
}

constexpr const char* client_request_outcome_name(ClientRequestOutcome o) {
  switch (o) {
    case ClientRequestOutcome::ok:
      return "ok";
    case ClientRequestOutcome::failed:
      return "failed";
    case ClientRequestOutcome::not_ready:
      return "not_ready";
    case ClientRequestOutcome::error:
      return "error";
  }
  return "unknown";
}

/// Told of every request once it is answered, with its time from arrival to answer; called
/// from whatever thread answers (the RPC thread or an actor's), so it must be thread-safe.
using ClientRequestObserver =
    std::function<void(ClientRequestKind, ClientRequestOutcome, double seconds)>;

}  // namespace mgraph::node

#pragma once
// The commands of mgraphd's admin socket (admin_server.hpp), each answered with one line
// of JSON built by a JSON library, so nothing a client sends can change the answer's shape:
//   status      the node: name, listen address, coordinator or not, partitions, epochs run
//               (committed, aborted, the last epoch's number)
//   partitions  what each partition hosted here did
//   epochs [--last N]            the coordinator's last epochs
//   explain REF.field [--depth N]  a field's dependency trace (field_trace.hpp)
//   dot [REF.field] [--depth N]  the graph, or a field's neighbourhood, in Graphviz dot
//   log-level [LEVEL]            shows or sets the log's level (log.hpp)
//   drain       stops taking client transactions; answers how many are still in flight
//   dlq list | dlq retry FIELD:VERSION | dlq drop FIELD:VERSION
//               the cluster's effect dead letters (docs/CLUSTER.md, "Effects"), at the
//               coordinator's sequencer: listed, sent again from attempt 1, or dropped
//   shutdown    stops the node (the coordinator: after the current epoch, stopping all)
//   help        the commands
// Anything else: {"error":"unknown command '...'; try help"}.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin_server.hpp"
#include "field_trace.hpp"

namespace mgraph::node {

/// What `status` reports. The counters are read at each request: they must outlive the
/// handler (and the AdminServer using it).
struct NodeStatus {
  std::string node;
  std::string listen;  ///< HOST:PORT
  bool coordinator = false;
  std::vector<std::uint32_t> partitions;
  const std::atomic<std::uint64_t>* committed = nullptr;
  const std::atomic<std::uint64_t>* aborted = nullptr;
  const std::atomic<std::uint64_t>* last = nullptr;  ///< the last epoch's number (0: none)
  /// More members of the status answer, read at each request (peers, client port, ...);
  /// may be empty. Called on the admin socket's thread.
  std::function<nlohmann::ordered_json()> more;
  /// What each partition hosted here did: [{"partition":P, ...counters}]; may be empty.
  std::function<nlohmann::ordered_json()> partitions_work;
  /// The last N epochs this node counted (NodeState::recent_epochs); may be empty.
  std::function<nlohmann::ordered_json(std::size_t)> epochs;
  /// This node's partitions, for explain and dot; null: this process holds no documents.
  std::shared_ptr<const PartitionAccess> documents;
  /// Drains the node (idempotent): new client transactions are refused from then on;
  /// answers {"draining":true,"in_flight":N,"drained":N==0}. Null: drain is refused.
  std::function<nlohmann::ordered_json()> drain;
  /// The dead letter command ("list", "retry", "drop") for delivery (field, version), or
  /// "consumers" (the consumer groups), asked of the sequencer: its JSON answer, or why
  /// there is none. Null: dlq and consumers are refused.
  std::function<Result<nlohmann::ordered_json>(const std::string& command, std::uint64_t field,
                                               std::uint64_t version)>
      dead_letters;
  /// Checkpoints every partition now (the sequencer asks the driver): its JSON answer
  /// ({"checkpoint":EPOCH,"image_bytes":N}), or why not. Null: checkpoint is refused.
  std::function<Result<nlohmann::ordered_json>()> checkpoint;
};

/// Epochs `epochs` answers without a count, and at most.
inline constexpr std::size_t kEpochsShownDefault = 20;

/// The admin commands of a node described by `status`; `shutdown` is called, on the admin
/// socket's thread, for the shutdown command.
AdminServer::Handler admin_commands(NodeStatus status, std::function<void()> shutdown);

}  // namespace mgraph::node

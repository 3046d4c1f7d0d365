#pragma once
// The cluster configuration file (TOML; cluster-configs/local-3.toml):
//
//   [cluster]  name (checked when a node registers: a cluster's nodes share it), schema (the *.mgs file every mgraphd node serves, relative to this file),
//              partitions, peer_frame_bytes_max (largest BASP frame a node's peer port
//              accepts), batch_transactions_max, batch_bytes_max (batching),
//              peer_timeout_ms (a peer silent this long is lost), checkpoint_every (epochs
//              between checkpoints of every partition; 0: only mgraphctl checkpoint),
//              watch_epochs_kept (epochs the coordinator keeps for subscriptions),
//              watch_history_epochs, watch_history_bytes (what its --data keeps beyond them),
//              clock_tick_ms (how often the coordinator moves a schema's clock),
//              client_connections_max (client connections each node serves at once); for
//              the cluster benchmark (mgraph_cluster_bench): seed, fields
//              (the synthetic workload) and epochs (to run)
//   [log]      level (the node's initial log level: trace, debug, info, warn, error, off;
//              mgraphd --log-level overrides it), slow_epoch_ms (the coordinator logs an
//              epoch taking this long or longer as slow_epoch; 0: never)
//   [[node]]   name, host, port (peers; 0: the OS chooses), client_port (clients; 0: the
//              OS chooses), coordinator (bool, exactly one node), partitions (ids it
//              hosts; every partition on exactly one node)
//   [tls]      ca, cert, key: PEM files for TLS between nodes, relative to this file; "{node}"
//              in cert and key stands for the node's name
//   [clients]  allow_anonymous (bool: clients without a token are served), anonymous_role
//              (what they may do); [[clients.token]] name, sha256 (of the token), role
//
// Nothing else is accepted: an unknown table or key, a value of the wrong type or out of
// its range is an error naming the file, the line and the column ("FILE:LINE:COL: what").

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client_tokens.hpp"
#include "peer_tls.hpp"
#include "mgraph/codec/epoch_codec.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/session/access.hpp"

namespace mgraph::node {

/// Largest configuration file read: a cluster of 4096 partitions over a few nodes is
/// about 25 KB, so anything near this is not a configuration.
inline constexpr std::size_t config_bytes_max = 1u << 20;
/// Fewest workload fields: the workload's DAG needs a few variables and derived fields.
inline constexpr std::int64_t fields_min = 4;
/// Most workload fields: every node builds the whole workload and the coordinator also
/// the oracle; at 10^6 fields that takes ~6 s and ~600 MB on the coordinator (2 cores),
/// at 10^7 it was not listening after 90 s at 4.6 GB.
inline constexpr std::int64_t fields_max = 1'000'000;
/// Most partitions: one actor each, and every partition is sent the handles of all
/// (a message of ~150 KB at 4096).
inline constexpr std::int64_t partitions_max = 4096;
/// Most epochs in one run: ~20 days at 600 epochs/s, and epoch numbers of many runs over
/// one input log stay far from overflowing.
inline constexpr std::int64_t epochs_max = 1'000'000'000;
/// Nodes in a cluster: the coordinator connects to each in turn at start.
inline constexpr std::size_t nodes_max = 256;
/// Longest node name: names appear in --peer NAME=HOST:PORT and in every message.
inline constexpr std::size_t node_name_bytes_max = 64;
/// Longest host: a DNS name has at most 253 characters.
inline constexpr std::size_t host_bytes_max = 253;
/// Default largest BASP frame payload a peer may send. The largest a cluster within these
/// limits sends is the list of every partition's handle, ~160 KB at partitions_max
/// (measured; epoch messages of 10^6 fields stay under 1 KB): 25 times that.
inline constexpr std::int64_t peer_frame_bytes_default = 4 << 20;
/// Smallest peer_frame_bytes_max: that list of 4096 handles still fits.
inline constexpr std::int64_t peer_frame_bytes_lower = 256 << 10;
/// Largest peer_frame_bytes_max: each open peer connection may make CAF hold one frame of
/// this size, so it bounds what a peer that sends nothing else can pin.
inline constexpr std::int64_t peer_frame_bytes_upper = 256 << 20;
/// Default client transactions in one epoch (batching): enough that 64 concurrent clients
/// share an epoch, few enough that a failed epoch's re-run (each alone) stays short.
inline constexpr std::int64_t batch_transactions_default = 64;
/// Largest batch_transactions_max: session::kMergedBatchesMax.
inline constexpr std::int64_t batch_transactions_upper = 1024;
/// Default bytes of one epoch's transactions together: one log entry, one driver run.
inline constexpr std::int64_t batch_bytes_default = 4 << 20;
/// Bounds of batch_bytes_max: one client request may be 64 MiB (the client protocol's
/// bound); a larger one still runs, alone.
inline constexpr std::int64_t batch_bytes_lower = 1 << 10;
inline constexpr std::int64_t batch_bytes_upper = 64 << 20;
/// The cluster's name when the file gives none. Two clusters on one network should be
/// named, so that a --peer address of the other cluster is refused.
inline constexpr std::string_view cluster_name_default = "mgraph";
/// Default time after which a peer that sent nothing, not even a heartbeat (sent every
/// tenth of it), is taken as lost: its partitions become "unavailable" and a node whose
/// coordinator is lost says so and links again. A loaded node on a busy machine still
/// sends its heartbeats well within 5 s; a client waits at most this for the verdict.
inline constexpr std::int64_t peer_timeout_ms_default = 5000;
/// Bounds of peer_timeout_ms: below 100 ms a scheduling hiccup would drop healthy peers;
/// above 10 minutes a stopped node would hold every transaction far longer than any
/// client waits.
inline constexpr std::int64_t peer_timeout_ms_lower = 100;
inline constexpr std::int64_t peer_timeout_ms_upper = 600'000;

/// Default checkpoint_every: a checkpoint costs an image of every partition (~1 s for 10^6
/// documents); 10,000 epochs is a few seconds of a busy cluster's log to run again after a
/// restart, and the log is compacted as often.
inline constexpr std::int64_t checkpoint_every_default = 10'000;
inline constexpr std::int64_t checkpoint_every_upper = 1'000'000'000;
/// Committed epochs the coordinator keeps for subscriptions (actors::kWatchEpochsKept; a
/// subscriber further behind reads the current values): 1 … 10^6.
inline constexpr std::int64_t watch_epochs_kept_default = 4096;
inline constexpr std::int64_t watch_epochs_kept_upper = 1'000'000;
/// Epoch numbers and bytes of changes the coordinator's history of subscriptions keeps on
/// disk (lmdb_watch_history.hpp; 0 epochs: none): a million epochs are minutes
/// to hours of the cluster's rates, and under load the gibibyte binds first. At most 10^9
/// epochs and a tebibyte; at least a mebibyte (a few epochs of a busy cluster).
inline constexpr std::int64_t watch_history_epochs_default = 1'000'000;
inline constexpr std::int64_t watch_history_epochs_upper = 1'000'000'000;
inline constexpr std::int64_t watch_history_bytes_default = std::int64_t{1} << 30;
inline constexpr std::int64_t watch_history_bytes_lower = std::int64_t{1} << 20;
inline constexpr std::int64_t watch_history_bytes_upper = std::int64_t{1} << 40;
/// Default clock_tick_ms: a schema's clock moves every second, as `@every(1s)`, the
/// finest period worth a cluster-wide epoch, asks; 0 leaves it to clients. At most a day.
inline constexpr std::int64_t clock_tick_ms_default = 1000;
inline constexpr std::int64_t clock_tick_ms_upper = 86'400'000;

/// Default client_connections_max: codec::ClientServerLimits::connections_max, 256 sessions.
/// A node needs a descriptor for each (and kNodeDescriptorsBesidesClients more), so 256 fit
/// the common soft limit of 1,024; more (e.g. a thousand subscribers on one node) raise the
/// soft limit at start. At most 65,536: each connection may hold a 64 MiB request in flight.
inline constexpr std::int64_t client_connections_default = 256;
inline constexpr std::int64_t client_connections_upper = 65'536;

/// Default slow_epoch_ms: a hundred times an epoch of the 3-node configuration on loopback
/// (~10 ms with an fsync), so only an epoch something held up is logged.
inline constexpr std::int64_t slow_epoch_ms_default = 1000;
/// Largest slow_epoch_ms: an hour; longer is no longer "slow" but stuck.
inline constexpr std::int64_t slow_epoch_ms_upper = 3'600'000;

/// [log] (log.hpp).
struct LogConfig {
  std::string level = "info";
  std::uint64_t slow_epoch_ms = slow_epoch_ms_default;
};

struct NodeConfig {
  std::string name;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::uint16_t client_port = 0;
  bool coordinator = false;
  std::vector<codec::PartitionId> partitions;
};

/// Who may use the client ports ([clients]; service.cpp turns it into each node's rules).
struct ClientsConfig {
  /// Clients that present no token are served, with anonymous_role. Without tokens a node
  /// serves anonymous clients on loopback anyway; elsewhere only when this says so.
  bool allow_anonymous = false;
  session::Role anonymous_role = session::Role::admin;
  std::vector<TokenEntry> tokens;  ///< [[clients.token]], in the file's order
};

/// The synthetic workload of the cluster benchmark (bench/cluster/workload.hpp).
struct WorkloadConfig {
  std::uint64_t seed = 1;
  std::size_t fields = 100;
  std::uint64_t epochs = 100;  ///< epochs the coordinator runs
};

struct ClusterConfig {
  /// Who the nodes are: a node registers with a coordinator of the same name only.
  std::string name{cluster_name_default};
  /// The schema file, as a path from the working directory (the file's entry is relative
  /// to the configuration file); empty: none given.
  std::string schema;
  std::size_t partitions = 3;
  WorkloadConfig workload;
  std::uint32_t peer_frame_bytes_max = peer_frame_bytes_default;
  /// The peer guard serves the node's peer port (docs/CLUSTER.md, "Peer port"); false: CAF
  /// serves it itself, one relay less per message and no bound on the frames a peer sends
  /// (for a network where whoever can reach the port is trusted; not with [tls]).
  bool peer_guard = true;
  /// Batching (actors::BatchingOptions): client transactions in one epoch at most, and
  /// their bytes together.
  std::size_t batch_transactions_max = batch_transactions_default;
  std::size_t batch_bytes_max = batch_bytes_default;
  /// A peer silent this long is lost (heartbeats every tenth of it).
  std::chrono::milliseconds peer_timeout{peer_timeout_ms_default};
  /// Epochs between checkpoints of every partition (actors::DriverOptions; 0: on command).
  std::uint64_t checkpoint_every = checkpoint_every_default;
  /// Committed epochs kept for subscriptions (actors::WatchBuffer).
  std::size_t watch_epochs_kept = watch_epochs_kept_default;
  /// The coordinator's history of subscriptions (LmdbWatchHistory): epochs
  /// (0: none) and bytes of changes it keeps.
  std::uint64_t watch_history_epochs = watch_history_epochs_default;
  std::uint64_t watch_history_bytes = watch_history_bytes_default;
  /// How often the coordinator moves a schema's clock (actors::SequencerOptions::clock_tick;
  /// 0: only clients move it). Without a clock in the schema, nothing ticks.
  std::chrono::milliseconds clock_tick{clock_tick_ms_default};
  /// Client connections each node serves at once (codec::ClientServerLimits::connections_max;
  /// one more is closed as soon as it is accepted).
  std::size_t client_connections_max = client_connections_default;
  std::vector<NodeConfig> nodes;
  ClientsConfig clients;
  /// [tls]: links between nodes are TLS, both ends checked against `ca`. Paths from the
  /// working directory; cert and key may hold "{node}" (tls_files() replaces it).
  std::optional<TlsFiles> tls;

  /// The TLS files of node `name`. REQUIRES: tls.
  TlsFiles tls_files(const std::string& name) const;
  LogConfig log;

  const NodeConfig* find(const std::string& name) const;
  const NodeConfig& coordinator() const;
};

/// Reads and checks a configuration file (a regular file of at most config_bytes_max);
/// errors name the file and, where there is one, the line and column.
Result<ClusterConfig> load_cluster_config(const std::string& path);

/// Checks configuration text; `path` names it in errors.
Result<ClusterConfig> parse_cluster_config(std::string_view text, const std::string& path);

/// True for a usable node name: 1 to node_name_bytes_max of [A-Za-z0-9_.-].
bool valid_node_name(std::string_view name);

}  // namespace mgraph::node

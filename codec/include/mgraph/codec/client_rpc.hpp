#pragma once
// The client protocol of a cluster: the Cluster interface of codec/schema/client.capnp over
// Cap'n Proto RPC on TCP. A ClientServer serves it from a kj event loop on a thread of its
// own and hands every request to a ClientHandler, which may answer from any thread; a
// ClientConnection calls it synchronously, every call under a deadline; a RemoteBackend runs
// a script session's batches through a connection. Nothing here exposes Cap'n Proto or kj.
//
// Who may do what is the server's ClientAccess: a connection starts with the anonymous role
// (none on a node that requires tokens) and may log in with a token for the token's role;
// every batch is checked against the role before the handler sees it (session/access.hpp).
//
// Hostile peers are bounded by ClientServerLimits: a request larger than the limit (or a
// frame claiming to be) closes its connection before anything is allocated for it; content
// the session layer cannot take is answered with an error and the connection goes on;
// connections, calls in flight and idle time are bounded.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "mgraph/session/access.hpp"
#include "mgraph/session/client.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::codec {

/// The schema a cluster serves.
struct SchemaInfo {
  std::string name;    ///< the schema file's name
  std::string source;  ///< its text
  std::uint64_t fingerprint = 0;
  friend bool operator==(const SchemaInfo&, const SchemaInfo&) = default;
};

/// A subscription's poll: the epochs' JSON objects, the epoch to poll from next, and
/// whether the subscriber must read the current values instead (the epochs after its cursor
/// are no longer held).
struct WatchAnswer {
  std::vector<std::string> epochs;
  std::uint64_t through = 0;
  bool resume = false;
  /// The log the epochs are numbered in: when it changes, a subscriber's cursor numbers
  /// another log's epochs, and it resumes from the values (0: not told).
  std::uint64_t log = 0;
};
/// The values a subscription goes on from, read after `epoch`: one result per get, and
/// the fields of the records of the entities asked for (a JSON array of changes).
struct WatchValues {
  session::BatchResult results;
  std::uint64_t epoch = 0;
  std::string records = "[]";
  std::uint64_t log = 0;  ///< the log `epoch` is numbered in (as WatchAnswer::log)
};

/// What serves client requests. Called on the RPC thread; `done` may be called from any
/// thread, exactly once (the server must cope with it being called after the client left).
class ClientHandler {
 public:
  virtual ~ClientHandler() = default;
  /// Applies `batch`, which the client named `txn` (maybe empty: session::TxnId); `done`
  /// receives one result per op, or why the batch did not run (the client gets it as an
  /// error). Must not block: the RPC thread serves every connection.
  virtual void transact(session::Batch batch, session::TxnId txn,
                        std::function<void(Result<session::BatchResult>)> done) = 0;
  /// The schema served; called on the RPC thread.
  virtual SchemaInfo schema() = 0;
  /// Effect deliveries (docs/CLUSTER.md, "Effects"), answered like transact: the deliveries
  /// of `effects` due now (at most `max`, JSON objects), and the outcome of an ack (one
  /// text). By default the server delivers no effects (failed_precondition).
  /// `group`: the consumer group polling ("": none; actors::EffectOutbox::poll).
  using Texts = Result<std::vector<std::string>>;
  virtual void poll_effects(std::string group, std::vector<std::string> effects, std::uint32_t max,
                            std::function<void(Texts)> done);
  virtual void ack_effect(std::uint64_t field, std::uint64_t version,
                          std::function<void(Texts)> done);
  /// Acks of many deliveries, keys "FIELD:VERSION": one outcome per key, in order.
  virtual void ack_effects(std::vector<std::string> keys, std::function<void(Texts)> done);
  /// The result `value` of the request of an async field that delivery (field, version)
  /// is: the outcome of the transaction that writes it (one text).
  virtual void resolve_effect(std::uint64_t field, std::uint64_t version, Value value,
                              std::function<void(Texts)> done);
  /// `history` or `audit` (`command`) of field `field` of `record`, written `ref` by the
  /// client: the JSON array or object read (session::read_ledger), one text. By default
  /// none is kept (failed_precondition).
  virtual void ledger(std::uint64_t record, std::string field, std::string command, std::string ref,
                      std::optional<std::uint64_t> at, std::function<void(Texts)> done);
  /// Subscriptions (docs/CLUSTER.md, "Subscriptions"), answered like transact: the epochs
  /// after `from` that changed what `targets` names (actors/watch.hpp), and the values of a
  /// batch of gets with the epoch they follow. By default none (failed_precondition).
  virtual void watch(std::vector<std::string> targets, std::uint64_t from, std::uint32_t max,
                     std::uint32_t wait_ms, std::function<void(Result<WatchAnswer>)> done);
  virtual void watch_values(session::Batch gets, std::vector<std::string> entities,
                            std::function<void(Result<WatchValues>)> done);
};

/// How a node's refusal begins while it does not reach the coordinator's sequencer (a
/// failed_precondition): a client may try again, which it may not for other refusals of
/// that code (a subscription or an effect this cluster does not serve, a group's lease).
inline constexpr std::string_view kClusterNotReady = "the cluster is not ready";
/// Effect names one poll may name: a consumer follows a few effects, and the bound keeps one
/// poll's filtering small.
inline constexpr std::size_t kPollEffectNamesMax = 256;
/// Characters of a consumer group's name at most.
inline constexpr std::size_t kConsumerGroupNameMax = 64;
/// Ok when `group` is a consumer group's name: 1 to kConsumerGroupNameMax letters, digits,
/// '_', '-' or '.'; invalid_argument naming it otherwise.
Status check_consumer_group(std::string_view group);

/// Keys one ackEffects call may name: a consumer acks what one poll gave it (its consumer
/// asks for 100 at a time), and the bound keeps one call's epoch small.
inline constexpr std::size_t kAckKeysMax = 1'000;

struct ClientServerLimits {
  /// Bytes of one request message, and words read decoding it (Cap'n Proto's traversal limit
  /// of the connection): a frame claiming more closes the connection before its segments are
  /// allocated; a request whose decoding reads more is answered with out_of_range. The
  /// decoder reads a batch's list of ops more than once, so a batch of many small ops must
  /// encode in about half of this. 64 MiB holds a batch far beyond any script's transaction
  /// and bounds what one message costs the server.
  std::size_t request_bytes_max = std::size_t{64} << 20;
  /// Connections served at once: one more is closed as soon as it is accepted. 256 sessions
  /// are many for one cluster; each may hold `request_bytes_max` in flight.
  std::size_t connections_max = 256;
  /// transact calls of one connection the handler holds: one more is refused with an error.
  /// A call counts until the handler answers it, even after its client stopped waiting, and
  /// the whole server holds `connections_max * calls_in_flight_max` at most, so clients that
  /// leave and come back cannot queue more. A script session has one in flight; 64 leaves
  /// room for pipelining clients while bounding the work one connection can queue.
  std::size_t calls_in_flight_max = 64;
  /// A connection with no call in flight and no call started for this long is closed, so
  /// connections that never call cannot hold `connections_max` slots for good. Ten minutes
  /// leaves a person time to type a transaction.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
};

/// Longest token a login may present: a token is a secret of a few dozen characters (`mgraph
/// token new` makes 64); the bound keeps a hostile login from making the server hash
/// megabytes.
inline constexpr std::size_t kTokenBytesMax = 1024;

/// Who may do what on a ClientServer.
struct ClientAccess {
  /// The role of a connection that has not logged in; none: it must log in before any call.
  /// Admin by default: a server given no access rules serves as it always did.
  std::optional<session::Role> anonymous = session::Role::admin;
  /// The role of a token presented by login, or why it is refused (unauthenticated). Called
  /// on the RPC thread with at most kTokenBytesMax bytes. Empty: every login is refused.
  std::function<Result<session::Role>(std::string_view token)> login;
};

/// Serves the Cluster interface on HOST:PORT (port 0: OS chooses) on its own thread running a
/// kj event loop.
class ClientServer {
 public:
  /// Listens on `host`:`port` and starts serving. REQUIRES: `handler` outlives the server.
  static Result<std::unique_ptr<ClientServer>> start(const std::string& host, std::uint16_t port,
                                                     ClientHandler& handler,
                                                     ClientServerLimits limits = {},
                                                     ClientAccess access = {});
  /// The port listened on (the OS's choice when started with port 0).
  std::uint16_t port() const;
  /// Connections being served now.
  std::size_t connections() const;
  /// Stops accepting, closes every connection and joins the thread. A `done` called later
  /// is ignored.
  ~ClientServer();

  ClientServer(const ClientServer&) = delete;
  ClientServer& operator=(const ClientServer&) = delete;

  struct Impl;

 private:
  explicit ClientServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A synchronous client (its own kj event loop on the calling thread, shared by the
/// connections of that thread). Every call has a deadline. Use a connection on the thread
/// that made it only. After a transport failure (the server gone, a deadline passed) every
/// later call fails: whether a batch in flight was applied is unknown.
class ClientConnection {
 public:
  /// Connects to `host`:`port`; `timeout` bounds the connection and then each call. With a
  /// `token`, logs in with it first: a token the node refuses fails the connect
  /// (unauthenticated). Without one, the connection acts with the node's anonymous role, and
  /// a node that requires tokens refuses its calls (unauthenticated).
  static Result<std::unique_ptr<ClientConnection>> connect(const std::string& host,
                                                           std::uint16_t port,
                                                           std::chrono::milliseconds timeout,
                                                           const std::string& token = {});
  /// The role the node gave the token; none without a token.
  std::optional<session::Role> role() const;
  /// Applies `batch` on the server: one result per op, or why not (io_error: the transport;
  /// corruption: an answer that is not one; otherwise the server's error). With a `txn` the
  /// server has seen (this or another connection, before a restart of the cluster too), it
  /// answers with that transaction's outcome and applies nothing.
  Result<session::BatchResult> transact(const session::Batch& batch, session::TxnId txn = {});
  /// The schema the server serves.
  Result<SchemaInfo> schema();
  /// The deliveries of `effects` due now (at most `max`), each a JSON object.
  Result<std::vector<std::string>> poll_effects(const std::vector<std::string>& effects,
                                                std::uint32_t max);
  /// A consumer of `group` following `effects` (Cluster.consumer): its polls and acks go
  /// through the capability the node gives. REQUIRES: the connection outlives it.
  class Consumer {
   public:
    Result<std::vector<std::string>> poll(std::uint32_t max);
    Result<std::vector<std::string>> ack(const std::vector<std::string>& keys);
    ~Consumer();
    Consumer(const Consumer&) = delete;
    Consumer& operator=(const Consumer&) = delete;

    struct Impl;
    explicit Consumer(std::unique_ptr<Impl> impl);

   private:
    std::unique_ptr<Impl> impl_;
  };
  /// The consumer; errors (a bad group name, too many effects) come with its first call.
  std::unique_ptr<Consumer> consumer(const std::string& group, const std::vector<std::string>& effects);
  /// Acknowledges delivery (field, version): the outcome the server gives.
  Result<std::string> ack_effect(std::uint64_t field, std::uint64_t version);
  /// Acknowledges the deliveries `keys` ("FIELD:VERSION", at most kAckKeysMax) in one call:
  /// one outcome per key, in order.
  Result<std::vector<std::string>> ack_effects(const std::vector<std::string>& keys);
  /// Sends the result of the async request that delivery (field, version) is: the outcome
  /// the server gives ("written", "superseded", ...).
  Result<std::string> resolve_effect(std::uint64_t field, std::uint64_t version, const Value& value);
  /// What the cluster's history and ledger hold (ClientHandler::ledger).
  Result<std::string> ledger(std::uint64_t record, const std::string& field, const std::string& command,
                             const std::string& ref, std::optional<std::uint64_t> at);
  /// A subscription's poll (ClientHandler::watch); `wait_ms` must stay below the call's
  /// deadline.
  Result<WatchAnswer> watch(const std::vector<std::string>& targets, std::uint64_t from,
                            std::uint32_t max, std::uint32_t wait_ms);
  /// The values of `gets` (get ops only) and of every record of `entities`, and the epoch
  /// they follow.
  Result<WatchValues> watch_values(const session::Batch& gets, const std::vector<std::string>& entities);
  ~ClientConnection();

  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  struct Impl;

 private:
  explicit ClientConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A transaction id's client part no other client is likely to have: 64 bits from the
/// operating system's random source, never zero.
std::uint64_t random_client_id();

/// A session::Backend over a connection (what `mgraph eval --connect` runs scripts through).
/// Each batch goes with a transaction id of its own: `client` and a counter from 1.
class RemoteBackend final : public session::Backend {
 public:
  /// REQUIRES: `connection` outlives the backend.
  explicit RemoteBackend(ClientConnection& connection, std::uint64_t client = random_client_id())
      : connection_(connection), client_(client) {}
  Result<std::string> ledger(session::RecordId record, const std::string& field, const std::string& command,
                             const std::string& ref, std::optional<std::uint64_t> at) override {
    return connection_.ledger(record, field, command, ref, at);
  }
  Result<session::BatchResult> run(const session::Batch& batch) override {
    last_ = session::TxnId{client_, ++seq_};
    return connection_.transact(batch, last_);
  }
  /// The id the last batch went with: send it again with this to learn its outcome.
  session::TxnId last_txn() const { return last_; }

 private:
  ClientConnection& connection_;
  std::uint64_t client_;
  std::uint64_t seq_ = 0;
  session::TxnId last_;
};

}  // namespace mgraph::codec

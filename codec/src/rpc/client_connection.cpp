// The client side of the client protocol: a two-party RPC client on the calling thread's kj
// event loop, waited on synchronously under a deadline.

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <random>
#include <utility>

#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/codec/wire/client.capnp.h"
#include "rpc/rpc_status.hpp"
#include "session_wire.hpp"
#include "wire.hpp"

namespace mgraph::codec {
namespace {

using VatId = capnp::rpc::twoparty::VatId;

/// Bytes of one answer at most (the client's traversal limit). An answer outgrows its batch
/// (values, explain and dot texts), so it gets four times a request's default bound.
constexpr std::size_t kAnswerBytesMax = std::size_t{256} << 20;

using detail::get_text;

/// The kj event loop of one thread, shared by the connections made on it (a thread can
/// have one loop only).
struct ThreadLoop {
  kj::AsyncIoContext io = kj::setupAsyncIo();
};

std::shared_ptr<ThreadLoop> thread_loop() {
  thread_local std::weak_ptr<ThreadLoop> current;
  if (std::shared_ptr<ThreadLoop> loop = current.lock()) return loop;
  auto loop = std::make_shared<ThreadLoop>();
  current = loop;
  return loop;
}

/// Ok when an answer to acks of `keys` has one outcome per key; corruption otherwise.
Status one_outcome_per_key(const std::vector<std::string>& outcomes, const std::vector<std::string>& keys,
                           const char* what) {
  if (outcomes.size() == keys.size()) return Status::ok();
  return Status(StatusCode::corruption, std::string(what) + ": " + std::to_string(outcomes.size()) +
                                            " outcomes for " + std::to_string(keys.size()) + " keys");
}

}  // namespace

struct ClientConnection::Impl {
  /// Runs `work` on the loop until it ends or the deadline passes. A transport failure or a
  /// missed deadline breaks the connection: every later call fails with it.
  Status wait(kj::Promise<void> work, const std::string& what);
  /// Trades the bootstrap capability for the one `token` gives.
  Status login(const std::string& token);

  // Destroyed in reverse order: the capability and the RPC system before the stream, the
  // loop last.
  std::shared_ptr<ThreadLoop> loop;
  std::chrono::milliseconds timeout{0};
  std::string peer;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyVatNetwork> network;
  kj::Own<capnp::RpcSystem<VatId>> rpc;
  wire::Cluster::Client cluster = nullptr;
  std::optional<session::Role> role;
  Status broken;
};

Status ClientConnection::Impl::wait(kj::Promise<void> work, const std::string& what) {
  if (!broken.is_ok()) return broken;
  // kj's timer reads the clock when the loop polls: after the loop sat idle, a deadline
  // would count from the last poll and could be past already.
  loop->io.waitScope.poll();
  bool late = false;
  auto deadline = loop->io.provider->getTimer()
                      .afterDelay(timeout.count() * kj::MILLISECONDS)
                      .then([&late] { late = true; });
  try {
    work.exclusiveJoin(kj::mv(deadline)).wait(loop->io.waitScope);
  } catch (const kj::Exception& e) {
    Status status = rpc::from_exception(e, what + " (" + peer + ")");
    if (e.getType() == kj::Exception::Type::DISCONNECTED) broken = status;
    return status;
  }
  if (late) {
    broken = Status(StatusCode::io_error, what + " (" + peer + "): no answer within " +
                                              std::to_string(timeout.count()) + " ms");
    return broken;
  }
  return Status::ok();
}

ClientConnection::ClientConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClientConnection::~ClientConnection() = default;

Result<std::unique_ptr<ClientConnection>> ClientConnection::connect(
    const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
    const std::string& token) {
  auto impl = std::make_unique<Impl>();
  impl->timeout = timeout;
  impl->peer = host + ":" + std::to_string(port);
  try {
    impl->loop = thread_loop();
  } catch (const kj::Exception& e) {
    return Status(StatusCode::io_error, std::string("no event loop: ") + e.getDescription().cStr());
  }
  Impl& c = *impl;
  Status status = c.wait(c.loop->io.provider->getNetwork()
                             .parseAddress(host, port)
                             .then([](kj::Own<kj::NetworkAddress> a) { return a->connect(); })
                             .then([&c](kj::Own<kj::AsyncIoStream> s) { c.stream = kj::mv(s); }),
                         "connect");
  if (!status.is_ok()) return Status(StatusCode::io_error, status.message());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kAnswerBytesMax / sizeof(capnp::word);
  c.network = kj::heap<capnp::TwoPartyVatNetwork>(*c.stream, capnp::rpc::twoparty::Side::CLIENT,
                                                  options);
  c.rpc = kj::heap<capnp::RpcSystem<VatId>>(capnp::makeRpcClient(*c.network));
  capnp::word scratch[4] = {};
  capnp::MallocMessageBuilder message(scratch);
  auto server = message.initRoot<VatId>();
  server.setSide(capnp::rpc::twoparty::Side::SERVER);
  c.cluster = c.rpc->bootstrap(server).castAs<wire::Cluster>();
  if (!token.empty()) {
    if (Status s = c.login(token); !s.is_ok()) return s;
  }
  return std::unique_ptr<ClientConnection>(new ClientConnection(std::move(impl)));
}

Status ClientConnection::Impl::login(const std::string& token) {
  if (token.size() > kTokenBytesMax) {
    return Status(StatusCode::invalid_argument,
                  "a token has at most " + std::to_string(kTokenBytesMax) + " bytes");
  }
  auto request = cluster.loginRequest();
  request.setToken(capnp::Text::Reader(token.data(), token.size()));
  wire::Cluster::Client granted = nullptr;
  std::uint16_t granted_role = 0;
  auto read = [&](capnp::Response<wire::Cluster::LoginResults>&& response) {
    granted = response.getCluster();
    granted_role = static_cast<std::uint16_t>(response.getRole());
  };
  if (Status s = wait(request.send().then(read), "login"); !s.is_ok()) return s;
  if (granted_role > static_cast<std::uint16_t>(session::Role::admin)) {
    return Status(StatusCode::corruption,
                  "login (" + peer + "): unknown role " + std::to_string(granted_role));
  }
  cluster = kj::mv(granted);
  role = static_cast<session::Role>(granted_role);
  return Status::ok();
}

std::optional<session::Role> ClientConnection::role() const { return impl_->role; }

std::uint64_t random_client_id() {
  std::random_device source;
  // Bounded: a random source that gives zero twice in a row is broken, not unlucky.
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::uint64_t id = (std::uint64_t{source()} << 32) ^ source();
    if (id != 0) return id;
  }
  return 1;
}

Result<session::BatchResult> ClientConnection::transact(const session::Batch& batch,
                                                        session::TxnId txn) {
  auto request = impl_->cluster.transactRequest();
  try {
    auto b = request.initBatch();
    detail::put_batch(b, batch);
    b.setTxnClient(txn.client);
    b.setTxnSeq(txn.seq);
  } catch (const detail::EncodeError& e) {
    return Status(StatusCode::out_of_range, "operation batch: " + e.what);
  } catch (const kj::Exception& e) {
    return Status(StatusCode::internal,
                  std::string("operation batch: ") + e.getDescription().cStr());
  }
  Result<session::BatchResult> out = Status(StatusCode::internal, "no answer");
  auto read = [&out](capnp::Response<wire::Cluster::TransactResults>&& response) {
    try {
      out = detail::get_batch_result(response.getResult());
    } catch (const detail::DecodeError& e) {
      out = Status(StatusCode::corruption, "batch result: " + e.what);
    } catch (const kj::Exception& e) {
      out = Status(StatusCode::corruption,
                   std::string("batch result: ") + e.getDescription().cStr());
    }
  };
  if (Status s = impl_->wait(request.send().then(read), "transact"); !s.is_ok()) return s;
  if (out.is_ok() && out->size() != batch.size()) {
    return Status(StatusCode::corruption, "batch result: " + std::to_string(out->size()) +
                                              " results for " + std::to_string(batch.size()) +
                                              " operations");
  }
  return out;
}

Result<SchemaInfo> ClientConnection::schema() {
  SchemaInfo info;
  auto read = [&info](capnp::Response<wire::Cluster::SchemaResults>&& response) {
    info.name = get_text(response.getName());
    info.source = get_text(response.getSource());
    info.fingerprint = response.getFingerprint();
  };
  Status s = impl_->wait(impl_->cluster.schemaRequest().send().then(read), "schema");
  if (!s.is_ok()) return s;
  return info;
}

Result<std::vector<std::string>> ClientConnection::poll_effects(
    const std::vector<std::string>& effects, std::uint32_t max) {
  auto request = impl_->cluster.pollEffectsRequest();
  detail::put_texts(request.initEffects(static_cast<unsigned>(effects.size())), effects);
  request.setMax(max);
  std::vector<std::string> out;
  auto read = [&out](capnp::Response<wire::Cluster::PollEffectsResults>&& response) {
    out = detail::get_texts(response.getDeliveries());
  };
  if (Status s = impl_->wait(request.send().then(read), "pollEffects"); !s.is_ok()) return s;
  return out;
}

struct ClientConnection::Consumer::Impl {
  ClientConnection::Impl& connection;
  wire::Consumer::Client consumer;
};

ClientConnection::Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientConnection::Consumer::~Consumer() = default;

std::unique_ptr<ClientConnection::Consumer> ClientConnection::consumer(const std::string& group,
                                                                       const std::vector<std::string>& effects) {
  auto request = impl_->cluster.consumerRequest();
  request.setGroup(capnp::Text::Reader(group.data(), group.size()));
  detail::put_texts(request.initEffects(static_cast<unsigned>(effects.size())), effects);
  // Pipelined: the capability is used before the answer comes, which carries any error to
  // the first call.
  return std::make_unique<Consumer>(
      std::make_unique<Consumer::Impl>(Consumer::Impl{*impl_, request.send().getConsumer()}));
}

Result<std::vector<std::string>> ClientConnection::Consumer::poll(std::uint32_t max) {
  auto request = impl_->consumer.pollRequest();
  request.setMax(max);
  std::vector<std::string> out;
  auto read = [&out](capnp::Response<wire::Consumer::PollResults>&& response) {
    out = detail::get_texts(response.getDeliveries());
  };
  if (Status s = impl_->connection.wait(request.send().then(read), "consumer poll"); !s.is_ok()) return s;
  return out;
}

Result<std::vector<std::string>> ClientConnection::Consumer::ack(const std::vector<std::string>& keys) {
  auto request = impl_->consumer.ackRequest();
  detail::put_texts(request.initKeys(static_cast<unsigned>(keys.size())), keys);
  std::vector<std::string> out;
  auto read = [&out](capnp::Response<wire::Consumer::AckResults>&& response) {
    out = detail::get_texts(response.getOutcomes());
  };
  if (Status s = impl_->connection.wait(request.send().then(read), "consumer ack"); !s.is_ok()) return s;
  if (Status s = one_outcome_per_key(out, keys, "consumer ack"); !s.is_ok()) return s;
  return out;
}

Result<std::string> ClientConnection::ack_effect(std::uint64_t field, std::uint64_t version) {
  auto request = impl_->cluster.ackEffectRequest();
  request.setField(field);
  request.setVersion(version);
  std::string outcome;
  auto read = [&outcome](capnp::Response<wire::Cluster::AckEffectResults>&& response) {
    outcome = get_text(response.getOutcome());
  };
  if (Status s = impl_->wait(request.send().then(read), "ackEffect"); !s.is_ok()) return s;
  return outcome;
}

Result<std::string> ClientConnection::resolve_effect(std::uint64_t field, std::uint64_t version,
                                                     const Value& value) {
  auto request = impl_->cluster.resolveEffectRequest();
  request.setField(field);
  request.setVersion(version);
  detail::put_value(request.initValue(), value);
  std::string outcome;
  auto read = [&outcome](capnp::Response<wire::Cluster::ResolveEffectResults>&& response) {
    outcome = get_text(response.getOutcome());
  };
  if (Status s = impl_->wait(request.send().then(read), "resolveEffect"); !s.is_ok()) return s;
  return outcome;
}

Result<std::string> ClientConnection::ledger(std::uint64_t record, const std::string& field,
                                             const std::string& command, const std::string& ref,
                                             std::optional<std::uint64_t> at) {
  auto request = impl_->cluster.ledgerRequest();
  request.setRecord(record);
  request.setField(capnp::Text::Reader(field.data(), field.size()));
  request.setCommand(capnp::Text::Reader(command.data(), command.size()));
  request.setRef(capnp::Text::Reader(ref.data(), ref.size()));
  request.setHasAt(at.has_value());
  request.setAt(at.value_or(0));
  std::string answer;
  auto read = [&answer](capnp::Response<wire::Cluster::LedgerResults>&& response) {
    answer = get_text(response.getAnswer());
  };
  if (Status s = impl_->wait(request.send().then(read), "ledger"); !s.is_ok()) return s;
  return answer;
}

Result<std::vector<std::string>> ClientConnection::ack_effects(const std::vector<std::string>& keys) {
  auto request = impl_->cluster.ackEffectsRequest();
  detail::put_texts(request.initKeys(static_cast<unsigned>(keys.size())), keys);
  std::vector<std::string> out;
  auto read = [&out](capnp::Response<wire::Cluster::AckEffectsResults>&& response) {
    out = detail::get_texts(response.getOutcomes());
  };
  if (Status s = impl_->wait(request.send().then(read), "ackEffects"); !s.is_ok()) return s;
  if (Status s = one_outcome_per_key(out, keys, "ackEffects"); !s.is_ok()) return s;
  return out;
}

Result<WatchAnswer> ClientConnection::watch(const std::vector<std::string>& targets,
                                            std::uint64_t from, std::uint32_t max,
                                            std::uint32_t wait_ms) {
  auto request = impl_->cluster.watchRequest();
  detail::put_texts(request.initTargets(static_cast<unsigned>(targets.size())), targets);
  request.setFromEpoch(from);
  request.setMax(max);
  request.setWaitMs(wait_ms);
  WatchAnswer out;
  auto read = [&out](capnp::Response<wire::Cluster::WatchResults>&& response) {
    out.epochs = detail::get_texts(response.getEpochs());
    out.through = response.getThrough();
    out.resume = response.getResume();
    out.log = response.getLog();
  };
  if (Status s = impl_->wait(request.send().then(read), "watch"); !s.is_ok()) return s;
  return out;
}

Result<WatchValues> ClientConnection::watch_values(const session::Batch& gets,
                                                   const std::vector<std::string>& entities) {
  auto request = impl_->cluster.watchValuesRequest();
  try {
    detail::put_batch(request.initBatch(), gets);
  } catch (const detail::EncodeError& e) {
    return Status(StatusCode::out_of_range, "operation batch: " + e.what);
  }
  detail::put_texts(request.initEntities(static_cast<unsigned>(entities.size())), entities);
  Result<WatchValues> out = Status(StatusCode::internal, "no answer");
  auto read = [&out](capnp::Response<wire::Cluster::WatchValuesResults>&& response) {
    try {
      out = WatchValues{detail::get_batch_result(response.getResult()), response.getEpoch(),
                        get_text(response.getRecords()), response.getLog()};
    } catch (const detail::DecodeError& e) {
      out = Status(StatusCode::corruption, "batch result: " + e.what);
    } catch (const kj::Exception& e) {
      out = Status(StatusCode::corruption, std::string("batch result: ") + e.getDescription().cStr());
    }
  };
  if (Status s = impl_->wait(request.send().then(read), "watchValues"); !s.is_ok()) return s;
  if (out.is_ok() && out->results.size() != gets.size()) {
    return Status(StatusCode::corruption, "watch values: " + std::to_string(out->results.size()) +
                                              " results for " + std::to_string(gets.size()) + " reads");
  }
  return out;
}

}  // namespace mgraph::codec

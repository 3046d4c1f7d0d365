// The client protocol's server against hostile peers on 127.0.0.1: random bytes, frames
// claiming huge segments, requests over the size limit, batches the session layer cannot
// take, clients that never send, connections beyond the limit, too many calls in flight and
// clients that vanish while their call is pending. After each, the server is still there
// and a fresh legitimate client gets correct answers.

#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <array>
#include <atomic>
#include <cstring>
#include <limits>

#include "mgraph/codec/wire/client.capnp.h"
#include "rpc/rpc_support.hpp"
#include "support/prng.hpp"

namespace mgraph::codec {
namespace {

using namespace mgraph::testing;

std::unique_ptr<ClientServer> serve(ClientHandler& handler, ClientServerLimits limits = {}) {
  auto server = ClientServer::start("127.0.0.1", 0, handler, limits);
  EXPECT_TRUE(server.is_ok()) << server.status().message();
  return server.is_ok() ? std::move(server).value() : nullptr;
}


/// A fresh client connects and gets a correct answer.
void expect_served(const ClientServer& server) {
  auto c = ClientConnection::connect("127.0.0.1", server.port(), kCallTimeout);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  Result<session::BatchResult> r = (*c)->transact(order_batch(0.75));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_TRUE((*r)[1].status.is_ok()) << (*r)[1].status.message();
  EXPECT_EQ((*r)[2].value, Value(0.75));
}

std::shared_ptr<const schema::Schema> order_schema() {
  return compile(fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs");
}

/// A Cap'n Proto RPC client of the test's own, on a thread of its own (a thread has one kj
/// event loop), for requests a ClientConnection never sends.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port)
      : io_(kj::setupAsyncIo()),
        stream_(wait(io_.provider->getNetwork().parseAddress("127.0.0.1", port).then(
            [](kj::Own<kj::NetworkAddress> a) { return a->connect(); }))),
        client_(kj::heap<capnp::TwoPartyClient>(*stream_)),
        cluster_(client_->bootstrap().castAs<wire::Cluster>()) {}

  wire::Cluster::Client& cluster() { return cluster_; }

  /// Waits for `p` under the watchdog.
  template <typename T>
  T wait(kj::Promise<T> p) {
    return p
        .exclusiveJoin(io_.provider->getTimer().afterDelay(20 * kj::SECONDS).then([]() -> T {
          throw std::runtime_error("no answer before the watchdog");
        }))
        .wait(io_.waitScope);
  }

  /// Sends a transact whose batch is `batch`; the error's text, or "" when answered.
  std::string transact(wire::Batch::Reader batch) {
    auto request = cluster_.transactRequest();
    request.setBatch(batch);
    return error_of(request.send());
  }

  template <typename T>
  std::string error_of(kj::Promise<T> p) {
    try {
      wait(kj::mv(p));
      return "";
    } catch (const kj::Exception& e) {
      return e.getDescription().cStr();
    }
  }

 private:
  kj::AsyncIoContext io_;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> client_;
  wire::Cluster::Client cluster_;
};

/// Runs `fn(RawClient&)` on a thread of its own.
template <typename Fn>
void with_raw_client(std::uint16_t port, Fn fn) {
  std::thread t([&] {
    try {
      RawClient client(port);
      fn(client);
    } catch (const kj::Exception& e) {
      ADD_FAILURE() << e.getDescription().cStr();
    }
  });
  t.join();
}

/// A batch whose ops list claims `n` operations of zero words each: a few bytes on the wire
/// that decode as `n` ops.
class AmplifiedBatch {
 public:
  explicit AmplifiedBatch(std::uint64_t n) : words_(make_words(n)), reader_(segments(), options()) {}
  wire::Batch::Reader root() { return reader_.getRoot<wire::Batch>(); }

 private:
  static std::array<capnp::word, 3> make_words(std::uint64_t n) {
    const std::uint64_t root = std::uint64_t{1} << 48;          // struct: 0 data, 1 pointer
    const std::uint64_t list = 1 | (std::uint64_t{7} << 32);    // inline composite, 0 words
    const std::uint64_t tag = n << 2;                            // n structs of 0 words
    const std::uint64_t raw[3] = {root, list, tag};
    std::array<capnp::word, 3> out;
    std::memcpy(out.data(), raw, sizeof raw);
    return out;
  }
  static capnp::ReaderOptions options() {
    capnp::ReaderOptions o;
    o.traversalLimitInWords = std::numeric_limits<std::uint64_t>::max();
    return o;
  }
  kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments() {
    segment_ = kj::ArrayPtr<const capnp::word>(words_.data(), words_.size());
    return kj::arrayPtr(&segment_, 1);
  }

  std::array<capnp::word, 3> words_;
  kj::ArrayPtr<const capnp::word> segment_;
  capnp::SegmentArrayMessageReader reader_;
};

TEST(HostileRpc, RandomBytesNeverStopTheServer) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  Prng prng(20240611);
  for (int i = 0; i < 40; ++i) {
    SCOPED_TRACE(i);
    RawSocket s(server->port());
    ASSERT_TRUE(s.ok());
    const std::size_t size = 1 + prng.below(4096);
    std::string bytes;
    // Half the inputs get a frame header that matches their length, so the RPC system
    // itself reads random words as a message.
    if (i % 2 == 0) bytes = le32(0) + le32(static_cast<std::uint32_t>(size / 8));
    while (bytes.size() < size + (i % 2 == 0 ? 8 : 0)) {
      bytes.push_back(static_cast<char>(prng.next() & 0xff));
    }
    s.send(bytes);  // the server may close before all of it is sent
  }
  EXPECT_TRUE(eventually([&] { return server->connections() == 0; }));
  expect_served(*server);
}

TEST(HostileRpc, AFrameClaimingAHugeSegmentIsRefusedBeforeItArrives) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  {
    auto server = serve(handler);
    ASSERT_NE(server, nullptr);
    // One segment of 2^32 - 1 words (32 GiB), and 2^31 segments.
    for (const std::string& header :
         {le32(0) + le32(0xffffffffu), le32(0x7fffffffu) + le32(1)}) {
      RawSocket s(server->port());
      ASSERT_TRUE(s.ok());
      ASSERT_TRUE(s.send(header));
      EXPECT_TRUE(s.closed_by_peer(kWatchdog));
    }
    expect_served(*server);
  }
  // The configured limit, not only Cap'n Proto's default, decides: a frame claiming 2 MiB
  // is refused by a server that takes 1 MiB.
  auto server = serve(handler, {.request_bytes_max = std::size_t{1} << 20});
  ASSERT_NE(server, nullptr);
  RawSocket s(server->port());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send(le32(0) + le32((2u << 20) / 8)));
  EXPECT_TRUE(s.closed_by_peer(kWatchdog));
  expect_served(*server);
}

TEST(HostileRpc, ARequestOverTheLimitClosesOnlyItsConnection) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  auto server = serve(handler, {.request_bytes_max = std::size_t{1} << 20});
  ASSERT_NE(server, nullptr);
  auto other = ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout);
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  ASSERT_TRUE((*other)->schema().is_ok());
  auto c = ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  // The text of a commit is not read by anything: only its size matters here.
  session::Batch big = order_batch(0.5);
  big[1].text = std::string(std::size_t{2} << 20, 'x');
  Result<session::BatchResult> r = (*c)->transact(big);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::io_error) << r.status().message();
  // Many small ops under the limit are served: decoding reads each list once, so a message
  // that fits the limit also fits the reader's traversal limit.
  session::Batch many(4000);
  for (session::Op& op : many) op.kind = session::OpKind::dot;
  r = (*other)->transact(many);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->size(), many.size());
  // Just under the limit is served.
  session::Batch fits = order_batch(0.5);
  fits[1].text = std::string(std::size_t{1} << 19, 'x');
  r = (*other)->transact(fits);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ((*r)[2].value, Value(0.5));
  expect_served(*server);
}

TEST(HostileRpc, BatchesTheSessionLayerCannotTakeAreAnsweredWithErrors) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  auto c = ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout);
  ASSERT_TRUE(c.is_ok()) << c.status().message();

  session::Batch forward = order_batch(0.5);
  forward[0].refs.push_back(session::RecordRef{0, {2}, "later"});
  session::Batch unknown_kind = order_batch(0.5);
  unknown_kind[1].kind = static_cast<session::OpKind>(99);
  session::Batch no_record = order_batch(0.5);
  no_record[2].refs.clear();  // a get naming no record
  session::Batch one_sided_link(1);
  one_sided_link[0].kind = session::OpKind::link;
  one_sided_link[0].refs.push_back(session::RecordRef{1, {}, "#1"});
  one_sided_link[0].name = "items";
  const std::pair<session::Batch, std::string> cases[] = {
      {forward, "which is not an earlier one"},
      {unknown_kind, "unknown operation kind 99"},
      {no_record, "(get) names 0 records, not 1"},
      {one_sided_link, "(link) names 1 records, not 2"},
  };
  for (const auto& [batch, why] : cases) {
    SCOPED_TRACE(why);
    Result<session::BatchResult> r = (*c)->transact(batch);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::corruption) << r.status().message();
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
  }
  // The same connection goes on.
  Result<session::BatchResult> r = (*c)->transact(order_batch(0.5));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ((*r)[2].value, Value(0.5));

  // A few bytes claiming more ops than a batch may hold, and more words than a request may
  // read: errors too, and the connection goes on.
  with_raw_client(server->port(), [&](RawClient& raw) {
    AmplifiedBatch over_ops(session::kBatchOpsMax + 1);
    EXPECT_NE(raw.transact(over_ops.root()).find("exceeds"), std::string::npos);
    AmplifiedBatch over_words(std::uint64_t{1} << 24);
    EXPECT_NE(raw.transact(over_words.root()).find("out of range: operation batch: Exceeded"),
              std::string::npos);
    EXPECT_EQ(raw.error_of(raw.cluster().schemaRequest().send()), "");
  });
  expect_served(*server);
}

TEST(HostileRpc, AClientThatNeverSendsIsClosedWhenIdle) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  auto server = serve(handler, {.idle_timeout = std::chrono::milliseconds(200)});
  ASSERT_NE(server, nullptr);
  RawSocket silent(server->port());
  RawSocket partial(server->port());  // half a frame header, then nothing
  ASSERT_TRUE(silent.ok() && partial.ok());
  ASSERT_TRUE(partial.send(le32(0)));
  // Others are served meanwhile.
  expect_served(*server);
  EXPECT_TRUE(silent.closed_by_peer(kWatchdog));
  EXPECT_TRUE(partial.closed_by_peer(kWatchdog));
  EXPECT_TRUE(eventually([&] { return server->connections() == 0; }));
  expect_served(*server);
}

TEST(HostileRpc, ConnectionsOverTheLimitAreClosed) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  auto server = serve(handler, {.connections_max = 2});
  ASSERT_NE(server, nullptr);
  auto connected = ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout);
  auto second = ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout);
  ASSERT_TRUE(connected.is_ok() && second.is_ok());
  std::unique_ptr<ClientConnection> first = std::move(connected).value();
  ASSERT_TRUE(first->schema().is_ok());
  ASSERT_TRUE((*second)->schema().is_ok());
  RawSocket third(server->port());
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third.closed_by_peer(kWatchdog));
  auto fourth = ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout);
  ASSERT_TRUE(fourth.is_ok());
  EXPECT_EQ((*fourth)->schema().status().code(), StatusCode::io_error);
  // A slot freed is a slot for the next client.
  first.reset();
  ASSERT_TRUE(eventually([&] { return server->connections() == 1; }));
  expect_served(*server);
}

TEST(HostileRpc, CallsInFlightOverTheLimitAreRefused) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  handler.hold();
  auto server = serve(handler, {.calls_in_flight_max = 1});
  ASSERT_NE(server, nullptr);
  with_raw_client(server->port(), [&](RawClient& raw) {
    auto send = [&] {
      auto request = raw.cluster().transactRequest();
      auto ops = request.initBatch().initOps(1);
      ops[0].setKind(wire::Op::Kind::DOT);
      return request.send();
    };
    auto first = send();
    auto second = send();
    EXPECT_NE(raw.error_of(kj::mv(second)).find("calls in flight"), std::string::npos);
    handler.release();
    auto answer = raw.wait(kj::mv(first));
    ASSERT_EQ(answer.getResult().getResults().size(), 1u);
    EXPECT_EQ(answer.getResult().getResults()[0].getCode(), 0u);
  });
  expect_served(*server);
}

/// A raw client sends a batch, waits until it reached the (held) handler and leaves.
void leave_while_pending(const ClientServer& server, StoreHandler& handler, std::size_t n) {
  with_raw_client(server.port(), [&](RawClient& raw) {
    auto request = raw.cluster().transactRequest();
    request.initBatch().initOps(1)[0].setKind(wire::Op::Kind::DOT);
    auto pending = request.send();
    // Calls are delivered in order: once the schema is answered, the batch has reached the
    // handler. The client then goes away with its call unanswered.
    EXPECT_EQ(raw.error_of(raw.cluster().schemaRequest().send()), "");
    EXPECT_TRUE(handler.wait_received(n));
  });
}

TEST(HostileRpc, AClientLeavingBeforeTheServerStopsHarmsNothing) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  handler.hold();
  {
    auto server = serve(handler);
    ASSERT_NE(server, nullptr);
    leave_while_pending(*server, handler, 1);
    ASSERT_TRUE(eventually([&] { return server->connections() == 0; }));
  }
  // The server is gone too; the handler answers the call it still holds.
  handler.release();
  ASSERT_TRUE(handler.wait_answered(1));
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  expect_served(*server);
}

TEST(HostileRpc, AClientLeavingWhileItsCallIsPendingHarmsNothing) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  handler.hold();
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  with_raw_client(server->port(), [&](RawClient& raw) {
    auto request = raw.cluster().transactRequest();
    request.initBatch().initOps(1)[0].setKind(wire::Op::Kind::DOT);
    auto pending = request.send();
    // Calls are delivered in order: once the schema is answered, the batch has reached the
    // handler. The client then goes away with its call unanswered.
    EXPECT_EQ(raw.error_of(raw.cluster().schemaRequest().send()), "");
    EXPECT_TRUE(handler.wait_received(1));
  });
  ASSERT_TRUE(eventually([&] { return server->connections() == 0; }));
  // Only now does the handler answer, from its own thread, to a client that is gone.
  handler.release();
  ASSERT_TRUE(handler.wait_answered(1));
  expect_served(*server);
}

TEST(HostileRpc, ClientsThatLeaveCannotQueueWorkBeyondTheLimit) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  handler.hold();
  // The server holds connections_max * calls_in_flight_max = 2 calls at most.
  auto server = serve(handler, {.connections_max = 2, .calls_in_flight_max = 1});
  ASSERT_NE(server, nullptr);
  leave_while_pending(*server, handler, 1);
  leave_while_pending(*server, handler, 2);
  ASSERT_TRUE(eventually([&] { return server->connections() == 0; }));
  // Both calls are still the handler's: a third is refused, whoever sends it.
  with_raw_client(server->port(), [&](RawClient& raw) {
    auto request = raw.cluster().transactRequest();
    request.initBatch().initOps(1)[0].setKind(wire::Op::Kind::DOT);
    EXPECT_NE(raw.error_of(request.send()).find("calls in flight on the server"),
              std::string::npos);
  });
  handler.release();
  ASSERT_TRUE(handler.wait_answered(2));
  expect_served(*server);
}

}  // namespace
}  // namespace mgraph::codec

namespace mgraph::codec {
namespace {

TEST(HostileRpc, LoginsTheClientNeverSendsAreRefusedAndTheServerGoesOn) {
  auto schema = order_schema();
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  ClientAccess access;
  access.anonymous = std::nullopt;
  std::atomic<int> checked{0};
  access.login = [&checked](std::string_view token) -> Result<session::Role> {
    ++checked;
    if (token == "the-one-good-token") return session::Role::write;
    return Status(StatusCode::unauthenticated, "the token is not one this node accepts");
  };
  auto started = ClientServer::start("127.0.0.1", 0, handler, {}, std::move(access));
  ASSERT_TRUE(started.is_ok()) << started.status().message();
  auto& server = *started;
  with_raw_client(server->port(), [&](RawClient& raw) {
    auto login = [&](const std::string& token) {
      auto request = raw.cluster().loginRequest();
      request.setToken(capnp::Text::Reader(token.data(), token.size()));
      return raw.error_of(request.send());
    };
    // Over the bound: refused before it is checked (or hashed, on a node).
    EXPECT_NE(login(std::string(kTokenBytesMax + 1, 't')).find(
                  "unauthenticated: a token has at most 1024 bytes"),
              std::string::npos);
    EXPECT_NE(login("").find("unauthenticated: the token is empty"), std::string::npos);
    EXPECT_EQ(checked.load(), 0);
    // Guesses, one after another on one connection: each refused alike.
    for (int i = 0; i < 100; ++i) {
      EXPECT_NE(login("guess-" + std::to_string(i)).find("unauthenticated: the token is not one"),
                std::string::npos);
    }
    EXPECT_EQ(checked.load(), 100);
    // A login does not change the bootstrap capability: it is still refused.
    EXPECT_EQ(login("the-one-good-token"), "");
    EXPECT_NE(raw.error_of(raw.cluster().schemaRequest().send()).find("unauthenticated"),
              std::string::npos);
  });
  auto c = ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout,
                                     "the-one-good-token");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  Result<session::BatchResult> r = (*c)->transact(order_batch(0.5));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ((*r)[2].value, Value(0.5));
}

}  // namespace
}  // namespace mgraph::codec

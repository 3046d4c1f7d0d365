// The client protocol against well-behaved clients: a script session run through a
// RemoteBackend prints exactly what `mgraph eval` prints for every example; the schema
// round-trips; concurrent clients are all answered; a handler's error, or a batch it drops,
// reaches the client as a Status; answers arriving after the server stopped are ignored.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "mgraph/codec/resending_backend.hpp"
#include "mgraph/session/client.hpp"
#include "rpc/rpc_support.hpp"

namespace mgraph::codec {
namespace {

using namespace mgraph::testing;

std::unique_ptr<ClientServer> serve(ClientHandler& handler, ClientServerLimits limits = {}) {
  auto server = ClientServer::start("127.0.0.1", 0, handler, limits);
  EXPECT_TRUE(server.is_ok()) << server.status().message();
  return server.is_ok() ? std::move(server).value() : nullptr;
}

std::unique_ptr<ClientServer> serve_on(ClientHandler& handler, std::uint16_t port) {
  auto server = ClientServer::start("127.0.0.1", port, handler);
  EXPECT_TRUE(server.is_ok()) << server.status().message();
  return server.is_ok() ? std::move(server).value() : nullptr;
}

std::unique_ptr<ClientConnection> connect(const ClientServer& server) {
  auto c = ClientConnection::connect("127.0.0.1", server.port(), kCallTimeout);
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  return c.is_ok() ? std::move(c).value() : nullptr;
}

std::string run_script(session::ScriptClient& client, const std::string& script) {
  std::string out;
  std::istringstream in(script);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) client.run_line(line, n, &out);
  client.finish(&out);
  EXPECT_TRUE(client.failure().is_ok()) << client.failure().message();
  return out;
}


fs::path order_schema() { return fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs"; }

TEST(ClientRpc, ScriptsPrintWhatEvalPrintsForEveryExample) {
  const std::vector<fs::path> found = example_schemas();
  ASSERT_GE(found.size(), 5u);
  for (const fs::path& mgs : found) {
    SCOPED_TRACE(mgs.string());
    auto schema = compile(mgs);
    ASSERT_NE(schema, nullptr);
    StoreHandler handler(schema);
    auto server = serve(handler);
    ASSERT_NE(server, nullptr);
    auto connection = connect(*server);
    ASSERT_NE(connection, nullptr);
    RemoteBackend backend(*connection);
    session::ScriptClient client(backend, {.batch_transactions = true, .print = {}});
    const std::string script = read_file(fs::path(mgs).replace_extension(".mgscript"));
    EXPECT_EQ(run_script(client, script),
              read_file(fs::path(mgs).replace_extension(".expected")));
  }
}

TEST(ClientRpc, SchemaRoundTrips) {
  auto schema = compile(order_schema());
  ASSERT_NE(schema, nullptr);
  const SchemaInfo info{"order_total.mgs", schema->source.text, 0xfedcba9876543210ull};
  StoreHandler handler(schema, info);
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  auto connection = connect(*server);
  ASSERT_NE(connection, nullptr);
  Result<SchemaInfo> got = connection->schema();
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  EXPECT_EQ(*got, info);
}

TEST(ClientRpc, AConnectionIdleForLongerThanItsDeadlineIsAnsweredAsUsual) {
  // kj's timer reads the clock only when the event loop runs: a deadline set after the loop
  // sat idle must count from now, not from when the loop last ran (it expired at once: a
  // person typing slower than the deadline got "no answer within" without a call made).
  auto schema = compile(order_schema());
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  constexpr std::chrono::milliseconds kDeadline{300};
  auto c = ClientConnection::connect("127.0.0.1", server->port(), kDeadline);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  ASSERT_TRUE((*c)->schema().is_ok());
  // The idleness under test, not a synchronisation: nothing runs the loop meanwhile.
  std::this_thread::sleep_for(2 * kDeadline);
  Result<SchemaInfo> got = (*c)->schema();
  EXPECT_TRUE(got.is_ok()) << got.status().message();
}

/// Answers the first `fail` batches with `error`, the rest through a Store; notes each
/// batch's transaction id.
class FlakyHandler final : public ClientHandler {
 public:
  FlakyHandler(std::shared_ptr<const schema::Schema> schema, int fail, Status error)
      : store_(std::move(schema)), fail_(fail), error_(std::move(error)) {}
  void transact(session::Batch batch, session::TxnId txn,
                std::function<void(Result<session::BatchResult>)> done) override {
    txns.push_back(txn);
    if (fail_ > 0) {
      --fail_;
      done(error_);
      return;
    }
    session::StoreBackend backend(store_);
    done(backend.run(batch));
  }
  SchemaInfo schema() override { return {}; }
  std::vector<session::TxnId> txns;  ///< on the server's thread; read after it stopped

 private:
  schema::Store store_;
  int fail_;
  Status error_;
};

/// A fake clock the resending backend's pauses advance.
struct FakeTime {
  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> pauses;
  ResendOptions options(std::chrono::milliseconds patience) {
    ResendOptions o;
    o.patience = patience;
    o.now = [this] { return now; };
    o.pause = [this](std::chrono::milliseconds d) {
      pauses.push_back(d);
      now += d;
    };
    return o;
  }
};

TEST(ResendingBackend, ABatchWhoseAnswerWasLostIsSentAgainWithTheSameId) {
  auto schema = compile(order_schema());
  ASSERT_NE(schema, nullptr);
  FlakyHandler handler(schema, 2,
                       Status(StatusCode::io_error, "unavailable: the sequencer stopped; the batch may have run"));
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  FakeTime time;
  ResendingBackend backend(
      [&] { return ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout); },
      time.options(std::chrono::seconds(10)), 77);
  Result<session::BatchResult> r = backend.run(order_batch(0.5));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(backend.resends(), 2u);
  EXPECT_EQ(time.pauses, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(20), std::chrono::milliseconds(40)}));
  ASSERT_TRUE(backend.run(order_batch(0.25)).is_ok());
  server.reset();
  // The first batch three times under one id, then the next batch under the next.
  const session::TxnId a{77, 1}, b{77, 2};
  EXPECT_EQ(handler.txns, (std::vector<session::TxnId>{a, a, a, b}));
}

TEST(ResendingBackend, ErrorsAResendCannotChangeAndTheEndOfPatienceAreReturned) {
  auto schema = compile(order_schema());
  ASSERT_NE(schema, nullptr);
  FlakyHandler refusing(schema, 1, Status(StatusCode::invalid_argument, "permission denied: role read cannot write"));
  auto server = serve(refusing);
  ASSERT_NE(server, nullptr);
  FakeTime time;
  auto connect = [&] { return ClientConnection::connect("127.0.0.1", server->port(), kCallTimeout); };
  ResendingBackend once(connect, time.options(std::chrono::seconds(10)));
  Result<session::BatchResult> r = once.run(order_batch(0.5));
  EXPECT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("permission denied"), std::string::npos) << r.status().message();
  EXPECT_EQ(once.resends(), 0u);
  server.reset();
  FlakyHandler down(schema, 1000, Status(StatusCode::failed_precondition, "the cluster is not ready"));
  server = serve(down);
  ASSERT_NE(server, nullptr);
  ResendingBackend patient(connect, time.options(std::chrono::milliseconds(500)));
  r = patient.run(order_batch(0.5));
  ASSERT_FALSE(r.is_ok());
  // Sends at 0, 20, 60, 140 and 300 ms; the next pause would end past 500.
  EXPECT_NE(r.status().message().find("the cluster is not ready (tried 5 times; gave up after 500 ms)"),
            std::string::npos) << r.status().message();
}

TEST(ResendingBackend, AScriptGoesOnAcrossAServerStartedAgainOnItsPort) {
  auto schema = compile(order_schema());
  ASSERT_NE(schema, nullptr);
  FlakyHandler first(schema, 0, Status::ok());
  auto server = serve(first);
  ASSERT_NE(server, nullptr);
  const std::uint16_t port = server->port();
  FlakyHandler second(schema, 0, Status::ok());
  FakeTime time;
  ResendOptions options = time.options(std::chrono::seconds(10));
  // The server stops after the first batch; the backend's first pause starts it again.
  options.pause = [&](std::chrono::milliseconds d) {
    time.now += d;
    if (!server) server = serve_on(second, port);
  };
  ResendingBackend backend([&] { return ClientConnection::connect("127.0.0.1", port, kCallTimeout); },
                           options, 5);
  ASSERT_TRUE(backend.run(order_batch(0.5)).is_ok());
  server.reset();
  Result<session::BatchResult> r = backend.run(order_batch(0.25));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_GE(backend.resends(), 1u);
  server.reset();
  EXPECT_EQ(first.txns, (std::vector<session::TxnId>{{5, 1}}));
  EXPECT_EQ(second.txns, (std::vector<session::TxnId>{{5, 2}}));
}

TEST(ResendingBackend, ARefusedLoginIsNotRetriedAndEveryResendIsAnnounced) {
  FakeTime time;
  int connects = 0;
  ResendingBackend refused(
      [&]() -> Result<std::unique_ptr<ClientConnection>> {
        ++connects;
        return Status(StatusCode::unauthenticated, "the node does not accept this token");
      },
      time.options(std::chrono::seconds(10)));
  EXPECT_EQ(refused.run(order_batch(0.5)).status().code(), StatusCode::unauthenticated);
  EXPECT_EQ(connects, 1);
  EXPECT_TRUE(time.pauses.empty());
  // Nothing listens: each failed connection is announced with its reason and the pause.
  std::vector<std::pair<std::string, std::chrono::milliseconds>> told;
  ResendOptions options = time.options(std::chrono::milliseconds(100));
  options.on_resend = [&](const Status& why, std::chrono::milliseconds pause) {
    told.emplace_back(why.message(), pause);
  };
  ResendingBackend down(
      []() -> Result<std::unique_ptr<ClientConnection>> {
        return Status(StatusCode::io_error, "connection refused");
      },
      options);
  EXPECT_EQ(down.run(order_batch(0.5)).status().code(), StatusCode::io_error);
  // Sends at 0, 20 and 60 ms; the next pause (80 ms) would end past 100.
  const std::vector<std::pair<std::string, std::chrono::milliseconds>> expected{
      {"connection refused", std::chrono::milliseconds(20)},
      {"connection refused", std::chrono::milliseconds(40)}};
  EXPECT_EQ(told, expected);
}

TEST(ClientRpc, ConcurrentClientsAreAllAnswered) {
  constexpr int kClients = 4;
  constexpr int kBatches = 25;
  auto schema = compile(order_schema());
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  std::mutex mutex;
  std::set<session::RecordId> created;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto connection = connect(*server);
      if (connection == nullptr) return;
      for (int b = 0; b < kBatches; ++b) {
        const double discount = c + b / 100.0;
        Result<session::BatchResult> r = connection->transact(order_batch(discount));
        ASSERT_TRUE(r.is_ok()) << r.status().message();
        ASSERT_EQ(r->size(), 3u);
        for (const session::OpResult& x : *r) ASSERT_TRUE(x.status.is_ok()) << x.status.message();
        EXPECT_EQ((*r)[2].value, Value(discount));
        std::lock_guard<std::mutex> lock(mutex);
        created.insert((*r)[0].created);
        ++answered;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(answered.load(), kClients * kBatches);
  EXPECT_EQ(created.size(), static_cast<std::size_t>(kClients * kBatches));
}

/// Answers every batch with an error, or drops it, on the RPC thread itself.
class RefusingHandler final : public ClientHandler {
 public:
  bool drop = false;
  void transact(session::Batch, session::TxnId,
                std::function<void(Result<session::BatchResult>)> done) override {
    if (!drop) done(Status(StatusCode::failed_precondition, "the cluster is read-only"));
  }
  SchemaInfo schema() override { return {}; }
};

TEST(ClientRpc, AHandlersErrorReachesTheClientAsAStatus) {
  RefusingHandler handler;
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  auto connection = connect(*server);
  ASSERT_NE(connection, nullptr);
  Result<session::BatchResult> r = connection->transact(order_batch(0.5));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::failed_precondition);
  EXPECT_EQ(r.status().message(), "the cluster is read-only");
  // A batch the handler drops unanswered is an error, not a call that never ends; the
  // connection goes on.
  handler.drop = true;
  r = connection->transact(order_batch(0.5));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::internal) << r.status().message();
  EXPECT_TRUE(connection->schema().is_ok());
}

TEST(ClientRpc, AnswersAfterTheServerStoppedAreIgnored) {
  auto schema = compile(order_schema());
  ASSERT_NE(schema, nullptr);
  StoreHandler handler(schema);
  handler.hold();
  {
    auto server = serve(handler);
    ASSERT_NE(server, nullptr);
    auto c = ClientConnection::connect("127.0.0.1", server->port(), 500ms);
    ASSERT_TRUE(c.is_ok()) << c.status().message();
    // The answer is held back: the call misses its deadline, and the connection is broken.
    Result<session::BatchResult> r = (*c)->transact(order_batch(0.5));
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::io_error);
    EXPECT_NE(r.status().message().find("no answer within 500 ms"), std::string::npos)
        << r.status().message();
    EXPECT_EQ((*c)->schema().status().code(), StatusCode::io_error);
    ASSERT_TRUE(handler.wait_received(1));
  }
  // The server is gone; its pending `done` now runs on the handler's thread.
  handler.release();
  ASSERT_TRUE(handler.wait_answered(1));
  auto server = serve(handler);
  ASSERT_NE(server, nullptr);
  auto connection = connect(*server);
  ASSERT_NE(connection, nullptr);
  Result<session::BatchResult> r = connection->transact(order_batch(0.25));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ((*r)[2].value, Value(0.25));
}

TEST(ClientRpc, ConnectingToNoServerFailsWithinTheDeadline) {
  // A port the OS gave a server that is gone: nothing listens there now.
  std::uint16_t port = 0;
  {
    RefusingHandler handler;
    auto server = serve(handler);
    ASSERT_NE(server, nullptr);
    port = server->port();
  }
  auto c = ClientConnection::connect("127.0.0.1", port, kCallTimeout);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::io_error);
}

TEST(ClientRpc, StartingOnAPortInUseFails) {
  RefusingHandler handler;
  auto first = serve(handler);
  ASSERT_NE(first, nullptr);
  auto second = ClientServer::start("127.0.0.1", first->port(), handler);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::io_error);
}

}  // namespace
}  // namespace mgraph::codec

// The client protocol against well-behaved clients: a script session run through a
// RemoteBackend prints exactly what `mgraph eval` prints for every example; the schema
// round-trips; concurrent clients are all answered; a handler's error, or a batch it drops,
// reaches the client as a Status; answers arriving after the server stopped are ignored.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

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

// Who may do what on the client protocol: a server that requires tokens refuses every call
// of a connection that has not logged in, and a login with a token it does not accept; a
// connection acts with its token's role, and a batch the role may not apply is refused
// before the handler sees it, so nothing changes. A server given no access rules serves
// every client as admin, as before tokens existed.

#include <gtest/gtest.h>

#include "rpc/rpc_support.hpp"

namespace mgraph::codec {
namespace {

using namespace mgraph::testing;
using session::Role;

constexpr const char* kReadToken = "read-token-0123456789";
constexpr const char* kWriteToken = "write-token-0123456789";
constexpr const char* kAdminToken = "admin-token-0123456789";

/// Tokens as a node holds them, without the hashing (node/client_tokens.hpp has its tests).
ClientAccess tokens_required() {
  ClientAccess access;
  access.anonymous = std::nullopt;
  access.login = [](std::string_view token) -> Result<Role> {
    if (token == kReadToken) return Role::read;
    if (token == kWriteToken) return Role::write;
    if (token == kAdminToken) return Role::admin;
    return Status(StatusCode::unauthenticated, "the token is not one this node accepts");
  };
  return access;
}

fs::path order_schema() { return fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs"; }

struct Served {
  std::unique_ptr<StoreHandler> handler;
  std::unique_ptr<ClientServer> server;
};

Served serve(ClientAccess access) {
  Served s;
  auto schema = compile(order_schema());
  EXPECT_NE(schema, nullptr);
  if (schema == nullptr) return s;
  s.handler = std::make_unique<StoreHandler>(schema, SchemaInfo{"order_total.mgs", "", 7});
  auto server = ClientServer::start("127.0.0.1", 0, *s.handler, {}, std::move(access));
  EXPECT_TRUE(server.is_ok()) << server.status().message();
  if (server.is_ok()) s.server = std::move(server).value();
  return s;
}

Result<std::unique_ptr<ClientConnection>> connect(const Served& s, const std::string& token) {
  return ClientConnection::connect("127.0.0.1", s.server->port(), kCallTimeout, token);
}

/// A batch reading record #1's discount (ok even when there is no such record: the op
/// fails, the batch runs).
session::Batch read_discount() {
  session::Batch batch(1);
  batch[0].kind = session::OpKind::get;
  batch[0].refs.push_back(session::RecordRef{1, {}, "#1"});
  batch[0].name = "discount";
  batch[0].text = "#1.discount";
  return batch;
}

/// A batch setting record #1's discount and committing.
session::Batch write_discount(double discount) {
  session::Batch batch(2);
  batch[0].kind = session::OpKind::update;
  batch[0].refs.push_back(session::RecordRef{1, {}, "#1"});
  batch[0].values = {{"discount", Value(discount)}};
  batch[1].kind = session::OpKind::commit;
  return batch;
}

TEST(ClientAccess, TheRightTokenActsWithItsRole) {
  Served s = serve(tokens_required());
  ASSERT_NE(s.server, nullptr);
  for (const auto& [token, role] : {std::pair{kReadToken, Role::read},
                                    std::pair{kWriteToken, Role::write},
                                    std::pair{kAdminToken, Role::admin}}) {
    auto c = connect(s, token);
    ASSERT_TRUE(c.is_ok()) << token << ": " << c.status().message();
    EXPECT_EQ((*c)->role(), role);
    EXPECT_TRUE((*c)->schema().is_ok());
  }
  auto writer = connect(s, kWriteToken);
  ASSERT_TRUE(writer.is_ok());
  Result<session::BatchResult> r = (*writer)->transact(order_batch(0.25));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ((*r)[2].value, Value(0.25));
}

TEST(ClientAccess, AWrongTokenIsRefusedAtConnect) {
  Served s = serve(tokens_required());
  ASSERT_NE(s.server, nullptr);
  auto c = connect(s, "not-a-token-of-this-node");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::unauthenticated) << c.status().message();
  EXPECT_EQ(c.status().to_string(), "unauthenticated: the token is not one this node accepts");
  // The server goes on: the right token still logs in.
  EXPECT_TRUE(connect(s, kReadToken).is_ok());
}

TEST(ClientAccess, NoTokenIsRefusedOnEveryCallAndNothingReachesTheHandler) {
  Served s = serve(tokens_required());
  ASSERT_NE(s.server, nullptr);
  auto c = connect(s, "");
  ASSERT_TRUE(c.is_ok()) << c.status().message();  // the bootstrap is not a call
  EXPECT_EQ((*c)->role(), std::nullopt);
  Result<session::BatchResult> r = (*c)->transact(order_batch(0.5));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().to_string(), "unauthenticated: this node requires a token: log in first");
  Result<SchemaInfo> info = (*c)->schema();
  ASSERT_FALSE(info.is_ok());
  EXPECT_EQ(info.status().code(), StatusCode::unauthenticated);
  // Refused calls leave the connection usable: it is still refused, not broken.
  r = (*c)->transact(read_discount());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::unauthenticated);
  // Nothing got to the handler: a writer's batch is the first it receives.
  auto writer = connect(s, kWriteToken);
  ASSERT_TRUE(writer.is_ok());
  ASSERT_TRUE((*writer)->transact(order_batch(0.5)).is_ok());
  Result<session::BatchResult> first = (*writer)->transact(read_discount());
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ((*first)[0].value, Value(0.5)) << "record #1 is the writer's: nothing ran before it";
}

TEST(ClientAccess, AReadTokenCannotWriteAndNothingCommittedChanges) {
  Served s = serve(tokens_required());
  ASSERT_NE(s.server, nullptr);
  auto writer = connect(s, kWriteToken);
  auto reader = connect(s, kReadToken);
  ASSERT_TRUE(writer.is_ok() && reader.is_ok());
  ASSERT_TRUE((*writer)->transact(order_batch(0.5)).is_ok());
  Result<session::BatchResult> before = (*reader)->transact(read_discount());
  ASSERT_TRUE(before.is_ok()) << before.status().message();
  ASSERT_TRUE((*before)[0].status.is_ok()) << (*before)[0].status.message();
  EXPECT_EQ((*before)[0].value, Value(0.5));
  const std::uint64_t revision = (*before)[0].revision;

  Result<session::BatchResult> r = (*reader)->transact(write_discount(0.9));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().to_string(), "permission denied: role read cannot write (operation 0: update)");
  // Each write kind alone, even after a read in the same batch, is refused the same way.
  for (const session::OpKind kind : {session::OpKind::commit, session::OpKind::reject,
                                     session::OpKind::undo, session::OpKind::redo}) {
    session::Batch batch = read_discount();
    batch.push_back(session::Op{});
    batch.back().kind = kind;
    r = (*reader)->transact(batch);
    ASSERT_FALSE(r.is_ok()) << session::op_kind_name(kind);
    EXPECT_EQ(r.status().code(), StatusCode::permission_denied);
    EXPECT_NE(r.status().message().find(std::string("operation 1: ") + session::op_kind_name(kind)),
              std::string::npos)
        << r.status().message();
  }
  Result<session::BatchResult> after = (*reader)->transact(read_discount());
  ASSERT_TRUE(after.is_ok()) << after.status().message();
  EXPECT_EQ((*after)[0].value, Value(0.5));
  EXPECT_EQ((*after)[0].revision, revision);
}

TEST(ClientAccess, AdminAndWriteMayWrite) {
  Served s = serve(tokens_required());
  ASSERT_NE(s.server, nullptr);
  auto admin = connect(s, kAdminToken);
  ASSERT_TRUE(admin.is_ok());
  ASSERT_TRUE((*admin)->transact(order_batch(0.5)).is_ok());
  Result<session::BatchResult> r = (*admin)->transact(write_discount(0.75));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_TRUE((*r)[1].status.is_ok()) << (*r)[1].status.message();
  session::Batch undo(1);
  undo[0].kind = session::OpKind::undo;
  ASSERT_TRUE((*admin)->transact(undo).is_ok());
  r = (*admin)->transact(read_discount());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)[0].value, Value(0.5));
}

TEST(ClientAccess, AnonymousClientsActWithTheAnonymousRole) {
  ClientAccess access = tokens_required();
  access.anonymous = Role::read;
  Served s = serve(std::move(access));
  ASSERT_NE(s.server, nullptr);
  auto anonymous = connect(s, "");
  ASSERT_TRUE(anonymous.is_ok());
  EXPECT_TRUE((*anonymous)->transact(read_discount()).is_ok());
  Result<session::BatchResult> r = (*anonymous)->transact(order_batch(0.5));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::permission_denied);
  // A token still gives its own role.
  auto writer = connect(s, kWriteToken);
  ASSERT_TRUE(writer.is_ok());
  EXPECT_TRUE((*writer)->transact(order_batch(0.5)).is_ok());
}

TEST(ClientAccess, AnyRoleMayPollEffectsAndOnlyWriteAndAdminMayAckThem) {
  ClientAccess access = tokens_required();
  access.anonymous = Role::read;
  Served s = serve(std::move(access));
  ASSERT_NE(s.server, nullptr);
  auto reader = connect(s, kReadToken);
  ASSERT_TRUE(reader.is_ok());
  // The handler here delivers no effects: its answer reaches the client as it is.
  Result<std::vector<std::string>> polled = (*reader)->poll_effects({"Order.big"}, 10);
  ASSERT_FALSE(polled.is_ok());
  EXPECT_EQ(polled.status().to_string(), "failed precondition: this server delivers no effects");
  Result<std::string> acked = (*reader)->ack_effect(3, 1);
  ASSERT_FALSE(acked.is_ok());
  EXPECT_EQ(acked.status().to_string(),
            "permission denied: role read cannot acknowledge effects");
  auto writer = connect(s, kWriteToken);
  ASSERT_TRUE(writer.is_ok());
  Result<std::string> written = (*writer)->ack_effect(3, 1);
  ASSERT_FALSE(written.is_ok());
  EXPECT_EQ(written.status().code(), StatusCode::failed_precondition);
  // More effect names than a poll may carry are refused before the handler sees them.
  Result<std::vector<std::string>> many =
      (*writer)->poll_effects(std::vector<std::string>(kPollEffectNamesMax + 1, "Order.big"), 10);
  ASSERT_FALSE(many.is_ok());
  EXPECT_EQ(many.status().to_string(), "out of range: pollEffects: 257 effect names; at most 256");
}

TEST(ClientAccess, AConsumerCapabilityPollsAndAcksWithItsConnectionsRole) {
  ClientAccess access = tokens_required();
  Served s = serve(std::move(access));
  ASSERT_NE(s.server, nullptr);
  auto reader = connect(s, kReadToken);
  ASSERT_TRUE(reader.is_ok());
  // Its calls are the connection's pollEffects and ackEffects: the handler's answer, and the
  // role's limits.
  const std::unique_ptr<ClientConnection::Consumer> member = (*reader)->consumer("billing", {"Order.big"});
  Result<std::vector<std::string>> polled = member->poll(10);
  ASSERT_FALSE(polled.is_ok());
  EXPECT_EQ(polled.status().to_string(), "failed precondition: this server delivers no effects");
  Result<std::vector<std::string>> acked = member->ack({"3:1"});
  ASSERT_FALSE(acked.is_ok());
  EXPECT_EQ(acked.status().to_string(), "permission denied: role read cannot acknowledge effects");
  // A bad group name, or no effect, is refused with the first call.
  Result<std::vector<std::string>> bad = (*reader)->consumer("no spaces", {"Order.big"})->poll(10);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().to_string(),
            "invalid argument: consumer group 'no spaces' is not a name of 1 to 64 letters, digits, '_', "
            "'-' or '.'");
  Result<std::vector<std::string>> none = (*reader)->consumer("billing", {})->poll(10);
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().to_string(), "out of range: consumer: 0 effect names; 1 to 256");
  // The connection still serves.
  EXPECT_TRUE((*reader)->transact(read_discount()).is_ok());
}

TEST(ClientAccess, WithoutRulesEveryClientIsAdminAndNoTokenIsAccepted) {
  Served s = serve(ClientAccess{});
  ASSERT_NE(s.server, nullptr);
  auto anonymous = connect(s, "");
  ASSERT_TRUE(anonymous.is_ok());
  EXPECT_TRUE((*anonymous)->transact(order_batch(0.5)).is_ok());
  auto c = connect(s, kAdminToken);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().to_string(), "unauthenticated: this node accepts no tokens");
}

TEST(ClientAccess, ATokenLongerThanTheBoundIsRefusedBeforeItIsSent) {
  Served s = serve(tokens_required());
  ASSERT_NE(s.server, nullptr);
  auto c = connect(s, std::string(kTokenBytesMax + 1, 'x'));
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::invalid_argument) << c.status().message();
}

}  // namespace
}  // namespace mgraph::codec

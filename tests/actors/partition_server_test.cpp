// One partition answering the driver's requests (actors/partitioned.hpp): a malformed
// request — a Mark or Resolve naming no mirror, ops of a batch sent again, bytes that are
// no request — gets an error reply and changes nothing, and the partition serves on;
// `reset` empties it; every reply says whether its transaction is open and its revision.

#include "mgraph/actors/partitioned.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mgraph/graph/schema/schema.hpp"

namespace mgraph::actors {
namespace {

using codec::PartitionMessage;
using codec::PartitionReply;
using codec::PartitionRequest;
using codec::PartitionRequestKind;

constexpr const char* kSchema = R"(
entity Order {
  items: many Item via order
  total: float = sum(items[*].price)
}
entity Item { price: float = 0 }
)";

std::shared_ptr<const schema::Schema> compiled() {
  auto s = schema::compile_schema(schema::SourceFile{"partition_server_test.mgs", kSchema});
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

std::unique_ptr<PartitionServer> server(std::uint32_t partition, std::uint32_t partitions) {
  schema::StoreOptions so;
  so.placement = schema::Placement{partition, partitions, 0};
  return std::make_unique<PartitionServer>(compiled(), so);
}

session::Op create(const std::string& entity, session::FieldValues values = {}) {
  session::Op op;
  op.kind = session::OpKind::create;
  op.entity = entity;
  op.values = std::move(values);
  return op;
}

session::Op get(session::RecordId id, const std::string& field) {
  session::Op op;
  op.kind = session::OpKind::get;
  // Appended, not "#" + ...: GCC 12 warns (-Wrestrict) about operator+ on a literal.
  std::string ref = "#";
  ref += std::to_string(id);
  op.refs = {session::RecordRef{id, {}, ref}};
  op.name = field;
  op.text = ref;
  op.text += ".";
  op.text += field;
  return op;
}

session::Op plain(session::OpKind kind) {
  session::Op op;
  op.kind = kind;
  return op;
}

PartitionRequest apply(std::uint64_t batch, std::uint32_t first, session::Batch ops) {
  PartitionRequest q;
  q.kind = PartitionRequestKind::apply;
  q.batch = batch;
  q.first = first;
  q.ops = std::move(ops);
  return q;
}

PartitionRequest of_kind(PartitionRequestKind kind) {
  PartitionRequest q;
  q.kind = kind;
  return q;
}

PartitionRequest deliver(PartitionMessage m) {
  PartitionRequest q = of_kind(PartitionRequestKind::deliver);
  q.messages.push_back(std::move(m));
  return q;
}

PartitionMessage mark(NodeId node) { return PartitionMessage{false, node, false, Value(), {}}; }
PartitionMessage resolve(NodeId node) { return PartitionMessage{true, node, true, Value(1.5), {}}; }

/// The partition of `partitions` that owns record `id`.
std::uint32_t owner(session::RecordId id, std::uint32_t partitions) {
  return schema::Placement::partition_of(id, partitions, 0);
}

/// A committed Item (price 4) and Order holding it: batch `batch`, on `s`; the ids.
std::pair<session::RecordId, session::RecordId> order_and_item(PartitionServer& s, std::uint64_t batch) {
  session::Op item = create("Item", {{"price", Value(4.0)}});
  session::Op order = create("Order");
  session::Op link = plain(session::OpKind::link);
  link.refs = {session::RecordRef{0, {1}, "o"}, session::RecordRef{0, {0}, "i"}};
  link.name = "items";
  const PartitionReply a = s.serve(apply(batch, 0, {item, order, link, plain(session::OpKind::commit)}));
  EXPECT_TRUE(a.status.is_ok()) << a.status.message();
  EXPECT_EQ(a.results.size(), 4u);
  for (const session::OpResult& r : a.results) EXPECT_TRUE(r.status.is_ok()) << r.status.message();
  EXPECT_FALSE(a.in_transaction);
  return {a.results.size() == 4 ? a.results[1].created : 0, a.results.empty() ? 0 : a.results[0].created};
}

/// Asserts that `s` still answers: a read in a new batch gives `expected`.
void serves_on(PartitionServer& s, std::uint64_t batch, session::RecordId id, const std::string& field,
               const Value& expected) {
  const PartitionReply a = s.serve(apply(batch, 0, {get(id, field)}));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  ASSERT_EQ(a.results.size(), 1u);
  EXPECT_TRUE(a.results[0].status.is_ok()) << a.results[0].status.message();
  EXPECT_EQ(a.results[0].value, expected) << a.results[0].value.to_json();
}

TEST(PartitionServer, DeliveriesNamingNoMirrorAreRefusedAndTheServerServesOn) {
  // Three partitions: on partition 0 a computed field of a record owned by another is a
  // mirror; one of its own records' is not, nor is any state field. (Not two: modulo 2,
  // FNV-1a is the parity of the id, and these orders all have even ids.)
  auto s = server(0, 3);
  session::RecordId mine = 0, mine_item = 0, theirs = 0;
  std::uint64_t batch = 1;
  for (int k = 0; k < 16 && (mine == 0 || theirs == 0); ++k) {
    const auto [order, item] = order_and_item(*s, batch++);
    ASSERT_NE(order, 0u);
    if (owner(order, 3) == 0) {
      mine = order;
      mine_item = item;
    } else {
      theirs = order;
    }
  }
  ASSERT_NE(mine, 0u);
  ASSERT_NE(theirs, 0u);
  const schema::Store& store = s->store();
  const NodeId mirror = store.node_of(theirs, "total").value();
  const NodeId own_total = store.node_of(mine, "total").value();
  const NodeId state = store.node_of(mine_item, "price").value();
  const std::size_t nodes = s->store().graph().node_count();
  const std::uint64_t revision = s->store().graph().revision();
  ASSERT_GT(revision, 0u);

  struct Bad {
    std::string what;
    PartitionMessage message;
    StatusCode code;
  };
  const std::vector<Bad> bad = {
      {"a Mark beyond the graph", mark(static_cast<NodeId>(nodes)), StatusCode::not_found},
      {"a Mark far beyond the graph", mark(kNoNode - 1), StatusCode::not_found},
      {"a Mark of no node", mark(kNoNode), StatusCode::not_found},
      {"a Resolve beyond the graph", resolve(static_cast<NodeId>(nodes + 100)), StatusCode::not_found},
      {"a Resolve of no node", resolve(kNoNode), StatusCode::not_found},
      {"a Mark of an owned computed field", mark(own_total), StatusCode::invalid_argument},
      {"a Mark of a state field", mark(state), StatusCode::invalid_argument},
      {"a Resolve of an owned computed field", resolve(own_total), StatusCode::invalid_argument},
      {"a Resolve of a state field", resolve(state), StatusCode::invalid_argument},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.what);
    const PartitionReply a = s->serve(deliver(b.message));
    EXPECT_FALSE(a.status.is_ok());
    // Beyond the graph: not_found or invalid_argument, whichever the graph says; never ok.
    if (b.code == StatusCode::invalid_argument) {
      EXPECT_EQ(a.status.code(), StatusCode::invalid_argument) << a.status.message();
      EXPECT_NE(a.status.message().find("not a mirror"), std::string::npos) << a.status.message();
    }
    EXPECT_TRUE(a.stale.empty());
    EXPECT_TRUE(a.resolved.empty());
    EXPECT_FALSE(a.in_transaction);
    EXPECT_EQ(a.revision, revision);
    EXPECT_EQ(s->store().graph().node_count(), nodes);
    serves_on(*s, batch++, mine, "total", Value(4.0));
  }
  // A good message after a bad one in the same request: the bad one stops the request.
  PartitionRequest mixed = deliver(mark(own_total));
  mixed.messages.push_back(mark(mirror));
  PartitionReply a = s->serve(mixed);
  EXPECT_FALSE(a.status.is_ok());
  EXPECT_FALSE(s->store().graph().is_stale(mirror));

  // The real mirror is taken: marked, then resolved, then computed through.
  a = s->serve(deliver(mark(mirror)));
  EXPECT_TRUE(a.status.is_ok()) << a.status.message();
  EXPECT_TRUE(s->store().graph().is_stale(mirror));
  a = s->serve(of_kind(PartitionRequestKind::compute));
  EXPECT_TRUE(a.status.is_ok()) << a.status.message();
  a = s->serve(deliver(PartitionMessage{true, mirror, true, Value(8.0), {}}));
  EXPECT_TRUE(a.status.is_ok()) << a.status.message();
  a = s->serve(of_kind(PartitionRequestKind::pending));
  EXPECT_TRUE(a.pending.empty());
  a = s->serve(of_kind(PartitionRequestKind::reject));
  EXPECT_FALSE(a.in_transaction);
  EXPECT_EQ(a.revision, revision);
  serves_on(*s, batch++, mine, "total", Value(4.0));
}

TEST(PartitionServer, OpsOfABatchSentAgainAreRefusedAndTheBatchGoesOn) {
  auto s = server(0, 1);
  // Batch 1: a create, then (as another request) a create naming nothing and a commit.
  PartitionReply a = s->serve(apply(1, 0, {create("Item", {{"price", Value(2.0)}})}));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  ASSERT_EQ(a.results.size(), 1u);
  const session::RecordId first_item = a.results[0].created;
  EXPECT_TRUE(a.in_transaction);
  const std::size_t nodes = s->store().graph().node_count();

  // The same op again, and ops from before it: `first` went backwards in batch 1.
  a = s->serve(apply(1, 0, {create("Item", {{"price", Value(3.0)}})}));
  EXPECT_FALSE(a.status.is_ok());
  EXPECT_EQ(a.status.code(), StatusCode::invalid_argument) << a.status.message();
  EXPECT_TRUE(a.results.empty());
  EXPECT_TRUE(a.in_transaction);
  EXPECT_EQ(s->store().graph().node_count(), nodes);  // nothing was created
  a = s->serve(apply(1, 1, {create("Item", {{"price", Value(5.0)}})}));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  const session::RecordId second_item = a.results.at(0).created;
  EXPECT_NE(second_item, first_item);
  // Now 2 ops of batch 1 are known: index 0 and 1 are both behind.
  for (const std::uint32_t first : {0u, 1u}) {
    a = s->serve(apply(1, first, {plain(session::OpKind::commit)}));
    EXPECT_EQ(a.status.code(), StatusCode::invalid_argument) << "first " << first;
    EXPECT_TRUE(a.results.empty());
    EXPECT_TRUE(a.in_transaction) << "first " << first;
    EXPECT_EQ(a.revision, 0u);
  }
  // A gap (a read applied only on another partition) is fine: op 3 of batch 1.
  a = s->serve(apply(1, 3, {plain(session::OpKind::commit)}));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  ASSERT_EQ(a.results.size(), 1u);
  EXPECT_TRUE(a.results[0].status.is_ok()) << a.results[0].status.message();
  EXPECT_FALSE(a.in_transaction);
  EXPECT_EQ(a.revision, 1u);
  // A gap beyond any batch is not.
  a = s->serve(apply(1, 4 + static_cast<std::uint32_t>(session::kBatchOpsMax) + 1, {get(first_item, "price")}));
  EXPECT_EQ(a.status.code(), StatusCode::invalid_argument);
  // The next batch starts again at 0.
  serves_on(*s, 2, first_item, "price", Value(2.0));
  serves_on(*s, 3, second_item, "price", Value(5.0));
}

TEST(PartitionServer, ItsCountersSayHowLargeItsGraphIsAfterEachRequest) {
  auto s = server(0, 1);
  EXPECT_EQ(s->counters().graph_nodes.load(), 0u);  // no request yet
  PartitionReply a = s->serve(of_kind(PartitionRequestKind::reset));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  const std::uint64_t empty = s->counters().graph_nodes.load();
  EXPECT_EQ(empty, s->store().graph().node_count());
  a = s->serve(apply(
      1, 0,
      {create("Order"), create("Item", {{"price", Value(2.0)}}), plain(session::OpKind::commit)}));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  EXPECT_GT(s->counters().graph_nodes.load(), empty);
  EXPECT_EQ(s->counters().graph_nodes.load(), s->store().graph().node_count());
  a = s->serve(of_kind(PartitionRequestKind::reset));
  EXPECT_EQ(s->counters().graph_nodes.load(), empty);
  EXPECT_EQ(s->counters().requests.load(), 3u);
}

TEST(PartitionServer, GarbageBytesGetAnErrorReplyAndTheServerServesOn) {
  auto s = server(0, 1);
  // A transaction left open: the error replies say so.
  PartitionReply a = s->serve(apply(1, 0, {create("Item", {{"price", Value(7.0)}})}));
  ASSERT_TRUE(a.status.is_ok());
  const session::RecordId item = a.results.at(0).created;
  const std::string good = codec::encode_partition_request(apply(1, 1, {plain(session::OpKind::commit)})).value();
  std::vector<std::string> garbage = {
      std::string(),
      std::string("MGPQ"),
      std::string("MGPQ\x01\0\0\0", 8),
      std::string("MGPQ") + static_cast<char>(codec::kPartitionFormatVersion + 1) +
          std::string(3, '\0') + good.substr(8),                     // another version
      std::string("MGPR") + good.substr(4),                         // a reply's magic
      good.substr(0, good.size() - 8),                              // cut short
      good + std::string(8, '\0'),                                  // trailing words
      std::string(64, '\xff'),
      codec::encode_partition_reply(PartitionReply{}).value(),      // a reply
  };
  for (std::size_t i = 0; i < garbage.size(); ++i) {
    SCOPED_TRACE("garbage " + std::to_string(i));
    const std::string out = s->serve_bytes(garbage[i]);
    Result<PartitionReply> reply = codec::decode_partition_reply(out);
    ASSERT_TRUE(reply.is_ok()) << reply.status().message();
    EXPECT_FALSE(reply->status.is_ok());
    EXPECT_TRUE(reply->results.empty());
    EXPECT_TRUE(reply->in_transaction);
    EXPECT_EQ(reply->revision, 0u);
  }
  // The commit itself, through its bytes: the batch goes on where it was.
  Result<PartitionReply> reply = codec::decode_partition_reply(s->serve_bytes(good));
  ASSERT_TRUE(reply.is_ok()) << reply.status().message();
  ASSERT_TRUE(reply->status.is_ok()) << reply->status.message();
  ASSERT_EQ(reply->results.size(), 1u);
  EXPECT_TRUE(reply->results[0].status.is_ok()) << reply->results[0].status.message();
  EXPECT_FALSE(reply->in_transaction);
  EXPECT_EQ(reply->revision, 1u);
  serves_on(*s, 2, item, "price", Value(7.0));
}

TEST(PartitionServer, RepliesSayWhetherTheTransactionIsOpenAndTheRevision) {
  auto s = server(0, 1);
  PartitionReply a = s->serve(of_kind(PartitionRequestKind::pending));
  EXPECT_TRUE(a.status.is_ok());
  EXPECT_FALSE(a.in_transaction);
  EXPECT_EQ(a.revision, 0u);

  a = s->serve(apply(1, 0, {create("Item", {{"price", Value(4.0)}})}));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  ASSERT_EQ(a.results.size(), 1u);
  const session::RecordId item = a.results[0].created;
  EXPECT_NE(item, 0u);
  EXPECT_TRUE(a.in_transaction);
  EXPECT_EQ(a.revision, 0u);

  a = s->serve(apply(1, 1, {plain(session::OpKind::commit)}));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  ASSERT_EQ(a.results.size(), 1u);
  EXPECT_TRUE(a.results[0].status.is_ok()) << a.results[0].status.message();
  EXPECT_EQ(a.results[0].revision, 1u);
  EXPECT_FALSE(a.in_transaction);
  EXPECT_EQ(a.revision, 1u);
  // One partition owns every record: its share is the whole commit's count.
  EXPECT_EQ(a.owned_changed, a.results[0].changed);

  // Create and commit in one request: the second revision.
  a = s->serve(apply(2, 0, {create("Order"), plain(session::OpKind::commit)}));
  ASSERT_TRUE(a.status.is_ok()) << a.status.message();
  ASSERT_EQ(a.results.size(), 2u);
  EXPECT_FALSE(a.in_transaction);
  EXPECT_EQ(a.revision, 2u);
  // A request that changes nothing repeats both.
  a = s->serve(of_kind(PartitionRequestKind::dot));
  EXPECT_FALSE(a.in_transaction);
  EXPECT_EQ(a.revision, 2u);
  // A write opens the transaction; reject closes it at the same revision.
  session::Op update = plain(session::OpKind::update);
  update.refs = {session::RecordRef{item, {}, "i"}};
  update.values = {{"price", Value(9.0)}};
  a = s->serve(apply(3, 0, {update}));
  ASSERT_TRUE(a.status.is_ok());
  EXPECT_TRUE(a.results.at(0).status.is_ok()) << a.results.at(0).status.message();
  EXPECT_TRUE(a.in_transaction);
  EXPECT_EQ(a.revision, 2u);
  a = s->serve(of_kind(PartitionRequestKind::reject));
  EXPECT_FALSE(a.in_transaction);
  EXPECT_EQ(a.revision, 2u);
  serves_on(*s, 4, item, "price", Value(4.0));
}

TEST(PartitionServer, ResetEmptiesThePartition) {
  for (const std::uint32_t partitions : {1u, 3u}) {
    SCOPED_TRACE(std::to_string(partitions) + " partitions");
    auto s = server(0, partitions);
    PartitionReply a = s->serve(apply(1, 0, {create("Item", {{"price", Value(4.0)}}), plain(session::OpKind::commit)}));
    ASSERT_TRUE(a.status.is_ok()) << a.status.message();
    ASSERT_EQ(a.results.size(), 2u);
    const session::RecordId item = a.results[0].created;
    ASSERT_NE(item, 0u);
    EXPECT_EQ(a.revision, 1u);
    serves_on(*s, 2, item, "price", Value(4.0));
    // A transaction left open, then reset.
    a = s->serve(apply(3, 0, {create("Order")}));
    ASSERT_TRUE(a.in_transaction);

    a = s->serve(of_kind(PartitionRequestKind::reset));
    EXPECT_TRUE(a.status.is_ok()) << a.status.message();
    EXPECT_FALSE(a.in_transaction);
    EXPECT_EQ(a.revision, 0u);
    EXPECT_EQ(a.owned_changed, 0u);
    EXPECT_FALSE(s->store().exists(item));
    EXPECT_EQ(s->store().graph().node_count(), 0u);

    // The record created before is gone: a read of it fails; so do an undo and a probe.
    a = s->serve(apply(4, 0, {get(item, "price"), plain(session::OpKind::undo)}));
    ASSERT_TRUE(a.status.is_ok()) << a.status.message();
    ASSERT_EQ(a.results.size(), 2u);
    EXPECT_FALSE(a.results[0].status.is_ok());
    EXPECT_EQ(a.results[0].status.code(), StatusCode::not_found) << a.results[0].status.message();
    EXPECT_FALSE(a.results[1].status.is_ok());
    PartitionRequest probe = of_kind(PartitionRequestKind::probe);
    probe.record = item;
    probe.name = "price";
    EXPECT_FALSE(s->serve(probe).computed);

    // Reset in the middle of a batch: the batch's earlier ops are forgotten too, so the
    // same batch number may start again at 0 (a driver that runs its log from the start).
    a = s->serve(apply(5, 0, {create("Item", {{"price", Value(6.0)}})}));
    ASSERT_TRUE(a.status.is_ok());
    a = s->serve(of_kind(PartitionRequestKind::reset));
    ASSERT_TRUE(a.status.is_ok());
    a = s->serve(apply(5, 0, {create("Item", {{"price", Value(6.0)}}), plain(session::OpKind::commit)}));
    ASSERT_TRUE(a.status.is_ok()) << a.status.message();
    ASSERT_EQ(a.results.size(), 2u);
    EXPECT_EQ(a.revision, 1u);
    serves_on(*s, 6, a.results[0].created, "price", Value(6.0));
  }
}

}  // namespace
}  // namespace mgraph::actors

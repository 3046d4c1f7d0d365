// The documents' driver over partition actors (actors/documents.hpp) in a threaded CAF
// actor system, every request and reply travelling as bytes between actors: every example
// prints its expected output on one and on three partitions; a partition actor that is
// gone is reported as unavailable, by name, and the others answer.

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>

#include "documents_backend.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "mgraph/actors/documents.hpp"
#include "mgraph/session/client.hpp"
#include "support/schema_files.hpp"
#include "support/script_outcome.hpp"

namespace mgraph::actors {
namespace {

namespace fs = std::filesystem;

using codec::PartitionReply;
using codec::PartitionRequest;
using codec::PartitionRequestKind;

const caf::timespan kTimeout{std::chrono::seconds(30)};

using DocumentsBackend = testing::DocumentsBackend;

/// `n` partition actors, partition p placed as p of n (salt 0, as on a cluster).
std::vector<caf::actor> spawn_partitions(caf::actor_system& sys,
                                         std::shared_ptr<const schema::Schema> schema,
                                         std::uint32_t n) {
  std::vector<caf::actor> out;
  for (std::uint32_t p = 0; p < n; ++p) {
    schema::StoreOptions so;
    so.placement = schema::Placement{p, n, 0};
    out.push_back(sys.spawn(partition_actor, std::make_shared<PartitionServer>(schema, so)));
  }
  return out;
}

/// Sends exit to `actor` and waits (bounded) until it is gone.
::testing::AssertionResult stop(caf::actor_system& sys, const caf::actor& actor) {
  caf::scoped_actor watcher{sys};
  watcher->monitor(actor);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  bool down = false;
  watcher->receive(
      [&](const caf::down_msg& m) { down = m.source == actor.address(); },
      caf::after(std::chrono::seconds(30)) >> [] {});
  return down ? ::testing::AssertionSuccess() : ::testing::AssertionFailure() << "no down message";
}

void stop_all(const std::vector<caf::actor>& actors) {
  for (const caf::actor& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

/// An example as the tests below run it.
struct Example {
  std::string name;  ///< its schema file's name
  std::shared_ptr<const schema::Schema> schema;
  std::string script, expected;
};

/// Every example that has a script and its expected output.
std::vector<Example> scripted_examples() {
  std::vector<Example> out;
  for (const fs::path& mgs : testing::scripted_examples(MGRAPH_EXAMPLES_DIR)) {
    out.push_back(Example{mgs.filename().string(), testing::compile_file(mgs),
                          testing::read_file(fs::path(mgs).replace_extension(".mgscript")),
                          testing::read_file(fs::path(mgs).replace_extension(".expected"))});
  }
  return out;
}

/// What `script` prints through a driver over `actors`; the driver is gone on return.
std::string print_through(caf::actor_system& sys, const std::vector<caf::actor>& actors, const std::string& script,
                          PartitionedDocuments::Traffic* traffic = nullptr) {
  PartitionedDocuments documents(std::make_unique<ActorPartitions>(sys, actors, kTimeout),
                                 PartitionedDocuments::Options{});
  EXPECT_EQ(documents.partitions(), actors.size());
  DocumentsBackend backend(documents);
  session::ScriptClient client(backend, session::ClientOptions{.batch_transactions = true, .print = {}});
  std::string out = testing::run_script(client, script).out;
  if (traffic != nullptr) *traffic = documents.traffic();
  return out;
}

struct PartitionActors : ::testing::Test {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
};

TEST_F(PartitionActors, EveryExamplePrintsItsExpectedOutputOnOneAndThreePartitions) {
  const std::vector<Example> examples = scripted_examples();
  ASSERT_GE(examples.size(), 5u);
  for (const Example& e : examples) {
    ASSERT_NE(e.schema, nullptr) << e.name;
    for (const std::uint32_t n : {1u, 3u}) {
      SCOPED_TRACE(e.name + " on " + std::to_string(n) + " partition actors");
      const std::vector<caf::actor> actors = spawn_partitions(sys, e.schema, n);
      PartitionedDocuments::Traffic traffic;
      EXPECT_EQ(print_through(sys, actors, e.script, &traffic), e.expected);
      // Several partitions exchanged marks and resolutions through the driver for the
      // scripts that compute across records.
      if (n > 1 && e.name == "shop.mgs") {
        EXPECT_GT(traffic.marks, 0u);
        EXPECT_GT(traffic.resolutions, 0u);
      }
      stop_all(actors);
    }
  }
}

/// An actor system with a middleman: partition hosts are brokers on its I/O thread.
struct PartitionHosts : ::testing::Test {
  static caf::actor_system_config& with_middleman(caf::actor_system_config& c) {
    c.load<caf::io::middleman>();
    return c;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{with_middleman(cfg)};
};

TEST_F(PartitionHosts, EveryExamplePrintsItsExpectedOutputWhateverServesEachRequest) {
  // inline_bytes_max 0: every request goes to the host's worker; 300: the small ones are
  // served on the I/O thread and the larger ones by the worker, and each one after a
  // handed one too until the worker is done; the default: nearly all on the I/O thread.
  const std::vector<Example> examples = scripted_examples();
  ASSERT_GE(examples.size(), 5u);
  for (const Example& e : examples) {
    ASSERT_NE(e.schema, nullptr) << e.name;
    for (const std::size_t inline_max : {std::size_t{0}, std::size_t{300}, kInlineRequestBytesMax}) {
      SCOPED_TRACE(e.name + " with inline_bytes_max " + std::to_string(inline_max));
      std::vector<caf::actor> hosts;
      for (std::uint32_t p = 0; p < 3; ++p) {
        schema::StoreOptions so;
        so.placement = schema::Placement{p, 3, 0};
        hosts.push_back(sys.middleman().spawn_broker(partition_host, std::make_shared<PartitionServer>(e.schema, so),
                                                     inline_max));
      }
      EXPECT_EQ(print_through(sys, hosts, e.script), e.expected);
      // The admin socket's read goes to the worker and is answered by it.
      caf::scoped_actor self{sys};
      std::string read;
      self->request(hosts[0], kTimeout, inspect_atom::value, std::string())
          .receive([&](const std::string& json) { read = json; }, [&](caf::error& err) { read = sys.render(err); });
      EXPECT_EQ(read.rfind("{\"nodes\":", 0), 0u) << read;  // the size of partition 0's graph
      for (const caf::actor& h : hosts) EXPECT_TRUE(stop(sys, h));
    }
  }
}

TEST_F(PartitionActors, APartitionActorThatIsGoneIsUnavailableAndTheOthersAnswer) {
  const fs::path mgs = fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs";
  auto schema = testing::compile_file(mgs);
  ASSERT_NE(schema, nullptr);
  const std::vector<caf::actor> actors = spawn_partitions(sys, schema, 3);
  PartitionRequest pending;
  pending.kind = PartitionRequestKind::pending;
  const std::vector<PartitionSet::Call> to_all = {{0, pending}, {1, pending}, {2, pending}};
  {
    auto set = std::make_unique<ActorPartitions>(sys, actors, kTimeout);
    ActorPartitions& partitions = *set;
    partitions.set_hosts({"node a", "node b", "node a"});
    ASSERT_EQ(partitions.size(), 3u);
    // All three answer.
    std::vector<PartitionReply> replies = partitions.call(to_all);
    ASSERT_EQ(replies.size(), 3u);
    for (const PartitionReply& a : replies) EXPECT_TRUE(a.status.is_ok()) << a.status.message();

    // Documents over them, with a record on every partition.
    PartitionedDocuments documents(std::move(set), PartitionedDocuments::Options{});
    DocumentsBackend backend(documents);
    {
      session::ScriptClient client(backend, session::ClientOptions{.batch_transactions = true, .print = {}});
      const testing::Outcome o = testing::run_script(
          client, "create Item i price=4\ncreate Order o\nlink o.items i\ncommit\nget o.subtotal\n");
      EXPECT_EQ(o.failed, 0u) << o.out;
      EXPECT_NE(o.out.find("\"value\":4"), std::string::npos) << o.out;
    }

    // Partition 1 is sent an exit and is gone.
    ASSERT_TRUE(stop(sys, actors[1]));

    replies = partitions.call(to_all);
    ASSERT_EQ(replies.size(), 3u);
    EXPECT_TRUE(replies[0].status.is_ok()) << replies[0].status.message();
    EXPECT_TRUE(replies[2].status.is_ok()) << replies[2].status.message();
    EXPECT_FALSE(replies[1].status.is_ok());
    EXPECT_NE(replies[1].status.message().find("unavailable: partition 1 (node b): gone"), std::string::npos)
        << replies[1].status.message();
    // Alone, and more than once: each call is answered.
    for (int k = 0; k < 3; ++k) {
      replies = partitions.call({{1, pending}});
      ASSERT_EQ(replies.size(), 1u);
      EXPECT_FALSE(replies[0].status.is_ok());
      EXPECT_NE(replies[0].status.message().find("unavailable: partition 1"), std::string::npos)
          << replies[0].status.message();
    }
    // A partition with no actor at all.
    replies = partitions.call({{3, pending}});
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_NE(replies[0].status.message().find("unavailable: partition 3"), std::string::npos)
        << replies[0].status.message();

    // The documents' batches now fail, saying why, and nothing is left open.
    bool committed = true;
    const session::BatchResult results = documents.run(
        {[] {
           session::Op op;
           op.kind = session::OpKind::create;
           op.entity = "Item";
           return op;
         }(),
         [] {
           session::Op op;
           op.kind = session::OpKind::commit;
           return op;
         }()},
        &committed);
    ASSERT_EQ(results.size(), 2u);
    for (const session::OpResult& r : results) {
      EXPECT_FALSE(r.status.is_ok());
      EXPECT_NE(r.status.message().find("unavailable: partition 1"), std::string::npos) << r.status.message();
    }
    EXPECT_FALSE(committed);
  }  // the driver and its scoped actor go before the partitions and the actor system
  stop_all(actors);
}

TEST_F(PartitionActors, EveryRequestAndReplyIsCountedForItsPartitionInBytesAndDeltas) {
  auto schema = testing::compile_file(fs::path(MGRAPH_EXAMPLES_DIR) / "shop.mgs");
  ASSERT_NE(schema, nullptr);
  const std::vector<caf::actor> actors = spawn_partitions(sys, schema, 2);
  auto traffic = std::make_shared<PartitionTraffic>(2);
  auto count = [&](std::uint32_t p) {
    const PartitionTraffic::Counts& c = traffic->partitions[p];
    return std::vector<std::uint64_t>{c.requests.load(), c.sent_bytes.load(),
                                      c.received_bytes.load(), c.sent_deltas.load(),
                                      c.received_deltas.load()};
  };
  {
    auto set = std::make_unique<ActorPartitions>(sys, actors, kTimeout);
    ActorPartitions& partitions = *set;
    partitions.set_traffic(traffic);
    // Requests of known bytes: a pending to each, and two Marks delivered to partition 1.
    PartitionRequest pending;
    pending.kind = PartitionRequestKind::pending;
    PartitionRequest deliver;
    deliver.kind = PartitionRequestKind::deliver;
    deliver.messages.push_back(codec::PartitionMessage{false, 0, false, Value(), {}});
    deliver.messages.push_back(codec::PartitionMessage{false, 1, false, Value(), {}});
    const std::vector<PartitionReply> replies = partitions.call({{0, pending}, {1, deliver}});
    ASSERT_EQ(replies.size(), 2u);
    const std::size_t pending_bytes = codec::encode_partition_request(pending)->size();
    const std::size_t deliver_bytes = codec::encode_partition_request(deliver)->size();
    const std::size_t reply0 = codec::encode_partition_reply(replies[0])->size();
    const std::size_t reply1 = codec::encode_partition_reply(replies[1])->size();
    EXPECT_EQ(count(0), (std::vector<std::uint64_t>{1, pending_bytes, reply0, 0, 0}));
    EXPECT_EQ(count(1),
              (std::vector<std::uint64_t>{1, deliver_bytes, reply1, 2,
                                          replies[1].stale.size() + replies[1].resolved.size()}));

    // Documents over them: with two partitions, every field one reports stale or resolved
    // is delivered to the other, so deltas received and sent match the driver's traffic.
    PartitionedDocuments documents(std::move(set), PartitionedDocuments::Options{});
    const std::vector<std::uint64_t> before0 = count(0), before1 = count(1);
    DocumentsBackend backend(documents);
    session::ScriptClient client(backend,
                                 session::ClientOptions{.batch_transactions = true, .print = {}});
    // shop.mgs computes across records: its partitions exchange Marks and Resolves.
    (void)testing::run_script(client,
                              testing::read_file(fs::path(MGRAPH_EXAMPLES_DIR) / "shop.mgscript"));
    const std::uint64_t messages = documents.traffic().marks + documents.traffic().resolutions;
    EXPECT_GT(messages, 0u);
    std::uint64_t sent = 0, received = 0;
    for (const std::uint32_t p : {0u, 1u}) {
      const std::vector<std::uint64_t> now = count(p), before = p == 0 ? before0 : before1;
      EXPECT_GT(now[0], before[0]);
      EXPECT_GT(now[1], before[1]);
      EXPECT_GT(now[2], before[2]);
      sent += now[3] - before[3];
      received += now[4] - before[4];
    }
    EXPECT_EQ(sent, messages);
    EXPECT_EQ(received, messages);
  }  // the driver and its scoped actor go before the partitions
  stop_all(actors);
}

}  // namespace
}  // namespace mgraph::actors

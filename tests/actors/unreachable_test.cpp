// Commits around an unreachable partition (actors/partitioned.hpp): while one partition
// cannot be reached, updates of fields that no other record reads, of records the others
// own, commit on the others alone, and every other transaction fails at once naming the
// partition. What commits that way is what the whole cluster would have committed: random
// scripts over random schemas leave every record the reachable partitions own exactly as
// the same partitions, all reachable, leave it after the same transactions.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mgraph/actors/partitioned.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/client.hpp"
#include "support/env.hpp"
#include "support/prng.hpp"
#include "support/schema_files.hpp"
#include "support/schema_gen.hpp"
#include "support/script_gen.hpp"
#include "support/script_outcome.hpp"

namespace mgraph::actors {
namespace {

/// Partitions in this process of which some are down: a call to one of those fails as a
/// cluster's does when a node is gone, reaching nothing, and unreachable() names it once
/// a call found it gone (as ActorPartitions learns it).
class DownPartitions final : public PartitionSet {
 public:
  DownPartitions(std::shared_ptr<const schema::Schema> schema, std::uint32_t partitions, std::uint64_t salt)
      : inner_(std::move(schema), options(partitions, salt)) {
    reached.assign(partitions, 0);
  }
  std::uint32_t size() const override { return inner_.size(); }
  std::vector<codec::PartitionReply> call(const std::vector<Call>& calls) override {
    std::vector<Call> up;
    std::vector<std::size_t> where;
    std::vector<codec::PartitionReply> out(calls.size());
    for (std::size_t i = 0; i < calls.size(); ++i) {
      const std::uint32_t p = calls[i].first;
      if (down.count(p) != 0) {
        found.insert(p);
        out[i].status = Status(StatusCode::io_error, gone(p));
        continue;
      }
      ++reached[p];
      up.push_back(calls[i]);
      where.push_back(i);
    }
    std::vector<codec::PartitionReply> got = inner_.call(up);
    for (std::size_t k = 0; k < up.size(); ++k) {
      const std::uint32_t p = up[k].first;
      const codec::PartitionRequest& q = up[k].second;
      const bool commit = q.kind == codec::PartitionRequestKind::apply && !q.ops.empty() &&
                          q.ops.front().kind == session::OpKind::commit;
      if (dies_serving_commit && *dies_serving_commit == p && commit) {
        // Served, and gone before its reply left: the driver never hears what it did.
        dies_serving_commit.reset();
        down.insert(p);
        found.insert(p);
        got[k] = codec::PartitionReply{};
        got[k].status = Status(StatusCode::io_error, gone(p));
      }
      out[where[k]] = std::move(got[k]);
    }
    return out;
  }
  std::string unreachable(std::uint32_t p) const override {
    return down.count(p) != 0 && found.count(p) != 0 ? gone(p) : std::string();
  }
  schema::Store& store(std::uint32_t p) { return inner_.server(p).store(); }

  std::set<std::uint32_t> down;   ///< partitions whose node is gone
  std::set<std::uint32_t> found;  ///< of those, the ones a call found gone
  std::vector<std::size_t> reached;  ///< requests each partition was sent
  /// A partition that commits the next commit sent to it, then goes down with its reply.
  std::optional<std::uint32_t> dies_serving_commit;

 private:
  static std::string gone(std::uint32_t p) {
    return "unavailable: partition " + std::to_string(p) + " (n" + std::to_string(p + 1) + "): gone (test)";
  }
  static LocalPartitions::Options options(std::uint32_t partitions, std::uint64_t salt) {
    LocalPartitions::Options o;
    o.partitions = partitions;
    o.salt = salt;
    o.through_bytes = true;  // the request's `confine` and the reply's `confined` travel
    return o;
  }
  LocalPartitions inner_;
};

using session::told_committed;

/// A client's batches run on `documents`; `log` collects what the coordinator's log would
/// keep of them, `around_at` which of those committed around an unreachable partition and
/// `around_results` what those were answered.
class CountingBackend final : public session::Backend {
 public:
  explicit CountingBackend(PartitionedDocuments& documents) : documents_(documents) {}
  Result<session::BatchResult> run(const session::Batch& batch) override {
    bool took = false;
    const std::uint64_t before = documents_.traffic().around_unreachable;
    session::BatchResult results = documents_.run(batch, &took);
    const bool cut = session::cut_short(results).has_value();
    // What the log keeps: every batch but those an unreachable partition cut short and
    // whose client is told they did not commit (the cluster cancels their epochs).
    if (!cut || told_committed(batch, results)) {
      if (documents_.traffic().around_unreachable != before) {
        around_at.push_back(log.size());
        around_results.push_back(results);
      }
      log.push_back(batch);
    }
    around += documents_.traffic().around_unreachable - before;
    if (cut) ++this->cut;
    return results;
  }
  std::vector<session::Batch> log;
  std::vector<std::size_t> around_at;  ///< the batches of `log` committed around a partition
  std::vector<session::BatchResult> around_results;  ///< by around_at
  std::size_t around = 0;
  std::size_t cut = 0;  ///< batches an unreachable partition cut short

 private:
  PartitionedDocuments& documents_;
};

/// Customers whose level only their own bonus reads; orders whose total their customer
/// sums; items whose price their order sums and whose weight nothing else reads.
constexpr const char* kSchema = R"(
entity Customer {
  level: int = 0
  bonus: int = level * 10
  orders: many Order via customer
  spent: float = sum(orders[*].total)
}
entity Order {
  discount: float = 0
  items: many Item via order
  subtotal: float = sum(items[*].price)
  total: float = subtotal * (1 - discount)
}
entity Item {
  price: float = 0
  qty: int = 1
  weight: int = qty * 2
}
)";

PartitionedDocuments::Options driver(std::uint32_t partitions, std::uint64_t salt = 0) {
  PartitionedDocuments::Options o;
  o.partitions = partitions;
  o.salt = salt;
  return o;
}

std::shared_ptr<const schema::Schema> compile(const std::string& text) {
  auto compiled = schema::compile_schema(schema::SourceFile{"unreachable.mgs", text});
  EXPECT_TRUE(compiled.is_ok()) << compiled.status().message();
  return compiled.is_ok() ? *compiled : nullptr;
}

/// Partitions of `schema` in this process, none down yet, driven by a script client (that
/// prints what each commit changed with `echo`).
struct Cluster {
  Cluster(std::shared_ptr<const schema::Schema> schema, std::uint32_t partitions, bool echo,
          PartitionedDocuments::Options options, std::uint64_t salt = 0)
      : made(std::make_unique<DownPartitions>(std::move(schema), partitions, salt)),
        set(*made),
        documents(std::move(made), std::move(options)),
        backend(documents),
        client(backend, session::ClientOptions{.batch_transactions = true, .print = {.echo_transitions = echo}}) {}
  Cluster(std::shared_ptr<const schema::Schema> schema, std::uint32_t partitions, bool echo = false)
      : Cluster(std::move(schema), partitions, echo, driver(partitions)) {}
  std::unique_ptr<DownPartitions> made;
  DownPartitions& set;
  PartitionedDocuments documents;
  CountingBackend backend;
  session::ScriptClient client;
};

struct Shop : Cluster {
  static constexpr std::uint32_t kPartitions = 3;
  static constexpr std::uint32_t kDown = 1;
  explicit Shop(const std::string& schema = kSchema) : Cluster(compile(schema), kPartitions, /*echo=*/true) {
    // Records #1-#12: customers; #13: an order of #1 with items #14 and #15.
    std::string setup;
    for (int c = 1; c <= 12; ++c) setup += "create Customer c" + std::to_string(c) + " level=1\n";
    setup += "create Order o discount=0\ncreate Item i1 price=10\ncreate Item i2 price=20\n";
    setup += "link c1.orders o\nlink o.items i1\nlink o.items i2\ncommit\n";
    const testing::Outcome r = testing::run_script(client, setup);
    EXPECT_EQ(r.failed, 0u) << r.out;
  }
  /// A record of ids [1, 12] that partition `p` owns (or that `p` does not own).
  session::RecordId customer(std::uint32_t p, bool owned = true) const {
    for (session::RecordId id = 1; id <= 12; ++id) {
      if ((schema::Placement::partition_of(id, kPartitions, 0) == p) == owned) return id;
    }
    ADD_FAILURE() << "no customer fits";
    return 0;
  }
  std::string run(const std::string& script) {
    const testing::Outcome r = testing::run_script(client, script);
    return r.out;
  }
};

std::string ref(session::RecordId id) { return "#" + std::to_string(id); }

TEST(CommitsAroundAnUnreachablePartition, TheStoreKnowsWhereWhatATransactionWroteLeads) {
  Shop shop;
  schema::Store& store = shop.set.store(0);
  std::vector<std::uint32_t> owners;
  auto owner = [](session::RecordId id) { return schema::Placement::partition_of(id, Shop::kPartitions, 0); };
  auto writes = [&](session::RecordId id, const char* field, Value v) {
    EXPECT_TRUE(store.update(id, {{field, std::move(v)}}).is_ok());
    const bool stays = store.written_stays_with_owners(&owners);
    store.reject();
    return stays;
  };
  // A customer's level: read by its own bonus only; its owner alone.
  EXPECT_TRUE(writes(1, "level", Value(std::int64_t{5})));
  EXPECT_EQ(owners, std::vector<std::uint32_t>{owner(1)});
  // An item's price and its order's sum of prices (#13 orders #14): read by the order's
  // own total only; the owners of both.
  EXPECT_TRUE(writes(14, "price", Value(12.0)));
  std::vector<std::uint32_t> both{owner(13), owner(14)};
  std::sort(both.begin(), both.end());
  both.erase(std::unique(both.begin(), both.end()), both.end());
  EXPECT_EQ(owners, both);
  // An order's discount: its own total; the order's owner (what the total does travels
  // as a Mark, found at run time).
  EXPECT_TRUE(writes(13, "discount", Value(0.5)));
  EXPECT_EQ(owners, std::vector<std::uint32_t>{owner(13)});
  // Nothing written: nothing to check.
  EXPECT_TRUE(store.written_stays_with_owners(&owners));
  EXPECT_TRUE(owners.empty());
}

TEST(CommitsAroundAnUnreachablePartition, AStateFieldAnotherRecordReadsIsReadElsewhere) {
  const auto schema = compile(R"(
entity Customer {
  level: int = 0
  orders: many Order via customer
}
entity Order { tier: int = customer.level + 1 }
)");
  ASSERT_NE(schema, nullptr);
  schema::Store store(schema, schema::StoreOptions{.placement = {.partition = 0, .partitions = 2}});
  const Result<schema::RecordId> c = store.create("Customer", {});
  ASSERT_TRUE(c.is_ok());
  ASSERT_TRUE(store.commit().is_ok());
  ASSERT_TRUE(store.update(*c, {{"level", Value(std::int64_t{3})}}).is_ok());
  std::vector<std::uint32_t> owners;
  EXPECT_FALSE(store.written_stays_with_owners(&owners));
  store.reject();
}

TEST(CommitsAroundAnUnreachablePartition, AnUpdateNoOtherRecordReadsCommitsWithoutThePartitionAndNothingElseDoes) {
  Shop shop;
  const session::RecordId mine = shop.customer(Shop::kDown);
  const session::RecordId other = shop.customer(Shop::kDown, /*owned=*/false);
  shop.set.down.insert(Shop::kDown);
  // The first call finds the node gone, as a cluster's driver does.
  const std::string first = shop.run("update " + ref(other) + " level=2\ncommit\n");
  EXPECT_NE(first.find("unavailable: partition 1 (n2): gone"), std::string::npos) << first;
  const std::size_t reached = shop.set.reached[Shop::kDown];

  // A customer's level on a partition that is up: committed without partition 1.
  const std::string ok = shop.run("update " + ref(other) + " level=3\ncommit\nget " + ref(other) + ".bonus\n");
  EXPECT_EQ(ok.find("error"), std::string::npos) << ok;
  EXPECT_NE(ok.find(R"("changed":2})"), std::string::npos) << ok;  // level and bonus, on their owner
  EXPECT_NE(ok.find(R"(.bonus","value":30,)"), std::string::npos) << ok;
  EXPECT_EQ(shop.backend.around, 1u);
  EXPECT_EQ(shop.documents.traffic().around_unreachable, 1u);

  // The same update of a customer that partition 1 owns, an item's price (its order sums
  // it, and the order's total, which changes with the sum, is summed by its customer), an
  // order's discount (the same total) and a creation: each fails, naming the partition,
  // and leaves nothing behind.
  const std::string theirs = shop.run("update " + ref(mine) + " level=4\ncommit\n");
  EXPECT_NE(theirs.find("unavailable: partition 1 (n2)"), std::string::npos) << theirs;
  const std::string price = shop.run("update i1 price=11\ncommit\n");
  EXPECT_NE(price.find("changes fields other records read"), std::string::npos) << price;
  const std::string discount = shop.run("update o discount=0.5\ncommit\n");
  EXPECT_NE(discount.find("changes fields other records read"), std::string::npos) << discount;
  // A creation is refused before anything is sent: the others, applying and rolling it
  // back, would still compute its fields at their next commit, which the log would not.
  const std::size_t up_before = shop.set.reached[0] + shop.set.reached[2];
  const std::string created = shop.run("create Customer c13 level=1\ncommit\n");
  EXPECT_NE(created.find("unavailable: partition 1 (n2)"), std::string::npos) << created;
  EXPECT_NE(created.find("a creation, deletion or link needs every partition"), std::string::npos) << created;
  EXPECT_EQ(shop.set.reached[0] + shop.set.reached[2], up_before);
  EXPECT_EQ(shop.backend.around, 1u);

  // Nothing of that reached partition 1, and the others rolled it all back.
  EXPECT_EQ(shop.set.reached[Shop::kDown], reached);
  const std::string after = shop.run("get i1.price\nget o.discount\n");
  EXPECT_NE(after.find(R"("get":"i1.price","value":10,)"), std::string::npos) << after;
  EXPECT_NE(after.find(R"("get":"o.discount","value":0,)"), std::string::npos) << after;

  // An undo or a redo would walk the reachable partitions' histories alone: refused
  // before anything is sent, so what they hold stays what the log holds.
  const std::size_t sent = shop.set.reached[0] + shop.set.reached[2];
  const std::string undo = shop.run("undo\n");
  EXPECT_NE(undo.find("an undo needs every partition"), std::string::npos) << undo;
  EXPECT_EQ(shop.set.reached[0] + shop.set.reached[2], sent);
  EXPECT_FALSE(shop.documents.unlike_log());

  // Several updates in one transaction, all of records the others own: one commit.
  const session::RecordId another = [&] {
    for (session::RecordId id = other + 1; id <= 12; ++id) {
      if (schema::Placement::partition_of(id, Shop::kPartitions, 0) != Shop::kDown) return id;
    }
    return other;
  }();
  const std::string two = shop.run("update " + ref(other) + " level=5\nupdate " + ref(another) +
                                   " level=6\nupdate i2 qty=3\ncommit\nget " + ref(another) + ".bonus\n");
  EXPECT_EQ(two.find("error"), std::string::npos) << two;
  EXPECT_NE(two.find(R"(.bonus","value":60,)"), std::string::npos) << two;
  EXPECT_EQ(shop.backend.around, 2u);
}

TEST(CommitsAroundAnUnreachablePartition, AFieldAFormulaOfTheUnreachablePartitionReadsWaitsForIt) {
  // The order's tier reads its customer's level (a one-hop) and the customer's best sums
  // the tiers: an update of a level whose order the unreachable partition computes would
  // leave the customer's best stale, so it must not commit, though the customer is on a
  // partition that is up and no Mark shows it (inputs travel to no one).
  const auto schema = compile(R"(
entity Customer {
  level: int = 0
  orders: many Order via customer
  best: int = max(orders[*].tier)
}
entity Order { tier: int = customer.level + 1 }
)");
  ASSERT_NE(schema, nullptr);
  constexpr std::uint32_t kDown = 1;
  Cluster cluster(schema, 2);
  auto& [made, set, documents, backend, client] = cluster;
  // Customers and orders #1-#16 alternately; a customer that partition 0 owns, with an
  // order that partition 1 owns.
  std::string setup;
  for (int k = 1; k <= 8; ++k) setup += "create Customer c" + std::to_string(k) + "\ncreate Order o" + std::to_string(k) + "\n";
  setup += "commit\n";
  ASSERT_EQ(testing::run_script(client, setup).failed, 0u);
  session::RecordId customer = 0, order = 0;
  for (session::RecordId c = 1; c <= 15 && order == 0; c += 2) {
    if (schema::Placement::partition_of(c, 2, 0) == kDown) continue;
    for (session::RecordId o = 2; o <= 16 && order == 0; o += 2) {
      if (schema::Placement::partition_of(o, 2, 0) == kDown) customer = c, order = o;
    }
  }
  ASSERT_NE(order, 0u);
  const testing::Outcome linked =
      testing::run_script(client, "link " + ref(customer) + ".orders " + ref(order) + "\ncommit\n");
  ASSERT_EQ(linked.failed, 0u) << linked.out;
  set.down.insert(kDown);
  (void)testing::run_script(client, "update " + ref(customer) + " level=1\ncommit\n");  // finds it gone
  const testing::Outcome r = testing::run_script(client, "update " + ref(customer) + " level=2\ncommit\n");
  EXPECT_NE(r.out.find("writes fields other records read"), std::string::npos) << r.out;
  EXPECT_EQ(backend.around, 0u);
}

TEST(CommitsAroundAnUnreachablePartition, AFieldASumReadsCommitsWhenTheSumStaysWithAPartitionThatIsUp) {
  // A visit's length is summed by its customer (an accumulator the Store writes on every
  // partition), and only the customer's own tier reads the sum: an update of a length
  // commits without partition 1 when the customer is on a partition that is up, and is
  // refused when partition 1 owns the customer (it would compute the tier). A visit's
  // fee is summed into `spent`, which every visit's `part` reads: refused when the
  // customer's owner sends the new `spent` to partition 1 (a Mark), wherever the visit.
  const auto schema = compile(R"(
entity Customer {
  visits: many Visit via customer
  minutes: int = sum(visits[*].length)
  tier: int = minutes * 2
  spent: float = sum(visits[*].fee)
}
entity Visit {
  length: int = 0
  fee: float = 1
  part: float = if customer.spent > 0 then fee / customer.spent else 0
}
)");
  ASSERT_NE(schema, nullptr);
  constexpr std::uint32_t kDown = 1;
  Cluster cluster(schema, 2, /*echo=*/true);
  auto& [made, set, documents, backend, client] = cluster;
  // Customers #1-#8, visits #9-#24.
  std::string setup;
  for (int k = 1; k <= 8; ++k) setup += "create Customer c" + std::to_string(k) + "\n";
  for (int k = 1; k <= 16; ++k) setup += "create Visit v" + std::to_string(k) + "\n";
  setup += "commit\n";
  ASSERT_EQ(testing::run_script(client, setup).failed, 0u);
  auto owner = [](session::RecordId id) { return schema::Placement::partition_of(id, 2, 0); };
  // A visit that partition 0 owns of a customer it owns (`near`), and one of a customer
  // partition 1 owns (`far`).
  session::RecordId near_customer = 0, far_customer = 0;
  for (session::RecordId c = 1; c <= 8; ++c) {
    (owner(c) == kDown ? far_customer : near_customer) = c;
  }
  std::vector<session::RecordId> visits;
  for (session::RecordId v = 9; v <= 24; ++v) {
    if (owner(v) != kDown) visits.push_back(v);
  }
  ASSERT_NE(near_customer, 0u);
  ASSERT_NE(far_customer, 0u);
  ASSERT_GE(visits.size(), 2u);
  const session::RecordId near = visits[0], far = visits[1];
  const testing::Outcome linked = testing::run_script(
      client, "link " + ref(near_customer) + ".visits " + ref(near) + "\nlink " + ref(far_customer) + ".visits " +
                  ref(far) + "\ncommit\n");
  ASSERT_EQ(linked.failed, 0u) << linked.out;
  set.down.insert(kDown);
  (void)testing::run_script(client, "update " + ref(near) + " length=1\ncommit\n");  // finds it gone
  const std::size_t reached = set.reached[kDown];
  const std::size_t around = backend.around;

  const testing::Outcome ok = testing::run_script(
      client, "update " + ref(near) + " length=25\ncommit\nget " + ref(near_customer) + ".tier\n");
  EXPECT_EQ(ok.failed, 0u) << ok.out;
  // length, the sum's accumulator, minutes and tier, all on partition 0
  EXPECT_NE(ok.out.find(R"("changed":4})"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(R"(.tier","value":50,)"), std::string::npos) << ok.out;
  EXPECT_EQ(backend.around, around + 1);

  const testing::Outcome theirs = testing::run_script(client, "update " + ref(far) + " length=25\ncommit\n");
  EXPECT_NE(theirs.out.find("writes what records of partition 1 hold"), std::string::npos) << theirs.out;
  const testing::Outcome fee = testing::run_script(client, "update " + ref(near) + " fee=2\ncommit\n");
  EXPECT_NE(fee.out.find("changes fields other records read"), std::string::npos) << fee.out;
  EXPECT_EQ(backend.around, around + 1);
  EXPECT_EQ(set.reached[kDown], reached);
  const testing::Outcome after = testing::run_script(client, "get " + ref(far) + ".length\nget " + ref(near) + ".fee\n");
  EXPECT_NE(after.out.find(R"(.length","value":0,)"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find(R"(.fee","value":1,)"), std::string::npos) << after.out;
}

TEST(CommitsAroundAnUnreachablePartition, AnAcknowledgementCommitsWhenItsRecordIsOnAPartitionThatIsUp) {
  // An effect changes on its record's owner alone when acknowledged (the other partitions
  // apply nothing): acknowledged around partition 1 if partition 0 owns the record.
  Cluster cluster(compile(R"(
entity Entry {
  amount: int = 0
  effect paid: bool when amount > 0
}
)"),
                  2, /*echo=*/true);
  auto& [made, set, documents, backend, client] = cluster;
  constexpr std::uint32_t kDown = 1;
  std::string setup;
  for (int k = 1; k <= 8; ++k) setup += "create Entry e" + std::to_string(k) + " amount=" + std::to_string(k) + "\n";
  setup += "commit\n";
  ASSERT_EQ(testing::run_script(client, setup).failed, 0u);
  session::RecordId near = 0, far = 0;
  for (session::RecordId id = 1; id <= 8; ++id) {
    (schema::Placement::partition_of(id, 2, 0) == kDown ? far : near) = id;
  }
  ASSERT_TRUE(near != 0 && far != 0);
  set.down.insert(kDown);
  set.found.insert(kDown);
  const testing::Outcome ok =
      testing::run_script(client, "ack " + ref(near) + ".paid\ncommit\nget " + ref(near) + ".paid\n");
  EXPECT_EQ(ok.failed, 0u) << ok.out;
  EXPECT_NE(ok.out.find(R"("changed":1})"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(R"(.paid","value":false,)"), std::string::npos) << ok.out;
  EXPECT_EQ(backend.around, 1u);
  const testing::Outcome theirs = testing::run_script(client, "ack " + ref(far) + ".paid\ncommit\n");
  EXPECT_NE(theirs.out.find("unavailable: partition 1 (n2)"), std::string::npos) << theirs.out;
  EXPECT_EQ(backend.around, 1u);
}

TEST(CommitsAroundAnUnreachablePartition, APartitionLostInsideATransactionHoldsUpNoReadOfTheOthers) {
  // Partition 1 applies an update (its last reply says its transaction is open), then
  // commits and is lost before the commit's reply leaves: the driver never hears that its
  // transaction closed. The others committed, and the batch fails (the cluster cancels its
  // epoch), so they hold what the log will not: nothing commits around partition 1 until
  // they are restored. A read of a record another partition owns must not wait for it.
  Shop shop;
  const session::RecordId other = shop.customer(Shop::kDown, /*owned=*/false);
  shop.set.dies_serving_commit = Shop::kDown;
  const std::string lost = shop.run("update " + ref(other) + " level=7\ncommit\n");
  EXPECT_NE(lost.find("unavailable: partition 1 (n2)"), std::string::npos) << lost;
  EXPECT_TRUE(shop.documents.unlike_log());
  const std::string read = shop.run("get " + ref(other) + ".bonus\n");
  EXPECT_NE(read.find(R"(.bonus","value":70,)"), std::string::npos) << read;
  const std::string refused = shop.run("update " + ref(other) + " level=8\ncommit\n");
  EXPECT_NE(refused.find("unavailable: partition 1 (n2)"), std::string::npos) << refused;
  EXPECT_EQ(shop.backend.around, 0u);
  // A restore needs every partition: while one is unreachable it fails, and the others
  // stay unlike the log.
  EXPECT_EQ(shop.documents.restore(0).code(), StatusCode::io_error);
  EXPECT_TRUE(shop.documents.unlike_log());
}

TEST(CommitsAroundAnUnreachablePartition, WhatAStructuralChangeLeftForTheNextCommitKeepsCommitsFromGoingAround) {
  // A probe whose creation fails its transaction leaves its fields to compute at every
  // later commit, as one Store does (and fails each): on partition 1, which owns it. A
  // commit around partition 1 would not compute them, yet the log's run with it would, and
  // would fail that commit: so none goes around it.
  Shop shop(std::string(kSchema) + "entity Probe {\n  d: float = 1\n  x: float = 10 / d @fail_transaction\n}\n");
  ASSERT_EQ(schema::Placement::partition_of(16, Shop::kPartitions, 0), Shop::kDown);
  const std::string probe = shop.run("create Probe p d=0\ncommit\n");  // record #16
  EXPECT_NE(probe.find("formula of Probe#16.x failed"), std::string::npos) << probe;
  const session::RecordId other = shop.customer(Shop::kDown, /*owned=*/false);
  const session::Batch update = [&] {
    session::Op op;
    op.kind = session::OpKind::update;
    op.refs = {session::RecordRef{other, {}, ref(other)}};
    op.values = {{"level", Value(std::int64_t{3})}};
    session::Op commit;
    commit.kind = session::OpKind::commit;
    return session::Batch{op, commit};
  }();
  shop.set.down.insert(Shop::kDown);
  (void)shop.documents.run(update);  // finds partition 1 gone
  const session::BatchResult refused = shop.documents.run(update);
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused.back().status.code(), StatusCode::io_error) << refused.back().status.message();
  EXPECT_EQ(shop.documents.traffic().around_unreachable, 0u);
  // What the whole cluster makes of the same log: the probe fails that commit.
  auto whole = std::make_unique<DownPartitions>(compile(std::string(kSchema) + "entity Probe {\n  d: float = 1\n  x: float = 10 / d @fail_transaction\n}\n"),
                                                Shop::kPartitions, 0);
  PartitionedDocuments reference(std::move(whole), driver(Shop::kPartitions));
  for (const session::Batch& batch : shop.backend.log) (void)reference.run(batch);
  const session::BatchResult there = reference.run(update);
  ASSERT_EQ(there.size(), 2u);
  EXPECT_EQ(there.back().status.code(), StatusCode::formula_error) << there.back().status.message();
}

TEST(CommitsAroundAnUnreachablePartition, ACommitThatReachedEveryPartitionSettlesAStructuralChange) {
  Shop shop;
  const session::RecordId other = shop.customer(Shop::kDown, /*owned=*/false);
  (void)shop.run("update " + ref(other) + " level=9\ncommit\n");
  (void)shop.run("create Customer c13 level=1\nreject\n");  // left for the next commit
  // An undo reaches every partition and computes nothing new: the leftover still waits
  // (the whole cluster's next commit computes it).
  const std::string undone = shop.run("undo\n");
  EXPECT_EQ(undone.find("error"), std::string::npos) << undone;
  shop.set.down.insert(Shop::kDown);
  (void)shop.run("update " + ref(other) + " level=2\ncommit\n");  // finds partition 1 gone
  const std::string held = shop.run("update " + ref(other) + " level=3\ncommit\n");
  EXPECT_NE(held.find("unavailable: partition 1 (n2)"), std::string::npos) << held;
  EXPECT_EQ(shop.backend.around, 0u);
  // Partition 1 answers again (it missed no commit), a commit reaches every partition, and
  // then one goes around it when it is lost again.
  shop.set.down.clear();
  shop.set.found.clear();
  const std::string settled = shop.run("update " + ref(other) + " level=4\ncommit\n");
  EXPECT_EQ(settled.find("error"), std::string::npos) << settled;
  shop.set.down.insert(Shop::kDown);
  shop.set.found.insert(Shop::kDown);
  const std::string around = shop.run("update " + ref(other) + " level=5\ncommit\nget " + ref(other) + ".bonus\n");
  EXPECT_NE(around.find(R"(.bonus","value":50,)"), std::string::npos) << around;
  EXPECT_EQ(shop.backend.around, 1u);
}

TEST(CommitsAroundAnUnreachablePartition, OffEveryTransactionFailsWhileAPartitionIsUnreachable) {
  PartitionedDocuments::Options options = driver(Shop::kPartitions);
  options.commit_around_unreachable = false;
  Cluster cluster(compile(kSchema), Shop::kPartitions, /*echo=*/false, options);
  auto& [made, set, documents, backend, client] = cluster;
  (void)testing::run_script(client, "create Customer c level=1\ncommit\n");
  set.down.insert(0);
  for (int i = 0; i < 3; ++i) {
    const testing::Outcome r = testing::run_script(client, "update c level=2\ncommit\n");
    EXPECT_NE(r.out.find("unavailable: partition 0"), std::string::npos) << r.out;
  }
  EXPECT_EQ(backend.around, 0u);
}

TEST(CommitsAroundAnUnreachablePartition, NoCheckpointIsTakenWhileAPartitionIsUnreachable) {
  PartitionedDocuments::Options options = driver(2);
  auto made = std::make_unique<DownPartitions>(compile(kSchema), 2, 0);
  DownPartitions& set = *made;
  PartitionedDocuments documents(std::move(made), options);
  set.down.insert(1);
  set.found.insert(1);
  std::uint64_t bytes = 7;
  const Status s = documents.checkpoint(1, 0, &bytes);
  EXPECT_EQ(s.code(), StatusCode::io_error);
  EXPECT_NE(s.message().find("no checkpoint is taken until it is back"), std::string::npos) << s.message();
  EXPECT_EQ(bytes, 0u);
  EXPECT_EQ(set.reached[0], 0u);  // the reachable one made no image for nothing
}

/// Every field of every record that a partition other than `down` owns, as `a` and `b`
/// hold them (the owner's store on each), equal.
void expect_owned_alike(DownPartitions& a, DownPartitions& b, std::uint32_t down, std::uint64_t seed) {
  const std::uint32_t n = a.size();
  for (std::uint32_t p = 0; p < n; ++p) {
    if (p == down) continue;
    schema::Store& x = a.store(p);
    schema::Store& y = b.store(p);
    for (session::RecordId id = 1; id <= 400; ++id) {
      if (!x.owns(id)) continue;
      ASSERT_EQ(x.exists(id), y.exists(id)) << "seed " << seed << " record #" << id;
      if (!x.exists(id)) continue;
      const Result<std::uint32_t> e = x.entity_of(id);
      ASSERT_TRUE(e.is_ok());
      for (const schema::FieldDef& f : x.schema().entities[*e].fields) {
        const Result<Value> vx = x.get(id, f.name);
        const Result<Value> vy = y.get(id, f.name);
        ASSERT_EQ(vx.is_ok(), vy.is_ok()) << "seed " << seed << " #" << id << "." << f.name;
        if (vx.is_ok()) {
          EXPECT_EQ(*vx, *vy) << "seed " << seed << " #" << id << "." << f.name << " on partition " << p;
        }
      }
    }
  }
}

TEST(CommitsAroundAnUnreachablePartition, RandomScriptsCommitAroundItWhatTheWholeClusterCommits) {
  // Random schemas and scripts on 2-5 partitions; from a random point of each script one
  // partition is down. The batches that committed (before it, and around it after) run on
  // the same partitions all up: every record a reachable partition owns ends alike.
  const std::uint64_t seeds = testing::env_u64("MGRAPH_UNREACHABLE_SEEDS", 150);
  std::size_t around = 0, refused = 0, unlike = 0;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    testing::SchemaGenerator schemas(seed, {.lazy = false});
    const std::string text = schemas.schema();
    const auto compiled = compile(text);
    ASSERT_NE(compiled, nullptr) << text;
    testing::ScriptGenerator gen(*compiled, seed);
    const std::string script = gen.script(120);
    testing::Prng pick(seed * 131 + 5);
    const auto partitions = static_cast<std::uint32_t>(2 + pick.below(4));
    const std::uint64_t salt = pick.next();
    const auto down = static_cast<std::uint32_t>(pick.below(partitions));

    Cluster cluster(compiled, partitions, /*echo=*/false, driver(partitions, salt), salt);
    auto& [made, set, documents, backend, client] = cluster;
    std::vector<std::string> lines;
    {
      std::istringstream in(script);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    // The script's first lines with every partition up, then one down: the next lines of
    // the script, mixed with updates of one field of a record each (any record, any
    // field: many need every partition, or are refused by the engine).
    const std::size_t cut = lines.size() / 4 + pick.below(lines.size() / 4 + 1);
    std::string out;
    for (std::size_t i = 0; i < cut; ++i) (void)client.run_line(lines[i], i + 1, &out);
    set.down.insert(down);
    // Mostly the cluster hears of the loss before it sends anything (a node's connection
    // drops); else the first batch after it finds the partition gone, and the others may
    // have applied what the log then cancels.
    if (pick.below(4) != 0) set.found.insert(down);
    schema::Store& live = set.store(down == 0 ? 1 : 0);
    std::size_t line = cut;
    for (int k = 0; k < 60; ++k) {
      if (pick.below(4) == 0 && line < lines.size()) {
        (void)client.run_line(lines[line], line + 1, &out);
        ++line;
        continue;
      }
      const session::RecordId id = 1 + pick.below(24);
      const Result<std::uint32_t> e = live.entity_of(id);
      if (!e.is_ok()) continue;
      const auto& fields = compiled->entities[*e].fields;
      const schema::FieldDef& f = fields[pick.below(fields.size())];
      if (f.kind == schema::FieldKind::effect) {  // acknowledged, whether raised or not
        (void)client.run_line("ack #" + std::to_string(id) + "." + f.name, line + 1, &out);
        (void)client.run_line("commit", line + 1, &out);
        continue;
      }
      std::string value;
      switch (f.type) {
        case schema::Type::boolean: value = pick.below(2) ? "true" : "false"; break;
        case schema::Type::integer: value = std::to_string(static_cast<int>(pick.below(50)) - 10); break;
        case schema::Type::real: value = std::to_string(static_cast<int>(pick.below(50)) - 10) + ".5"; break;
        case schema::Type::string: value = "\"v" + std::to_string(pick.below(9)) + "\""; break;
        default: continue;
      }
      (void)client.run_line("update #" + std::to_string(id) + " " + f.name + "=" + value, line + 1, &out);
      (void)client.run_line("commit", line + 1, &out);
    }
    (void)client.finish(&out);
    around += backend.around;
    if (documents.unlike_log()) {
      // A batch cut short left the reachable partitions unlike the log (an undo that they
      // made and the lost one could not): the cluster restores them before anything else
      // counts, and nothing committed around the partition since.
      ++unlike;
      continue;
    }

    auto whole = std::make_unique<DownPartitions>(compiled, partitions, salt);
    DownPartitions& all = *whole;
    PartitionedDocuments reference(std::move(whole), driver(partitions, salt));
    for (std::size_t i = 0, a = 0; i < backend.log.size(); ++i) {
      const session::BatchResult results = reference.run(backend.log[i]);
      if (a == backend.around_at.size() || backend.around_at[a] != i) continue;
      ASSERT_TRUE(told_committed(backend.log[i], results))
          << "seed " << seed << ": a batch committed around partition " << down << " does not commit on all of them";
      // The same fields changed with the partition as without it: it computed nothing.
      const session::BatchResult& around_answer = backend.around_results[a++];
      ASSERT_EQ(results.size(), around_answer.size());
      EXPECT_EQ(results.back().changed, around_answer.back().changed)
          << "seed " << seed << ": partition " << down << " would have changed fields in batch " << i;
    }
    expect_owned_alike(set, all, down, seed);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "seed " << seed << " on " << partitions << " partitions, " << down << " down from line "
                    << cut + 1 << "\n"
                    << text << "\n"
                    << script;
      return;
    }
    refused += backend.cut;
  }
  std::printf("%zu commits around an unreachable partition over %llu seeds; %zu seeds left the partitions unlike "
              "the log\n",
              around, static_cast<unsigned long long>(seeds), unlike);
  EXPECT_GE(around, seeds / 2);
  EXPECT_LE(unlike, seeds / 2);
  EXPECT_GT(refused, 0u);
}

}  // namespace
}  // namespace mgraph::actors

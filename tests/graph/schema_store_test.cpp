// Documents: mutation events, incremental aggregates, and the randomized comparison of
// the incremental path against the full-recompute path on long event streams.

#include <gtest/gtest.h>

#include <cmath>

#include "support/prng.hpp"
#include "mgraph/graph/schema/store.hpp"

namespace mgraph::schema {
namespace {

constexpr const char* kShop = R"(
entity Order {
  items: many Item via order
  tags: many Tag via many orders
  n: int = count(items)
  total: float = sum(items[*].price)
  qty: int = sum(items[*].qty)
  mean: float = avg(items[*].price)
  low: float = min(items[*].price)
  high: int = max(items[*].qty)
  some: bool = any(items[*].flag)
  all: bool = every(items[*].flag)
  ntags: int = count(tags)
  weight: float = sum(tags[*].weight)
}
entity Item { price: float = 0  qty: int = 1  flag: bool = false }
entity Tag { weight: float = 1  uses: int = count(orders) }
)";

constexpr const char* kOrderFields[] = {"n",    "total", "qty", "mean",  "low",
                                        "high", "some",  "all", "ntags", "weight"};

std::shared_ptr<const Schema> shop(bool incremental) {
  auto r = compile_schema(SourceFile{"shop.mgs", kShop}, CompileOptions{incremental});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::move(r).value();
}

using Rng = mgraph::testing::Prng;

bool close(const Value& a, const Value& b) {
  if (a.is_double() && b.is_double()) return std::fabs(a.as_double() - b.as_double()) < 1e-6;
  return a == b;
}

TEST(SchemaStore, MutationEventsCarryOldRecordAndDiff) {
  Store s(shop(true));
  std::vector<MutationEvent> events;
  s.on_event([&](const MutationEvent& e) { events.push_back(e); });
  const RecordId o = s.create("Order", {}).value();
  const RecordId i = s.create("Item", {{"price", Value(5)}}).value();
  ASSERT_TRUE(s.link(o, "items", i).is_ok());
  ASSERT_TRUE(s.update(i, {{"price", Value(7.0)}, {"qty", Value(1)}}).is_ok());
  ASSERT_TRUE(s.remove(i).is_ok());
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].type, MutationType::create);
  EXPECT_EQ(events[1].values[0], Value(5.0));  // the int was widened to the field's float
  EXPECT_EQ(events[2].type, MutationType::link);
  EXPECT_EQ(events[3].type, MutationType::update);
  EXPECT_EQ(events[3].old_values[0], Value(5.0));
  EXPECT_EQ(events[3].values[0], Value(7.0));
  EXPECT_EQ(events[3].diff, std::vector<std::uint32_t>{0});  // qty did not change
  EXPECT_EQ(events[4].type, MutationType::unlink);           // delete unlinks first
  EXPECT_EQ(events[5].type, MutationType::remove);
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(s.get(o, "n").value(), Value(std::int64_t{0}));
}

// update() looks the first fields it writes up once (for a prefetch and the writes) and
// the rest as it goes: every field lands, in any position, and an unknown one is named.
TEST(SchemaStore, UpdateWritesEveryFieldAndNamesAnUnknownOneInAnyPosition) {
  std::string source = "entity Wide {";
  for (int k = 0; k < 12; ++k) source += " f" + std::to_string(k) + ": float = 0";
  source += " total: float = f0 + f5 + f9 + f11 }";
  auto schema = compile_schema(SourceFile{"wide.mgs", source}, CompileOptions{true});
  ASSERT_TRUE(schema.is_ok()) << schema.status().message();
  Store s(std::move(schema).value());
  const RecordId w = s.create("Wide", {}).value();
  ASSERT_TRUE(s.commit().is_ok());
  FieldValues all;
  for (int k = 11; k >= 0; --k) all.emplace_back("f" + std::to_string(k), Value(k + 0.5));
  ASSERT_TRUE(s.update(w, all).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  for (int k = 0; k < 12; ++k) EXPECT_EQ(s.get(w, "f" + std::to_string(k)).value(), Value(k + 0.5)) << k;
  EXPECT_EQ(s.get(w, "total").value(), Value(0.5 + 5.5 + 9.5 + 11.5));
  for (const std::size_t at : {std::size_t{0}, std::size_t{3}, std::size_t{7}, std::size_t{8}, std::size_t{11}}) {
    FieldValues bad = all;
    bad[at].first = "nope";
    const Status st = s.update(w, bad);
    EXPECT_EQ(st.code(), StatusCode::not_found) << at;
    EXPECT_NE(st.message().find("unknown field 'nope' in entity Wide"), std::string::npos) << st.message();
    s.reject();
  }
  EXPECT_EQ(s.update(w + 100, all).code(), StatusCode::not_found);
  EXPECT_EQ(s.get(w, "f3").value(), Value(3.5));
}

TEST(SchemaStore, IncrementalAggregatesReadStateNodesNotTheCollection) {
  Store s(shop(true));
  const RecordId o = s.create("Order", {}).value();
  std::vector<RecordId> items;
  for (int k = 0; k < 50; ++k) {
    items.push_back(s.create("Item", {{"price", Value(k)}}).value());
    ASSERT_TRUE(s.link(o, "items", items.back()).is_ok());
  }
  ASSERT_TRUE(s.commit().is_ok());
  // total is declared over two hidden nodes (count and sum), however many items there are.
  const NodeId total = s.node_of(o, "total").value();
  EXPECT_EQ(s.graph().dependencies(total).size(), 1u);
  ASSERT_TRUE(s.update(items[10], {{"price", Value(1000)}}).is_ok());
  auto stats = s.commit();
  ASSERT_TRUE(stats.is_ok());
  EXPECT_LE(stats->computed, 6u);  // total, mean, low and nothing per item
  EXPECT_EQ(s.get(o, "total").value(), Value(1225.0 - 10 + 1000));
}

TEST(SchemaStore, IncrementalMatchesFullRecomputeOnLongRandomStreams) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    Store inc(shop(true)), full(shop(false));
    Rng rng(seed);
    std::vector<RecordId> orders, items, tags;
    auto both = [&](auto&& op) {
      const Status a = op(inc), b = op(full);
      EXPECT_EQ(a.code(), b.code()) << a.to_string() << " vs " << b.to_string();
    };
    for (int k = 0; k < 3; ++k) {
      orders.push_back(inc.create("Order", {}).value());
      ASSERT_EQ(full.create("Order", {}).value(), orders.back());
    }
    ASSERT_TRUE(inc.commit().is_ok());
    ASSERT_TRUE(full.commit().is_ok());
    for (int step = 0; step < 4000; ++step) {
      const std::uint64_t pick = rng.below(100);
      if (pick < 15 || items.empty()) {
        const FieldValues v = {{"price", Value(static_cast<double>(rng.below(100)))},
                               {"qty", Value(static_cast<std::int64_t>(rng.below(5)))},
                               {"flag", Value(rng.below(2) == 0)}};
        const RecordId id = inc.create("Item", v).value();
        ASSERT_EQ(full.create("Item", v).value(), id);
        items.push_back(id);
      } else if (pick < 20) {
        const RecordId id =
            inc.create("Tag", {{"weight", Value(static_cast<double>(rng.below(9)))}}).value();
        ASSERT_EQ(full.create("Tag", {{"weight", Value(static_cast<double>(id % 9))}}).value(), id);
        ASSERT_TRUE(inc.update(id, {{"weight", Value(static_cast<double>(id % 9))}}).is_ok());
        tags.push_back(id);
      } else if (pick < 45) {
        const RecordId i = items[rng.below(items.size())];
        const FieldValues v = {
            {rng.below(2) ? "price" : "flag", Value(static_cast<double>(rng.below(100)))}};
        const FieldValues w =
            v[0].first == "flag" ? FieldValues{{"flag", Value(rng.below(2) == 0)}} : v;
        both([&](Store& s) { return s.update(i, w); });
      } else if (pick < 65) {
        const RecordId o = orders[rng.below(orders.size())], i = items[rng.below(items.size())];
        both([&](Store& s) { return s.link(o, "items", i); });
      } else if (pick < 75) {
        const RecordId o = orders[rng.below(orders.size())], i = items[rng.below(items.size())];
        both([&](Store& s) { return s.unlink(o, "items", i); });
      } else if (pick < 82 && !tags.empty()) {
        const RecordId o = orders[rng.below(orders.size())], t = tags[rng.below(tags.size())];
        const bool on = rng.below(2) == 0;
        both([&](Store& s) { return on ? s.link(o, "tags", t) : s.unlink(o, "tags", t); });
      } else if (pick < 85) {
        const RecordId i = items[rng.below(items.size())];
        both([&](Store& s) { return s.remove(i); });
      } else if (pick < 90) {
        both([](Store& s) { return s.undo(); });
      } else if (pick < 92) {
        both([](Store& s) { return s.redo(); });
      } else if (pick < 94) {
        inc.reject();
        full.reject();
      } else {
        both([](Store& s) { return s.commit().status(); });
        for (RecordId o : orders) {
          // undo may take back the orders' creation; both sides must agree on that too.
          ASSERT_EQ(inc.exists(o), full.exists(o));
          if (!inc.exists(o)) continue;
          for (const char* f : kOrderFields) {
            const Value a = inc.get(o, f).value(), b = full.get(o, f).value();
            ASSERT_TRUE(close(a, b))
                << "seed " << seed << " step " << step << " order " << o << "." << f
                << ": incremental " << a.to_json() << " vs full " << b.to_json();
          }
        }
        for (RecordId t : tags) {
          if (inc.exists(t)) {
            EXPECT_EQ(inc.get(t, "uses").value(), full.get(t, "uses").value());
          }
        }
      }
    }
    EXPECT_TRUE(inc.graph().check_invariants().is_ok());
  }
}

TEST(SchemaStore, UndoRestoresMembershipAndMinMax) {
  Store s(shop(true));
  const RecordId o = s.create("Order", {}).value();
  const RecordId a = s.create("Item", {{"price", Value(3)}}).value();
  const RecordId b = s.create("Item", {{"price", Value(1)}}).value();
  ASSERT_TRUE(s.link(o, "items", a).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  ASSERT_TRUE(s.link(o, "items", b).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(s.get(o, "low").value(), Value(1.0));
  ASSERT_TRUE(s.undo().is_ok());
  EXPECT_EQ(s.get(o, "low").value(), Value(3.0));
  EXPECT_EQ(s.members(o, "items").value(), std::vector<RecordId>{a});
  ASSERT_TRUE(s.redo().is_ok());
  EXPECT_EQ(s.members(o, "items").value(), (std::vector<RecordId>{a, b}));
  ASSERT_TRUE(s.remove(b).is_ok());
  s.reject();
  EXPECT_TRUE(s.exists(b));
  EXPECT_EQ(s.get(o, "low").value(), Value(1.0));
}

}  // namespace
}  // namespace mgraph::schema

namespace mgraph::schema {
namespace {

constexpr const char* kTask = R"(
entity Task {
  start: float = 0  end: float = 10  duration: float = 10  note: string = ""
  cycle schedule(start, end, duration) {
    start = end - duration
    end = start + duration  @default
    duration = end - start
  }
  late: bool = end > 20
}
)";

TEST(SchemaStore, UpdateKeepsNamedMembersForOneTransaction) {
  auto compiled = compile_schema(SourceFile{"task.mgs", kTask});
  ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
  Store s(std::move(compiled).value());
  const RecordId t = s.create("Task", {}).value();
  ASSERT_TRUE(s.commit().is_ok());
  const std::string keep_start[] = {"start"};
  ASSERT_TRUE(s.update(t, {{"end", Value(30.0)}}, keep_start).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(s.get(t, "start").value(), Value(0.0));
  EXPECT_EQ(s.get(t, "duration").value(), Value(30.0));
  ASSERT_TRUE(s.update(t, {{"end", Value(40.0)}}).is_ok());
  ASSERT_TRUE(s.commit().is_ok());
  EXPECT_EQ(s.get(t, "start").value(), Value(10.0));

  // A name that is not a member fails the update before it writes anything.
  const std::string keep_late[] = {"late"};
  const Status late = s.update(t, {{"note", Value("x")}}, keep_late);
  EXPECT_EQ(late.code(), StatusCode::invalid_argument);
  EXPECT_EQ(late.message(),
            "Task.late is not a member of a cycle group: keep= names a member, as keep=start");
  const std::string keep_nothing[] = {"nothing"};
  const Status nothing = s.update(t, {{"note", Value("x")}}, keep_nothing);
  EXPECT_EQ(nothing.code(), StatusCode::not_found);
  EXPECT_EQ(nothing.message(), "unknown field 'nothing' in entity Task");
  EXPECT_FALSE(s.graph().in_transaction());
  EXPECT_EQ(s.get(t, "note").value(), Value(""));
}

}  // namespace
}  // namespace mgraph::schema

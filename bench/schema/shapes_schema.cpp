// BENCH.md's chain and fanin stated as a schema (*.mgs text built here) and compiled with
// compile_schema, next to the same shapes with C++ callables on a bare Graph, so the ratio
// compiled formula / C++ can be read off. One iteration = one BENCH.md update through the
// document Store API: update(), commit(), get().
//
//   schema-chain       one record of `entity Chain { h: float = 0  c0: float = h + 1
//                      c1: float = c0 + 1 ... c999 }`: 1000 derived fields with declared
//                      dependencies. update(u): Chain.h = u, commit, get c999.
//   schema-fanin       `entity Fanin { xs: many X via owner  total: float = sum(xs[*].v) }`
//                      over 1000 X records (v = i): the pattern aggregate is incremental, the
//                      Store keeps count and sum nodes from mutation events (O(1) per update).
//                      update(u): X[u mod 1000].v = u + 1000, commit, get total.
//   schema-fanin-scan  the same schema compiled with incremental_aggregates = false: total
//                      rescans its 1000 members on every update (tracked reads), like the
//                      C++ shape, which sums its 1000 inputs.
//   cpp-chain, cpp-fanin  bench/engine's chain and fanin (C++ formulas, declared inputs).

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "schema/schema_common.hpp"

namespace mgraph::bench {
namespace {

using schema::FieldValues;
using schema::RecordId;

constexpr std::size_t kChainLength = 1000;
/// The C++ shapes run on a Graph without undo history (GraphOptions' default); the schema
/// shapes do the same, so the ratio compares formulas and the Store layer only.
constexpr schema::StoreOptions kNoHistory{.history_limit = 0, .placement = {}};
constexpr std::size_t kFaninWidth = 1000;

/// `entity Chain { h: float = 0  c0: float = h + 1  c1: float = c0 + 1  ...  c999 }`
std::string chain_schema() {
  std::string text = "entity Chain {\n  h: float = 0\n  c0: float = h + 1\n";
  for (std::size_t i = 1; i < kChainLength; ++i) {
    text.append("  c").append(std::to_string(i));
    text.append(": float = c").append(std::to_string(i - 1)).append(" + 1\n");
  }
  return text + "}\n";
}

constexpr const char* kFaninSchema = R"(
entity Fanin {
  xs: many X via owner
  total: float = sum(xs[*].v)
}
entity X { v: float = 0 }
)";

class SchemaChain final : public StoreShape {
 public:
  SchemaChain() {
    if (!open("chain.mgs", chain_schema(), {}, kNoHistory)) return;
    record_ = create("Chain", {});
    store_commit();
    char tail[32];
    std::snprintf(tail, sizeof tail, "c%zu", kChainLength - 1);
    tail_ = tail;
    get(record_, tail_);
    write_ = {{"h", Value(0.0)}};
  }

  double update(std::uint64_t u) override {
    write_[0].second = Value(static_cast<double>(u));
    update_record(record_, write_);
    store_commit();
    return get(record_, tail_);
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    counters["computed"] = static_cast<double>(last_commit_.computed);
  }

 private:
  RecordId record_ = 0;
  std::string tail_;
  FieldValues write_;
};

class SchemaFanin final : public StoreShape {
 public:
  explicit SchemaFanin(bool incremental) {
    if (!open("fanin.mgs", kFaninSchema, schema::CompileOptions{incremental}, kNoHistory)) return;
    fanin_ = create("Fanin", {});
    FieldValues values = {{"v", Value(0.0)}};
    for (std::size_t i = 0; i < kFaninWidth; ++i) {
      values[0].second = Value(static_cast<double>(i));
      const RecordId x = create("X", values);
      link(fanin_, "xs", x);
      xs_.push_back(x);
    }
    store_commit();
    get(fanin_, "total");
    write_ = {{"v", Value(0.0)}};
  }

  double update(std::uint64_t u) override {
    write_[0].second = Value(static_cast<double>(u + 1000));
    update_record(xs_[u % kFaninWidth], write_);
    store_commit();
    return get(fanin_, "total");
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    counters["computed"] = static_cast<double>(last_commit_.computed);
  }

 private:
  RecordId fanin_ = 0;
  std::vector<RecordId> xs_;
  FieldValues write_;
};

}  // namespace

void register_schema_shapes() {
  register_shape({"schema-chain", 100, 105050.0, [] { return std::make_unique<SchemaChain>(); }});
  register_shape({"cpp-chain", 100, 105050.0, [] { return make_chain_shape(); }});
  register_shape(
      {"schema-fanin", 2500, 4376501000.0, [] { return std::make_unique<SchemaFanin>(true); }});
  register_shape({"schema-fanin-scan", 2500, 4376501000.0,
                  [] { return std::make_unique<SchemaFanin>(false); }});
  register_shape({"cpp-fanin", 2500, 4376501000.0, [] { return make_fanin_shape(); }});
}

}  // namespace mgraph::bench

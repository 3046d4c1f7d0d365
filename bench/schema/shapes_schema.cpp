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
//
// Schema formulas as scalar kernels (CompiledFormula::scalar; docs/PERFORMANCE.md "Schema
// formulas as scalar kernels"): the float formulas of chain, broad and cellx compile to
// programs that the lean commit runs as FieldSpec::kernel; the `-closures` shapes compile
// the same text with CompileOptions::scalar_kernels = false (closures on a Context).
//   schema-chain[-closures]       as above.
//   schema-broad[-closures]       one record, `s: float = 0  b0: float = s + 0` ...
//                                 `b999: float = s + 999`. update(u): s = u, commit, Σ of
//                                 the 1000 fields, read from the store's graph by node (as
//                                 the C++ shape reads them).
//   schema-cellx-1000[-closures]  one record, start fields a b c d (1 2 3 4) and 1000 layers
//                                 `aK = b(K-1)`, `bK = a(K-1) - c(K-1)`, `cK = b(K-1) +
//                                 d(K-1)`, `dK = c(K-1)`. update(u): the start fields become
//                                 4 3 2 1 (odd u) or 1 2 3 4 in one update, commit, a + 3b
//                                 + 7c + 11d of the last layer by get().
//   cpp-chain-kernel, cpp-broad-kernel, cpp-cellx-1000-kernel, cpp-broad,
//   cpp-cellx-1000        bench/engine's shapes with kernels (the BENCH.md keys chain,
//                         broad, cellx-1000) and with Formula on a Context.

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

schema::CompileOptions with_kernels(bool kernels) {
  schema::CompileOptions options;
  options.scalar_kernels = kernels;
  return options;
}

class SchemaChain final : public StoreShape {
 public:
  explicit SchemaChain(bool kernels) {
    if (!open("chain.mgs", chain_schema(), with_kernels(kernels), kNoHistory)) return;
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
    counters["lean"] = last_commit_.lean ? 1 : 0;
  }

 private:
  RecordId record_ = 0;
  std::string tail_;
  FieldValues write_;
};

constexpr std::size_t kBroadWidth = 1000;
constexpr std::size_t kCellxLayers = 1000;

/// `entity Broad { s: float = 0  b0: float = s + 0  ...  b999: float = s + 999 }`
std::string broad_schema() {
  std::string text = "entity Broad {\n  s: float = 0\n";
  for (std::size_t i = 0; i < kBroadWidth; ++i) {
    const std::string k = std::to_string(i);
    text.append("  b").append(k).append(": float = s + ").append(k).append("\n");
  }
  return text + "}\n";
}

/// `entity Cellx { a0: float = 1 ... d0: float = 4  a1: float = b0  b1: float = a0 - c0 ... }`
std::string cellx_schema() {
  std::string text = "entity Cellx {\n  a0: float = 1  b0: float = 2  c0: float = 3  d0: float = 4\n";
  for (std::size_t layer = 1; layer <= kCellxLayers; ++layer) {
    const std::string k = std::to_string(layer), p = std::to_string(layer - 1);
    text.append("  a").append(k).append(": float = b").append(p);
    text.append("  b").append(k).append(": float = a").append(p).append(" - c").append(p);
    text.append("  c").append(k).append(": float = b").append(p).append(" + d").append(p);
    text.append("  d").append(k).append(": float = c").append(p).append("\n");
  }
  return text + "}\n";
}

class SchemaBroad final : public StoreShape {
 public:
  explicit SchemaBroad(bool kernels) {
    if (!open("broad.mgs", broad_schema(), with_kernels(kernels), kNoHistory)) return;
    record_ = create("Broad", {});
    store_commit();
    for (std::size_t i = 0; i < kBroadWidth; ++i) {
      Result<NodeId> node = store_->node_of(record_, std::string("b").append(std::to_string(i)));
      if (!node.is_ok()) {
        fail("node_of", node.status());
        return;
      }
      nodes_.push_back(*node);
    }
    write_ = {{"s", Value(0.0)}};
  }

  double update(std::uint64_t u) override {
    write_[0].second = Value(static_cast<double>(u));
    update_record(record_, write_);
    store_commit();
    double sum = 0;
    for (NodeId node : nodes_) {
      const Value& v = store_->graph().read(node);
      if (!v.is_double()) [[unlikely]] return fail_read(node, v);
      sum += v.as_double();
    }
    return sum;
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    counters["computed"] = static_cast<double>(last_commit_.computed);
    counters["lean"] = last_commit_.lean ? 1 : 0;
  }

 private:
  RecordId record_ = 0;
  std::vector<NodeId> nodes_;
  FieldValues write_;
};

class SchemaCellx final : public StoreShape {
 public:
  explicit SchemaCellx(bool kernels) {
    if (!open("cellx.mgs", cellx_schema(), with_kernels(kernels), kNoHistory)) return;
    record_ = create("Cellx", {});
    store_commit();
    const std::string last = std::to_string(kCellxLayers);
    for (const char* cell : {"a", "b", "c", "d"}) ends_.push_back(std::string(cell).append(last));
    write_ = {{"a0", Value(0.0)}, {"b0", Value(0.0)}, {"c0", Value(0.0)}, {"d0", Value(0.0)}};
  }

  double update(std::uint64_t u) override {
    const bool odd = (u % 2) == 1;
    for (std::size_t k = 0; k < 4; ++k) {
      const double start = static_cast<double>(k);
      write_[k].second = Value(odd ? 4.0 - start : 1.0 + start);
    }
    update_record(record_, write_);
    store_commit();
    return get(record_, ends_[0]) + 3 * get(record_, ends_[1]) + 7 * get(record_, ends_[2]) +
           11 * get(record_, ends_[3]);
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    counters["computed"] = static_cast<double>(last_commit_.computed);
    counters["lean"] = last_commit_.lean ? 1 : 0;
  }

 private:
  RecordId record_ = 0;
  std::vector<std::string> ends_;
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
  register_shape(
      {"schema-chain", 100, 105050.0, [] { return std::make_unique<SchemaChain>(true); }});
  register_shape({"schema-chain-closures", 100, 105050.0,
                  [] { return std::make_unique<SchemaChain>(false); }});
  register_shape({"cpp-chain", 100, 105050.0, [] { return make_chain_shape(false); }});
  register_shape({"cpp-chain-kernel", 100, 105050.0, [] { return make_chain_shape(true); }});
  register_shape(
      {"schema-broad", 100, 55000000.0, [] { return std::make_unique<SchemaBroad>(true); }});
  register_shape({"schema-broad-closures", 100, 55000000.0,
                  [] { return std::make_unique<SchemaBroad>(false); }});
  register_shape({"cpp-broad", 100, 55000000.0, [] { return make_broad_shape(false); }});
  register_shape({"cpp-broad-kernel", 100, 55000000.0, [] { return make_broad_shape(true); }});
  register_shape(
      {"schema-cellx-1000", 20, 200.0, [] { return std::make_unique<SchemaCellx>(true); }});
  register_shape({"schema-cellx-1000-closures", 20, 200.0,
                  [] { return std::make_unique<SchemaCellx>(false); }});
  register_shape({"cpp-cellx-1000", 20, 200.0, [] { return make_cellx_shape(1000, false); }});
  register_shape(
      {"cpp-cellx-1000-kernel", 20, 200.0, [] { return make_cellx_shape(1000, true); }});
  register_shape(
      {"schema-fanin", 2500, 4376501000.0, [] { return std::make_unique<SchemaFanin>(true); }});
  register_shape({"schema-fanin-scan", 2500, 4376501000.0,
                  [] { return std::make_unique<SchemaFanin>(false); }});
  register_shape({"cpp-fanin", 2500, 4376501000.0, [] { return make_fanin_shape(); }});
}

}  // namespace mgraph::bench

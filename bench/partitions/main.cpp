// mgraph_bench_partitions: documents spread over partitions in one process
// (actors/partitioned.hpp), their partitions served one after another or at once on
// worker threads (LocalPartitions::Options::threaded). BENCH.md's scale-pull and
// commit-100k-d10 stated as a schema; one iteration = one update through the driver
// (PartitionedDocuments::run of the writes and a commit), then the reads of the engine
// shape, each from the Store of the partition owning the record. docs/PERFORMANCE.md,
// "Partitions in one process on all cores", has the figures.
//
//   scale-pull-schema   `entity N { x: float = 0  ps: many N via many cs
//                       s: float = x + sum(ps[*].s) }`: one record per node of the engine
//                       shape (10^6), its parents linked as `ps` (2.7 M links); sources
//                       are layer 0's records, whose x is written. update(u): the update
//                       list's source gets x = (x + 1) mod 1000, commit, read s of every
//                       sink it reaches.
//   commit-100k-d10-schema  `entity Box { x: int = 0  ps: many Box via many cs
//                       s: int = x + sum(ps[*].m)  m: int = s % 10000 }`: 100,000 boxes,
//                       box i linked to boxes i-1..i-10; boxes 0..9 are sources (x = 1).
//                       update(u): box i < 10 gets x = (u + i) mod 10, commit, read s of
//                       every later box.
//   independent-schema  not a BENCH.md shape: 100,000 records of `entity R { x: float = 0
//                       y, z, w: float formulas of x }` that read nothing of one another
//                       (no value crosses partitions: the best case). update(u): every x
//                       gets (u + k) mod 100 in one batch, commit, read every w.
//
// Each shape runs as /1 (one partition: the whole batch in one request), /2-sequential and
// /2-threaded (two partitions, the requests of a phase served one after another or at
// once). The checksums are the engine shapes' (bench/engine), or computed on a plain array
// where BENCH.md gives none; a mismatch or an error fails
// the benchmark and makes the binary exit 1.
//
// What differs from the engine shapes: a derived value is an incremental aggregate over a
// relation (the Store keeps a sum node per record, updated by deltas) plus the record's own
// x, instead of one node summing its inputs; commit-100k-d10 needs a second field per box
// for the mod; every partition holds every record (inputs everywhere, computation at the
// owner, docs/CLUSTER.md); reads go to the owner's Store by node id (what a get of a
// committed value reads) instead of through a batch of `get`s.

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/harness.hpp"
#include "engine/scale_topology.hpp"
#include "mgraph/actors/partitioned.hpp"
#include "schema/schema_common.hpp"

namespace mgraph::bench {
namespace {

using session::Op;
using session::OpKind;
using session::RecordId;

/// Ops in one load batch at most (a commit ends each).
constexpr std::size_t kLoadBatch = 500000;

/// Documents on 1 or 2 partitions in this process, built through the driver.
class PartitionedShape : public Shape {
 public:
  PartitionedShape(std::uint32_t partitions, bool threaded)
      : Shape(Evaluation::strict), partitions_(partitions), threaded_(threaded) {}

  double bytes_per_node() const override {
    const Graph& g = set_->server(0).store().graph();
    return static_cast<double>(g.memory_bytes()) / static_cast<double>(g.node_count());
  }

  void add_counters(benchmark::UserCounters& counters) const override {
    counters["partitions"] = partitions_;
    counters["marks_per_update"] = per_update(documents_->traffic().marks, marks_at_start_);
    counters["resolves_per_update"] =
        per_update(documents_->traffic().resolutions, resolutions_at_start_);
  }

 protected:
  /// Compiles the schema and starts the partitions; false (and a recorded failure) otherwise.
  bool open(const char* file, std::string text) {
    Result<std::shared_ptr<const schema::Schema>> compiled = compile_text(file, std::move(text));
    if (!compiled.is_ok()) {
      fail("compile_schema", compiled.status());
      return false;
    }
    actors::LocalPartitions::Options local;
    local.partitions = partitions_;
    local.history_limit = 0;  // as the engine shapes: no undo
    local.threaded = threaded_;
    auto set = std::make_unique<actors::LocalPartitions>(std::move(compiled).value(), local);
    set_ = set.get();
    // The load is a million small requests, each to every partition: no hand-overs.
    set_->set_threaded(false);
    documents_ = std::make_unique<actors::PartitionedDocuments>(std::move(set),
                                                                actors::PartitionedDocuments::Options{});
    return true;
  }

  /// After the load: updates run as the benchmark asks.
  void loaded() {
    set_->set_threaded(threaded_);
    marks_at_start_ = documents_->traffic().marks;
    resolutions_at_start_ = documents_->traffic().resolutions;
  }

  /// Runs `batch`; records the first failed op.
  session::BatchResult run(const session::Batch& batch) {
    session::BatchResult results = documents_->run(batch);
    for (const session::OpResult& r : results) {
      if (!r.status.is_ok()) [[unlikely]] {
        fail("run", r.status);
        break;
      }
    }
    return results;
  }

  /// Creates `count` records of `entity`, record k with `values(k)`, committed in batches.
  std::vector<RecordId> create(const char* entity, std::size_t count,
                               const std::function<session::FieldValues(std::size_t)>& values) {
    std::vector<RecordId> ids;
    ids.reserve(count);
    session::Batch batch;
    for (std::size_t k = 0; k < count; ++k) {
      Op op;
      op.kind = OpKind::create;
      op.entity = entity;
      op.values = values(k);
      batch.push_back(std::move(op));
      if (batch.size() == kLoadBatch || k + 1 == count) {
        batch.push_back(commit_op());
        const session::BatchResult results = run(batch);
        for (std::size_t i = 0; i + 1 < results.size(); ++i) ids.push_back(results[i].created);
        batch.clear();
      }
    }
    return ids;
  }

  /// Links every (a, b) of `links` as a.`relation` b, committed in batches.
  void link(const char* relation, const std::vector<std::pair<RecordId, RecordId>>& links) {
    session::Batch batch;
    for (std::size_t k = 0; k < links.size(); ++k) {
      Op op;
      op.kind = OpKind::link;
      op.name = relation;
      op.refs = {session::RecordRef{links[k].first, {}, {}}, session::RecordRef{links[k].second, {}, {}}};
      batch.push_back(std::move(op));
      if (batch.size() == kLoadBatch || k + 1 == links.size()) {
        batch.push_back(commit_op());
        run(batch);
        batch.clear();
      }
    }
  }

  /// One write and a commit.
  void write(RecordId id, const char* field, Value value) {
    Op op;
    op.kind = OpKind::update;
    op.refs = {session::RecordRef{id, {}, {}}};
    op.values = {{field, std::move(value)}};
    batch_.push_back(std::move(op));
  }
  void commit() {
    batch_.push_back(commit_op());
    run(batch_);
    batch_.clear();
    ++updates_;
  }

  /// The node of a record's field (the same on every partition).
  NodeId node(RecordId id, const char* field) {
    Result<NodeId> n = set_->server(0).store().node_of(id, field);
    if (!n.is_ok()) {
      fail("node_of", n.status());
      return kNoNode;
    }
    return *n;
  }
  /// The committed value of `n`, a field of `id`, as its owner holds it.
  double value(RecordId id, NodeId n) const {
    const std::uint32_t owner = schema::Placement::partition_of(id, partitions_);
    const Value& v = set_->server(owner).store().graph().committed(n);
    return v.is_int() ? static_cast<double>(v.as_int()) : v.is_double() ? v.as_double() : NAN;
  }

 private:
  static Op commit_op() {
    Op op;
    op.kind = OpKind::commit;
    return op;
  }
  double per_update(std::uint64_t now, std::uint64_t start) const {
    return updates_ == 0 ? 0 : static_cast<double>(now - start) / static_cast<double>(updates_);
  }

  std::uint32_t partitions_;
  bool threaded_;
  actors::LocalPartitions* set_ = nullptr;  ///< owned by documents_
  std::unique_ptr<actors::PartitionedDocuments> documents_;
  session::Batch batch_;
  std::uint64_t marks_at_start_ = 0;
  std::uint64_t resolutions_at_start_ = 0;
  std::uint64_t updates_ = 0;
};

constexpr const char* kScaleSchema = R"(
entity N {
  x: float = 0
  ps: many N via many cs
  s: float = x + sum(ps[*].s)
}
)";

class ScaleSchema final : public PartitionedShape {
 public:
  ScaleSchema(std::uint32_t partitions, bool threaded) : PartitionedShape(partitions, threaded) {
    if (!open("scale.mgs", kScaleSchema)) return;
    const Topology topology;
    const std::vector<RecordId> ids = create("N", kNodes, [](std::size_t k) {
      return k < kWidth ? session::FieldValues{{"x", Value(static_cast<double>(k % 1000))}}
                        : session::FieldValues{};
    });
    if (!error().empty()) return;
    std::vector<std::pair<RecordId, RecordId>> links;
    links.reserve(topology.parents.size());
    for (std::uint32_t layer = 1; layer < kLayers; ++layer) {
      for (std::uint32_t j = 0; j < kWidth; ++j) {
        for (std::uint32_t p : topology.parents_of(layer, j)) {
          links.emplace_back(ids[layer * kWidth + j], ids[(layer - 1) * kWidth + p]);
        }
      }
    }
    link("ps", links);
    if (!error().empty()) return;
    for (std::uint32_t j = 0; j < kWidth; ++j) sources_.push_back(ids[j]);
    Mulberry32 rng(2);
    for (std::size_t q = 0; q < kUpdateSources; ++q) {
      update_sources_.push_back(rng.next() % kWidth);
      reachable_.push_back({});
      for (std::uint32_t index : topology.reachable_sinks(update_sources_.back())) {
        const RecordId sink = ids[(kLayers - 1) * kWidth + index];
        reachable_.back().emplace_back(sink, node(sink, "s"));
      }
    }
    loaded();
  }

  double update(std::uint64_t u) override {
    const std::size_t q = (u - 1) % kUpdateSources;
    const RecordId source = sources_[update_sources_[q]];
    const double x = value(source, node(source, "x"));
    write(source, "x", Value(std::fmod(x + 1, 1000.0)));
    commit();
    double sum = 0;
    for (const auto& [sink, n] : reachable_[q]) sum += value(sink, n);
    return sum;
  }

 private:
  std::vector<RecordId> sources_;
  std::vector<std::uint32_t> update_sources_;  ///< BENCH.md's update list
  std::vector<std::vector<std::pair<RecordId, NodeId>>> reachable_;  ///< sinks, with s
};

constexpr const char* kCommitSchema = R"(
entity Box {
  x: int = 0
  ps: many Box via many cs
  s: int = x + sum(ps[*].m)
  m: int = s % 10000
}
)";

class CommitSchema final : public PartitionedShape {
 public:
  static constexpr std::size_t kDependencies = 10;

  CommitSchema(std::size_t boxes, std::uint32_t partitions, bool threaded)
      : PartitionedShape(partitions, threaded), boxes_count_(boxes) {
    if (!open("commit.mgs", kCommitSchema)) return;
    boxes_ = create("Box", boxes, [](std::size_t k) {
      return k < kDependencies ? session::FieldValues{{"x", Value(std::int64_t{1})}}
                               : session::FieldValues{};
    });
    if (!error().empty()) return;
    std::vector<std::pair<RecordId, RecordId>> links;
    for (std::size_t i = kDependencies; i < boxes; ++i) {
      for (std::size_t j = 1; j <= kDependencies; ++j) links.emplace_back(boxes_[i], boxes_[i - j]);
    }
    link("ps", links);
    if (!error().empty()) return;
    for (std::size_t i = kDependencies; i < boxes; ++i) derived_.push_back(node(boxes_[i], "s"));
    loaded();
  }

  double update(std::uint64_t u) override {
    for (std::size_t i = 0; i < kDependencies; ++i) {
      write(boxes_[i], "x", Value(static_cast<std::int64_t>((u + i) % 10)));
    }
    commit();
    double sum = 0;
    for (std::size_t i = 0; i < derived_.size(); ++i) sum += value(boxes_[kDependencies + i], derived_[i]);
    return sum;
  }

  /// The engine shape's arithmetic on a plain array (BENCH.md gives commit-100k-d10's only).
  std::optional<double> computed_checksum(std::uint64_t updates) const override {
    std::vector<std::int64_t> box(boxes_count_, 1);
    double checksum = 0;
    for (std::uint64_t u = 1; u <= updates; ++u) {
      for (std::size_t i = 0; i < kDependencies; ++i) box[i] = static_cast<std::int64_t>((u + i) % 10);
      for (std::size_t i = kDependencies; i < boxes_count_; ++i) {
        box[i] = 0;
        for (std::size_t j = 1; j <= kDependencies; ++j) box[i] += box[i - j] % 10000;
        checksum += static_cast<double>(box[i]);
      }
    }
    return checksum;
  }

 private:
  std::size_t boxes_count_;
  std::vector<RecordId> boxes_;
  std::vector<NodeId> derived_;  ///< s of boxes 10.. in order
};

constexpr const char* kIndependentSchema = R"(
entity R {
  x: float = 0
  y: float = x * x + 3 * x + 1
  z: float = y * y - y
  w: float = z / 2 + y
}
)";

/// Not a BENCH.md shape: the best case of partitions, records that read nothing of one
/// another, so no value crosses partitions. 100,000 records; update(u): every x_k gets
/// (u + k) mod 100 in one batch, commit, read w of every record. Every partition applies
/// every write; each computes the fields of its own records only.
class IndependentSchema final : public PartitionedShape {
 public:
  static constexpr std::size_t kRecords = 100000;

  IndependentSchema(std::uint32_t partitions, bool threaded) : PartitionedShape(partitions, threaded) {
    if (!open("independent.mgs", kIndependentSchema)) return;
    records_ = create("R", kRecords, [](std::size_t) { return session::FieldValues{}; });
    if (!error().empty()) return;
    for (const RecordId r : records_) w_.push_back(node(r, "w"));
    loaded();
  }

  double update(std::uint64_t u) override {
    for (std::size_t k = 0; k < kRecords; ++k) {
      write(records_[k], "x", Value(static_cast<double>((u + k) % 100)));
    }
    commit();
    double sum = 0;
    for (std::size_t k = 0; k < kRecords; ++k) sum += value(records_[k], w_[k]);
    return sum;
  }

  std::optional<double> computed_checksum(std::uint64_t updates) const override {
    double checksum = 0;
    for (std::uint64_t u = 1; u <= updates; ++u) {
      for (std::size_t k = 0; k < kRecords; ++k) {
        const double x = static_cast<double>((u + k) % 100);
        const double y = x * x + 3 * x + 1;
        const double z = y * y - y;
        checksum += z / 2 + y;
      }
    }
    return checksum;
  }

 private:
  std::vector<RecordId> records_;
  std::vector<NodeId> w_;
};

template <class S, class... Args>
void register_variants(const char* key, std::uint64_t updates, std::optional<double> checksum,
                       Args... args) {
  struct Variant {
    const char* suffix;
    std::uint32_t partitions;
    bool threaded;
  };
  for (const Variant v : {Variant{"/1", 1, false}, Variant{"/2-sequential", 2, false},
                          Variant{"/2-threaded", 2, true}}) {
    register_shape({std::string(key) + v.suffix, updates, checksum,
                    [v, args...] { return std::make_unique<S>(args..., v.partitions, v.threaded); }})
        ->UseRealTime();
  }
}

}  // namespace
}  // namespace mgraph::bench

int main(int argc, char** argv) {
  mgraph::bench::set_program_name("mgraph_bench_partitions");
  // The engine shapes' update counts and checksums (bench/engine).
  mgraph::bench::register_variants<mgraph::bench::ScaleSchema>("scale-pull-schema", 5,
                                                               1184265425966.0);
  mgraph::bench::register_variants<mgraph::bench::CommitSchema>("commit-100k-d10-schema", 5,
                                                                24949823660.0, std::size_t{100000});
  // The same on 10,000 boxes (its checksum computed): with 2 partitions the 100,000-box
  // chain makes ~50,000 rounds of Resolves per commit (docs/PERFORMANCE.md).
  mgraph::bench::register_variants<mgraph::bench::CommitSchema>("commit-10k-d10-schema", 5,
                                                                std::nullopt, std::size_t{10000});
  mgraph::bench::register_variants<mgraph::bench::IndependentSchema>("independent-schema", 5,
                                                                     std::nullopt);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  const std::size_t benchmarks_run = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (benchmarks_run == 0) {
    std::fprintf(stderr, "mgraph_bench_partitions: no benchmark matched the filter\n");
    return 1;
  }
  const int failures = mgraph::bench::failure_count();
  if (failures > 0) {
    std::fprintf(stderr, "mgraph_bench_partitions: %d benchmark(s) FAILED (checksum or error)\n",
                 failures);
    return 1;
  }
  return 0;
}

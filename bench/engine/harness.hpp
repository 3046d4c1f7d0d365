#pragma once
// Shared machinery of mgraph_bench_engine: the PRNG of BENCH.md, the Shape base class that
// builds a graph and performs update(u), and the runner that verifies a shape's checksum on
// a freshly built graph before timing it.
//
// Invariants:
//   1. Update numbers u start at 1 on a fresh graph and only grow: the verification run
//      takes u = 1..V, every timed run continues where the previous one stopped.
//   2. A shape is built once per benchmark (outside timing) and shared by its repetitions;
//      at most one shape is alive, so a large one never coexists with another.
//   3. A checksum mismatch or an engine error fails the benchmark (SkipWithError) and is
//      counted in failure_count(), which main() turns into a non-zero exit code.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "engine/mulberry32.hpp"
#include "mgraph/graph/graph.hpp"

namespace mgraph::bench {

/// One benchmark graph. A subclass builds the graph and evaluates it once in its
/// constructor, then performs one update per update(u) call. Engine failures are recorded
/// (first one wins) instead of aborting, so the runner can report them.
class Shape {
 public:
  explicit Shape(Evaluation evaluation) : evaluation_(evaluation) {}
  /// A shape whose graph computes its large layers on `lanes` threads (GraphOptions::lanes;
  /// 1: on the calling thread alone, as the other constructor).
  Shape(Evaluation evaluation, std::uint32_t lanes);
  virtual ~Shape() = default;
  Shape(const Shape&) = delete;
  Shape& operator=(const Shape&) = delete;

  /// Performs update number u and returns the shape's result for it (BENCH.md).
  /// REQUIRES: u is one more than the previous call's u (1 for the first call).
  virtual double update(std::uint64_t u) = 0;

  /// Expected Σ update(u) for u = 1..updates on a fresh graph, for shapes whose reference
  /// is computed by the harness instead of taken from BENCH.md. nullopt otherwise.
  virtual std::optional<double> computed_checksum(std::uint64_t /*updates*/) const {
    return std::nullopt;
  }

  /// Heap bytes of the graph divided by the nodes the shape counts (all nodes by default).
  virtual double bytes_per_node() const;

  /// Adds shape-specific counters to a run's report.
  virtual void add_counters(benchmark::UserCounters& /*counters*/) const {}

  /// The first engine failure, empty if none.
  const std::string& error() const { return error_; }
  const Graph& graph() const { return graph_; }

 protected:
  /// A spec with declared dependencies and this shape's evaluation mode.
  SpecId add_spec(Formula formula, std::string name);
  SpecId add_spec(Formula formula, std::string name, Evaluation evaluation);
  /// A spec with declared dependencies, this shape's evaluation mode and a kernel.
  SpecId add_kernel_spec(ScalarKernel kernel, const void* data, std::string name,
                         KernelForm form = {});
  NodeId add_variable(double initial);
  NodeId add_derived(SpecId spec, std::span<const NodeId> inputs);
  NodeId add_derived(SpecId spec, std::initializer_list<NodeId> inputs) {
    return add_derived(spec, std::span<const NodeId>(inputs.begin(), inputs.size()));
  }

  void write(NodeId node, double value) {
    Status status = graph_.write(node, Value(value));
    if (!status.is_ok()) [[unlikely]] {
      fail("write", status);
    }
  }
  void commit() {
    Result<CommitStats> result = graph_.commit();
    if (!result.is_ok()) [[unlikely]] {
      fail("commit", result.status());
      return;
    }
    last_commit_ = *result;
  }
  /// read(node) as a double; records a failure and returns NaN for any other type.
  double read(NodeId node) {
    const Value& value = graph_.read(node);
    if (!value.is_double()) [[unlikely]] {
      return fail_read(node, value);
    }
    return value.as_double();
  }
  /// Records the first failure.
  void fail(const char* what, const Status& status);
  double fail_read(NodeId node, const Value& value);

  Graph graph_;
  Evaluation evaluation_;
  CommitStats last_commit_;

 private:
  std::string error_;
};

/// The definition of one benchmark: key, verification length and reference.
struct ShapeDef {
  std::string key;                          ///< benchmark name (BENCH.md key)
  std::uint64_t verify_updates = 0;         ///< V
  std::optional<double> checksum_expected;  ///< BENCH.md reference; nullopt: computed_checksum()
  std::function<std::unique_ptr<Shape>()> build;
};

/// Registers `def` as a Google Benchmark named def.key, reported in microseconds.
benchmark::internal::Benchmark* register_shape(ShapeDef def);

/// Benchmarks that failed (checksum mismatch or engine error) so far in this process.
int failure_count();
/// Counts a failure of benchmark `key` that the Shape runner does not see and prints it.
void report_failure(const std::string& key, const std::string& message);

/// The name this process's messages start with ("mgraph_bench_engine" unless set).
/// REQUIRES: `name` outlives every benchmark run.
void set_program_name(const char* name);
const char* program_name();

/// Resident set size of this process in bytes (from /proc/self/statm).
std::size_t resident_bytes();
/// Returns free heap pages to the OS, so a following resident_bytes() is a fair baseline.
void trim_heap();

/// Sum of all declared inputs: the formula family of fanin and the scale shapes.
Value sum_inputs(Context& context);

void register_small_shapes();
/// BENCH.md's chain, broad, cellx and fanin on C++ callables, for benchmarks that compare
/// against them. `kernel`: the formulas as FieldSpec::kernel, else Formula on a Context.
std::unique_ptr<Shape> make_chain_shape(bool kernel = false);
std::unique_ptr<Shape> make_broad_shape(bool kernel);
std::unique_ptr<Shape> make_cellx_shape(std::size_t layers, bool kernel);
std::unique_ptr<Shape> make_fanin_shape();
void register_commit_shapes();
void register_scale_shapes();
void register_memory_shapes();

}  // namespace mgraph::bench

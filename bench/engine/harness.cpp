#include "engine/harness.hpp"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <utility>

#include "mgraph/graph/thread_lanes.hpp"

namespace mgraph::bench {

double Shape::bytes_per_node() const {
  return static_cast<double>(graph_.memory_bytes()) / static_cast<double>(graph_.node_count());
}

Shape::Shape(Evaluation evaluation, std::uint32_t lanes)
    : graph_(GraphOptions{.lanes = lanes > 1 ? std::make_shared<ThreadLanes>(lanes) : nullptr}),
      evaluation_(evaluation) {}

SpecId Shape::add_spec(Formula formula, std::string name) {
  return add_spec(std::move(formula), std::move(name), evaluation_);
}

SpecId Shape::add_spec(Formula formula, std::string name, Evaluation evaluation) {
  FieldSpec spec;
  spec.formula = std::move(formula);
  spec.evaluation = evaluation;
  spec.dependencies = Dependencies::declared;
  spec.name = std::move(name);
  return graph_.add_spec(std::move(spec));
}

SpecId Shape::add_kernel_spec(ScalarKernel kernel, const void* data, std::string name,
                              KernelForm form) {
  FieldSpec spec;
  spec.kernel = kernel;
  spec.kernel_data = data;
  spec.kernel_form = form;
  spec.evaluation = evaluation_;
  spec.dependencies = Dependencies::declared;
  spec.name = std::move(name);
  return graph_.add_spec(std::move(spec));
}

NodeId Shape::add_variable(double initial) { return graph_.add_variable(Value(initial)); }

NodeId Shape::add_derived(SpecId spec, std::span<const NodeId> inputs) {
  Result<NodeId> node = graph_.add_derived(spec, inputs);
  if (!node.is_ok()) {
    fail("add_derived", node.status());
    return kNoNode;
  }
  return *node;
}

void Shape::fail(const char* what, const Status& status) {
  if (error_.empty()) error_ = std::string(what) + ": " + status.to_string();
}

double Shape::fail_read(NodeId node, const Value& value) {
  if (error_.empty()) {
    error_ = "read " + graph_.name(node) + ": expected a double, got " +
             value_type_name(value.type()) + " " + value.to_json();
  }
  return std::numeric_limits<double>::quiet_NaN();
}

Value sum_inputs(Context& context) {
  double sum = 0;
  const std::size_t count = context.input_count();
  for (std::size_t k = 0; k < count; ++k) sum += context.input(k).as_double();
  return Value(sum);
}

namespace {

/// The shape currently built, shared by every run (repetition) of its benchmark.
struct Prepared {
  std::string key;
  std::unique_ptr<Shape> shape;
  std::uint64_t next_update = 1;
  double checksum = 0;
  double bytes_per_node = 0;
  std::string failure;  ///< non-empty: every run of this benchmark reports it
};

Prepared& prepared() {
  static Prepared instance;
  return instance;
}

int failures = 0;
const char* program = "mgraph_bench_engine";

void report_failure(Prepared& p, std::string failure) {
  p.failure = std::move(failure);
  mgraph::bench::report_failure(p.key, p.failure);
}

/// Builds def's shape unless it is the current one, then runs u = 1..V and compares the
/// sum with the reference.
void prepare(const ShapeDef& def) {
  Prepared& p = prepared();
  if (p.key == def.key) return;
  p.shape.reset();  // invariant 2: free the previous shape before building the next
  trim_heap();
  p = Prepared{};
  p.key = def.key;

  const auto start = std::chrono::steady_clock::now();
  p.shape = def.build();
  const std::chrono::duration<double> build_time = std::chrono::steady_clock::now() - start;
  Shape& shape = *p.shape;
  if (!shape.error().empty()) return report_failure(p, "build: " + shape.error());
  p.bytes_per_node = shape.bytes_per_node();

  const std::optional<double> expected =
      def.checksum_expected ? def.checksum_expected : shape.computed_checksum(def.verify_updates);
  MG_ASSERT_MSG(expected.has_value(), def.key.c_str());
  double checksum = 0;
  for (std::uint64_t u = 1; u <= def.verify_updates; ++u) checksum += shape.update(u);
  p.next_update = def.verify_updates + 1;
  p.checksum = checksum;

  if (!shape.error().empty()) return report_failure(p, "verification: " + shape.error());
  char line[256];
  std::snprintf(line, sizeof line, "checksum %.17g, expected %.17g (V = %llu)", checksum, *expected,
                static_cast<unsigned long long>(def.verify_updates));
  if (!(checksum == *expected)) return report_failure(p, std::string("mismatch: ") + line);
  std::fprintf(stderr, "%s: %s %s OK; built in %.2f s, %.1f bytes/node\n", program, def.key.c_str(),
               line, build_time.count(), p.bytes_per_node);
}

void run(benchmark::State& state, const ShapeDef& def) {
  prepare(def);
  Prepared& p = prepared();
  if (!p.failure.empty()) {
    state.SkipWithError(p.failure.c_str());
    return;
  }
  Shape& shape = *p.shape;
  std::uint64_t u = p.next_update;
  for (auto _ : state) {
    double result = shape.update(u);
    ++u;
    benchmark::DoNotOptimize(result);
  }
  p.next_update = u;
  if (!shape.error().empty()) {
    report_failure(p, "timed run: " + shape.error());
    state.SkipWithError(p.failure.c_str());
    return;
  }
  state.counters["checksum"] = p.checksum;
  state.counters["bytes_per_node"] = p.bytes_per_node;
  shape.add_counters(state.counters);
}

}  // namespace

benchmark::internal::Benchmark* register_shape(ShapeDef def) {
  const std::string name = def.key;
  return benchmark::RegisterBenchmark(
             name.c_str(), [def = std::move(def)](benchmark::State& state) { run(state, def); })
      ->Unit(benchmark::kMicrosecond);
}

int failure_count() { return failures; }

void report_failure(const std::string& key, const std::string& message) {
  ++failures;
  std::fprintf(stderr, "\n*** %s: %s FAILED: %s ***\n\n", program, key.c_str(), message.c_str());
}

void set_program_name(const char* name) { program = name; }
const char* program_name() { return program; }

std::size_t resident_bytes() {
  std::FILE* file = std::fopen("/proc/self/statm", "r");
  MG_ASSERT(file != nullptr);
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int fields = std::fscanf(file, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(file);
  MG_ASSERT(fields == 2);
  return static_cast<std::size_t>(resident_pages) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

void trim_heap() { malloc_trim(0); }

}  // namespace mgraph::bench

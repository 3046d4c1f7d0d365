#pragma once
// Shared pieces of mgraph_bench_schema: compiling schema text built in code, and the
// Shape base of benchmarks that run on a document Store instead of a bare Graph.
//
// Invariants:
//   1. A StoreShape's Store is built in the constructor and never replaced; the Shape's own
//      Graph (harness.hpp) stays empty.
//   2. Store errors are recorded through Shape::fail (first one wins), as engine errors
//      are in bench/engine, so the runner fails the benchmark and main() exits non-zero.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/harness.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/schema/store.hpp"

namespace mgraph::bench {

/// Compiles `text` (reported as `file`); the diagnostics in the error otherwise.
Result<std::shared_ptr<const schema::Schema>> compile_text(std::string file, std::string text,
                                                           schema::CompileOptions options = {});

/// A benchmark shape on a document Store.
class StoreShape : public Shape {
 public:
  StoreShape() : Shape(Evaluation::strict) {}

  /// Heap bytes of the Store's graph divided by its node count.
  double bytes_per_node() const override;

 protected:
  /// Compiles the schema and creates the Store; false (and a recorded failure) otherwise.
  bool open(std::string file, std::string text, schema::CompileOptions options = {},
            schema::StoreOptions store_options = {});

  schema::RecordId create(std::string_view entity, const schema::FieldValues& values);
  void update_record(schema::RecordId id, const schema::FieldValues& values);
  void link(schema::RecordId id, std::string_view relation, schema::RecordId other);
  void store_commit();
  /// store.get(id, field) as a double; NaN and a recorded failure otherwise.
  double get(schema::RecordId id, std::string_view field);

  std::unique_ptr<schema::Store> store_;
};

void register_schema_shapes();
void register_document_benchmarks(std::size_t load_documents);
void register_timing_benchmarks();

}  // namespace mgraph::bench

// mgraph_bench_schema: the schema compiler and the document store (docs/PERFORMANCE.md,
// "Schema and documents"). Google Benchmark's main, plus:
//   --doc_load_documents=D  documents doc-load loads (default 10^6; a positive multiple
//                           of 10: one Order and 9 Items per group)
// and a non-zero exit code when any checksum or check differs from its plain C++
// reference or the store reported an error, so CI can run it.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "schema/schema_common.hpp"

int main(int argc, char** argv) {
  std::size_t load_documents = 1000000;
  constexpr const char kLoadFlag[] = "--doc_load_documents=";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], kLoadFlag, sizeof kLoadFlag - 1) != 0) {
      argv[kept++] = argv[i];
      continue;
    }
    const char* text = argv[i] + sizeof kLoadFlag - 1;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0' || value == 0 || value % 10 != 0) {
      std::fprintf(stderr, "mgraph_bench_schema: %s needs a positive multiple of 10\n", argv[i]);
      return 2;
    }
    load_documents = static_cast<std::size_t>(value);
  }
  argc = kept;
  argv[argc] = nullptr;

  mgraph::bench::set_program_name("mgraph_bench_schema");
  mgraph::bench::register_schema_shapes();
  mgraph::bench::register_document_benchmarks(load_documents);
  mgraph::bench::register_timing_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  const std::size_t benchmarks_run = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (benchmarks_run == 0) {
    std::fprintf(stderr, "mgraph_bench_schema: no benchmark matched the filter\n");
    return 1;
  }
  const int failures = mgraph::bench::failure_count();
  if (failures > 0) {
    std::fprintf(stderr,
                 "mgraph_bench_schema: %d benchmark(s) FAILED (checksum, check or store error)\n",
                 failures);
    return 1;
  }
  return 0;
}

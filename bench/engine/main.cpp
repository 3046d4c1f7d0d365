// mgraph_bench_engine: Google Benchmark's main, plus a non-zero exit code when any shape's
// checksum differs from its reference or the engine reported an error, so CI can run it.

#include <cstdio>

#include "engine/harness.hpp"

int main(int argc, char** argv) {
  mgraph::bench::register_small_shapes();
  mgraph::bench::register_commit_shapes();
  mgraph::bench::register_scale_shapes();
  mgraph::bench::register_memory_shapes();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  const std::size_t benchmarks_run = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (benchmarks_run == 0) {
    std::fprintf(stderr, "mgraph_bench_engine: no benchmark matched the filter\n");
    return 1;
  }
  const int failures = mgraph::bench::failure_count();
  if (failures > 0) {
    std::fprintf(stderr, "mgraph_bench_engine: %d benchmark(s) FAILED (checksum or engine error)\n",
                 failures);
    return 1;
  }
  return 0;
}

# mgraph_bench_persistence: group-commit write rate and log replay rate (docs/PERFORMANCE.md).
# Included from persistence/CMakeLists.txt so that bench/CMakeLists.txt stays the engine's.
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/persistence_bench.cpp)
  add_executable(mgraph_bench_persistence ${CMAKE_SOURCE_DIR}/bench/persistence_bench.cpp)
  target_link_libraries(mgraph_bench_persistence PRIVATE mgraph_persistence mgraph_flags
                                                         benchmark::benchmark)
  # CI check that every benchmark runs without error; the figures come from a full run.
  add_test(NAME persistence.bench_smoke
           COMMAND mgraph_bench_persistence --benchmark_min_time=0.01)
  set_tests_properties(persistence.bench_smoke PROPERTIES TIMEOUT 120 LABELS "persistence;bench")
endif()

#pragma once
// Latency percentiles of the cluster's benchmarks (mgraph bench, mgraph_latency_bench,
// mgraph_cluster_bench --cross 2): nearest-rank percentiles of a sample of durations, in
// microseconds, and their members in a JSON object (nlohmann-json).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mgraph::bench {

struct LatencySummary {
  std::size_t count = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p95_us = 0;
  double p99_us = 0;
  double max_us = 0;
  double mean_us = 0;
};

/// The nearest-rank percentile q (0 < q <= 1) of `sorted` (ascending, not empty).
inline double nearest_rank(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

/// Summarizes `us` (durations in microseconds); all zero when it is empty.
inline LatencySummary summarize(std::vector<double> us) {
  LatencySummary s;
  if (us.empty()) return s;
  std::sort(us.begin(), us.end());
  s.count = us.size();
  s.p50_us = nearest_rank(us, 0.50);
  s.p90_us = nearest_rank(us, 0.90);
  s.p95_us = nearest_rank(us, 0.95);
  s.p99_us = nearest_rank(us, 0.99);
  s.max_us = us.back();
  double sum = 0;
  for (const double v : us) sum += v;
  s.mean_us = sum / static_cast<double>(us.size());
  return s;
}

/// Adds the summary's members (count, p50_us, p90_us, p95_us, p99_us, max_us, mean_us) to `j`.
inline void add_to(nlohmann::ordered_json& j, const LatencySummary& s) {
  j["count"] = s.count;
  j["p50_us"] = s.p50_us;
  j["p90_us"] = s.p90_us;
  j["p95_us"] = s.p95_us;
  j["p99_us"] = s.p99_us;
  j["max_us"] = s.max_us;
  j["mean_us"] = s.mean_us;
}

}  // namespace mgraph::bench

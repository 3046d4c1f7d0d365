#pragma once
// Comparing what a script printed on a cluster with what it printed embedded, allowing for
// the documented differences about cycles (docs/CLUSTER.md, "Documents across partitions").

#include <gtest/gtest.h>

#include <cstddef>
#include <sstream>
#include <string>

namespace mgraph::testing {

/// `out` with every "time_ns":DIGITS replaced by T: the times `history` and `audit` print
/// differ from run to run.
inline std::string without_times(const std::string& out) {
  const std::string key = "\"time_ns\":";
  std::string r;
  std::size_t at = 0;
  for (std::size_t k = out.find(key); k != std::string::npos; k = out.find(key, at)) {
    r.append(out, at, k - at);
    r += 'T';
    at = k + key.size();
    while (at < out.size() && out[at] >= '0' && out[at] <= '9') ++at;
  }
  return r.append(out, at, std::string::npos);
}

/// Whether the cluster printed what the embedded engine printed, line by line. A cycle
/// is refused by both on the same line, but its message may differ: through fields on
/// several partitions the cluster names the fields that wait on one another rather than
/// the path the engine walked, and of several cycles in one transaction it may name
/// another one first.
inline ::testing::AssertionResult same_output(const std::string& cluster, const std::string& embedded,
                                       bool* link_cycle = nullptr) {
  std::istringstream a(cluster), b(embedded);
  std::string x, y;
  // A read inside a transaction met a cycle, with the same message both ways: one Store
  // keeps the transaction open, the cluster rejects it; what follows may part.
  bool read_cycle = false;
  for (std::size_t n = 1;; ++n) {
    const bool more_a = static_cast<bool>(std::getline(a, x));
    const bool more_b = static_cast<bool>(std::getline(b, y));
    if (!more_a && !more_b) return ::testing::AssertionSuccess();
    if (x == y) {
      read_cycle = read_cycle || (x.find(R"("code":"cycle")") != std::string::npos &&
                                  x.find("rolled back") == std::string::npos);
      continue;
    }
    if (read_cycle && link_cycle != nullptr) {
      *link_cycle = true;
      return ::testing::AssertionSuccess();
    }
    const bool both_cycles = x.find("dependency cycle") != std::string::npos &&
                             y.find("dependency cycle") != std::string::npos &&
                             x.find(R"("code":"cycle")") != std::string::npos &&
                             y.find(R"("code":"cycle")") != std::string::npos;
    if (both_cycles) {
      // A read inside a transaction met the cycle: one Store keeps the transaction open,
      // the cluster rejects it (docs/CLUSTER.md); what follows may part.
      if (y.find("rolled back") == std::string::npos && link_cycle != nullptr) {
        *link_cycle = true;
        return ::testing::AssertionSuccess();
      }
      continue;
    }
    // A cycle that one Store and the cluster refuse at different lines: a link that closes
    // a cycle through records on several partitions (one Store refuses the link, the
    // cluster the transaction at its commit), or a cycle met by a read inside a
    // transaction (docs/CLUSTER.md, "Documents across partitions").
    const bool cycle_here = y.find(R"("code":"cycle")") != std::string::npos ||
                            x.find(R"("code":"cycle")") != std::string::npos;
    if (link_cycle != nullptr && cycle_here) {
      *link_cycle = true;
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "output line " << n << "\n  cluster:  " << x
                                         << "\n  embedded: " << y;
  }
}

}  // namespace mgraph::testing

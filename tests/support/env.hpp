#pragma once
// Knobs of long runs given through the environment (soak scripts raise what CI runs).

#include <cstdint>
#include <cstdlib>

namespace mgraph::testing {

/// The number in environment variable `name`, or `fallback` when it is unset or empty.
inline std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

}  // namespace mgraph::testing

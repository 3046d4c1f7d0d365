#pragma once
// The one non-cryptographic hash of the project: 64-bit FNV-1a. Fingerprints of schemas
// (a data directory or a cluster node belongs to one), of a graph's shape and of values
// compared across processes. Stable across builds and machines: it is stored and sent.

#include <cstdint>
#include <string_view>

namespace mgraph {

class Fnv1a64 {
 public:
  static constexpr std::uint64_t kOffset = 14695981039346656037ull;
  static constexpr std::uint64_t kPrime = 1099511628211ull;

  Fnv1a64& byte(unsigned char c) {
    h_ = (h_ ^ c) * kPrime;
    return *this;
  }
  Fnv1a64& bytes(std::string_view s) {
    for (const char c : s) byte(static_cast<unsigned char>(c));
    return *this;
  }
  /// The 8 bytes of `v`, least significant first.
  Fnv1a64& u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) byte(static_cast<unsigned char>(v >> (8 * i)));
    return *this;
  }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = kOffset;
};

/// FNV-1a of a byte string.
inline std::uint64_t fnv1a64(std::string_view s) { return Fnv1a64().bytes(s).value(); }

}  // namespace mgraph

#pragma once
// The workload of the crash test and replay checks: each log batch holds a few small field
// writes (field id u64, value i64, big-endian), generated deterministically from the epoch
// and a seed, and a running-sum state that replay derives from them: the oracle.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "support/prng.hpp"

namespace mgraph::persistence::testing {

using mgraph::testing::Prng;

inline void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}
inline std::uint64_t get_be64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

inline constexpr std::size_t field_write_bytes = 16;
inline constexpr std::uint64_t field_writes_per_batch_max = 8;
inline constexpr std::uint64_t field_count = 64;

/// The batch the crash writer logs for `epoch`.
inline std::string batch_for_epoch(std::uint64_t epoch, std::uint64_t seed) {
  Prng prng(seed * 0x100000001b3ull ^ epoch);
  const std::uint64_t writes = 1 + prng.below(field_writes_per_batch_max);
  std::string out;
  out.reserve(writes * field_write_bytes);
  for (std::uint64_t i = 0; i < writes; ++i) {
    put_be64(out, prng.below(field_count));
    put_be64(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(prng.below(2001)) - 1000));
  }
  return out;
}

/// The timestamp the crash writer logs for `epoch`.
inline std::uint64_t time_ns_for_epoch(std::uint64_t epoch) {
  return 1'700'000'000'000'000'000ull + epoch * 1'000'000ull;
}

/// Running sums per field, derived by replaying batches in epoch order.
struct SumState {
  std::uint64_t epoch = 0;
  std::uint64_t writes = 0;
  std::array<std::uint64_t, field_count> sums{};  // two's complement wrap-around

  /// Applies one batch; false when it is not a whole number of field writes.
  bool apply(std::uint64_t batch_epoch, std::string_view batch) {
    if (batch.size() % field_write_bytes != 0) return false;
    for (std::size_t at = 0; at < batch.size(); at += field_write_bytes) {
      const std::uint64_t field = get_be64(batch.data() + at);
      if (field >= field_count) return false;
      sums[field] += get_be64(batch.data() + at + 8);
      ++writes;
    }
    epoch = batch_epoch;
    return true;
  }

  std::string encode() const {
    std::string out;
    put_be64(out, epoch);
    put_be64(out, writes);
    for (std::uint64_t sum : sums) put_be64(out, sum);
    return out;
  }
  bool decode(std::string_view bytes) {
    if (bytes.size() != 8 * (2 + field_count)) return false;
    epoch = get_be64(bytes.data());
    writes = get_be64(bytes.data() + 8);
    for (std::size_t i = 0; i < field_count; ++i) sums[i] = get_be64(bytes.data() + 16 + 8 * i);
    return true;
  }
  friend bool operator==(const SumState&, const SumState&) = default;
};

}  // namespace mgraph::persistence::testing

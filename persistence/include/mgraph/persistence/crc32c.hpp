#pragma once
// CRC-32C (Castagnoli), the checksum of every stored record. Uses the SSE4.2 instruction
// when the CPU has it, a slicing-by-8 table otherwise; both give the same values.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mgraph::persistence {

/// CRC-32C of `size` bytes continuing from `crc` (the value returned for the bytes before).
/// crc32c_extend(crc32c_extend(0, a), b) == crc32c(a + b).
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);

/// CRC-32C of a byte string.
inline std::uint32_t crc32c(std::string_view bytes) {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

/// The table-driven implementation, exposed so tests can compare it with the hardware one.
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size);

/// True when crc32c_extend uses the CPU's CRC32 instruction.
bool crc32c_is_hardware();

/// Stored checksums are masked (as LevelDB does): a CRC computed over bytes that themselves
/// contain CRCs is otherwise prone to accidental matches.
inline std::uint32_t crc32c_mask(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

/// Inverse of crc32c_mask.
inline std::uint32_t crc32c_unmask(std::uint32_t masked) {
  const std::uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace mgraph::persistence

#include "mgraph/persistence/crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace mgraph::persistence {
namespace {

constexpr std::uint32_t castagnoli_reflected = 0x82f63b78u;

// tables[k][b]: CRC of byte b followed by k zero bytes, for slicing-by-8.
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables tables{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? castagnoli_reflected : 0u);
    tables[0][b] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t b = 0; b < 256; ++b) {
      const std::uint32_t prev = tables[k - 1][b];
      tables[k][b] = (prev >> 8) ^ tables[0][prev & 0xffu];
    }
  }
  return tables;
}

constexpr Tables tables = make_tables();

std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // x86-64 and every platform mgraph targets are little-endian
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t extend_hardware(std::uint32_t crc,
                                                                const unsigned char* p,
                                                                std::size_t size) {
  std::uint64_t state = ~crc;
  for (; size >= 8; size -= 8, p += 8) state = _mm_crc32_u64(state, load_le64(p));
  auto state32 = static_cast<std::uint32_t>(state);
  for (; size > 0; --size, ++p) state32 = _mm_crc32_u8(state32, *p);
  return ~state32;
}

bool detect_hardware() { return __builtin_cpu_supports("sse4.2"); }
#else
bool detect_hardware() { return false; }
#endif

const bool has_hardware = detect_hardware();

}  // namespace

static_assert(std::endian::native == std::endian::little, "crc32c assumes little-endian loads");

std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t state = ~crc;
  for (; size >= 8; size -= 8, p += 8) {
    const std::uint64_t word = load_le64(p) ^ state;
    state = tables[7][word & 0xff] ^ tables[6][(word >> 8) & 0xff] ^
            tables[5][(word >> 16) & 0xff] ^ tables[4][(word >> 24) & 0xff] ^
            tables[3][(word >> 32) & 0xff] ^ tables[2][(word >> 40) & 0xff] ^
            tables[1][(word >> 48) & 0xff] ^ tables[0][word >> 56];
  }
  for (; size > 0; --size, ++p) state = (state >> 8) ^ tables[0][(state ^ *p) & 0xffu];
  return ~state;
}

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) {
#if defined(__x86_64__)
  if (has_hardware) return extend_hardware(crc, static_cast<const unsigned char*>(data), size);
#endif
  return crc32c_extend_portable(crc, data, size);
}

bool crc32c_is_hardware() { return has_hardware; }

}  // namespace mgraph::persistence

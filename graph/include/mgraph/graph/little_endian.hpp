#pragma once
// Fixed-width little-endian integers in byte buffers: the formats mgraph writes itself (the
// prefix of its Cap'n Proto messages, the epoch log's write-ahead records, the history of
// subscriptions' headers, packed node ids) lay their integers out this way on any machine.
// (The LMDB store's keys are big-endian instead, for their sort order: persistence/.)

#include <cstdint>

namespace mgraph {

inline void put_le32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xffu);
}
inline void put_le64(char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xffu);
}
inline std::uint32_t get_le32(const char* in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}
inline std::uint64_t get_le64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}

}  // namespace mgraph

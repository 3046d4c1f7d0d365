#pragma once
// Big-endian integers and the key layouts of every database. Keys are big-endian so that
// LMDB's default memcmp order is numeric order: a cursor walks epochs and versions in order.

#include <lmdb.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "mgraph/graph/assert.hpp"
#include "mgraph/persistence/limits.hpp"

namespace mgraph::persistence::detail {

inline void put_u64(char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xffu);
}
inline void put_u32(char* out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xffu);
}
inline std::uint64_t get_u64(const char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
inline std::uint32_t get_u32(const char* in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

/// A key built on the stack: at most a scope, its length byte, two u64 and a u32 (the
/// key of a checkpoint part).
class Key {
 public:
  static constexpr std::size_t bytes_max = 1 + scope_bytes_max + 8 + 8 + 4;

  MDB_val val() { return MDB_val{size_, bytes_}; }
  std::string_view view() const { return {bytes_, size_}; }

  Key& u64(std::uint64_t v) {
    MG_ASSERT(size_ + 8 <= bytes_max);
    put_u64(bytes_ + size_, v);
    size_ += 8;
    return *this;
  }
  Key& u32(std::uint32_t v) {
    MG_ASSERT(size_ + 4 <= bytes_max);
    put_u32(bytes_ + size_, v);
    size_ += 4;
    return *this;
  }
  /// A length-prefixed byte string: keeps "a" + epoch apart from "ab" + epoch.
  Key& scope(std::string_view s) {
    MG_ASSERT(s.size() <= scope_bytes_max && size_ + 1 + s.size() <= bytes_max);
    bytes_[size_++] = static_cast<char>(s.size());
    std::memcpy(bytes_ + size_, s.data(), s.size());
    size_ += s.size();
    return *this;
  }

 private:
  char bytes_[bytes_max] = {};
  std::size_t size_ = 0;
};

/// log: epoch (8 bytes).
inline constexpr std::size_t log_key_bytes = 8;
inline Key log_key(std::uint64_t epoch) { return Key().u64(epoch); }

/// checkpoints: scope length (1 byte), scope, epoch (8 bytes): a checkpoint in one record.
inline Key checkpoint_key(std::string_view scope, std::uint64_t epoch) {
  return Key().scope(scope).u64(epoch);
}

/// checkpoints, format 2: scope length, scope, epoch, generation (8 bytes): the record that
/// completes a checkpoint stored in parts (CheckpointWriter). It sorts after the one-record
/// key of the same epoch, and a later generation after an earlier one.
inline Key parted_checkpoint_key(std::string_view scope, std::uint64_t epoch, std::uint64_t gen) {
  return Key().scope(scope).u64(epoch).u64(gen);
}

/// checkpoint_parts: scope length, scope, epoch, generation, part index (4 bytes).
inline Key checkpoint_part_key(std::string_view scope, std::uint64_t epoch, std::uint64_t gen,
                               std::uint32_t index) {
  return Key().scope(scope).u64(epoch).u64(gen).u32(index);
}

/// history: field id (8 bytes), version (8 bytes).
inline constexpr std::size_t history_key_bytes = 16;
inline Key history_key(std::uint64_t field_id, std::uint64_t version) {
  return Key().u64(field_id).u64(version);
}

/// ledger: effect field id (8 bytes), version (8 bytes), seq (8 bytes).
inline constexpr std::size_t ledger_key_bytes = 24;
inline Key ledger_key(std::uint64_t field_id, std::uint64_t version, std::uint64_t seq) {
  return Key().u64(field_id).u64(version).u64(seq);
}

inline std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

}  // namespace mgraph::persistence::detail

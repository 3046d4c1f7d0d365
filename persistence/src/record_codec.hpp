#pragma once
// The value layout shared by every database, and the decoders that check it.
//
//   value = checksum (u32, masked CRC-32C) | header (fixed, per database) | payload
//   checksum = crc32c(database tag byte, key bytes, value bytes after the checksum)
//
// Covering the key and the database tag means a value moved to another key or another
// database by corruption fails its check, not only a value whose bytes changed.

#include <lmdb.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/records.hpp"

namespace mgraph::persistence::detail {

/// Each database's checksum domain tag (stored values; never change them).
enum class Db : char {
  log = 'L',
  checkpoints = 'C',
  history = 'H',
  ledger = 'E',
  meta = 'M',
  checkpoint_parts = 'P',  ///< format 2
};

/// Name of the database as LMDB knows it ("log", "checkpoints", ...).
const char* db_name(Db db);

inline constexpr std::size_t checksum_bytes = 4;
inline constexpr std::size_t log_header_bytes = 8;         // time_ns
inline constexpr std::size_t checkpoint_header_bytes = 0;  //
inline constexpr std::size_t history_header_bytes = 16;    // epoch, time_ns
inline constexpr std::size_t ledger_header_bytes = 17;     // kind, epoch, time_ns
inline constexpr std::size_t meta_header_bytes = 0;        //
inline constexpr std::size_t parted_checkpoint_header_bytes = 12;  // part count, state bytes
inline constexpr std::size_t checkpoint_part_header_bytes = 0;     //

/// Writes the checksum into value[0, 4), computed over the rest of the value.
/// REQUIRES: value_size >= checksum_bytes and the rest of the value is filled in.
void seal(Db db, std::string_view key, char* value, std::size_t value_size);

/// Fills a log value of log_header_bytes + batch.size() bytes after its checksum slot.
void fill_log(char* value, std::uint64_t time_ns, std::string_view batch);
void fill_history(char* value, std::uint64_t epoch, std::uint64_t time_ns, std::string_view v);
void fill_ledger(char* value, LedgerKind kind, std::uint64_t epoch, std::uint64_t time_ns,
                 std::string_view detail);
/// Checkpoints and meta values have no header: the payload follows the checksum.
void fill_plain(char* value, std::string_view payload);

/// Decoders: check the key's shape, the value's length and its checksum, then copy the
/// record out (reusing `out`'s string capacity). Failures are corruption naming `file`.
Status decode_log(const std::string& file, const MDB_val& key, const MDB_val& value, LogEntry& out);
Status decode_checkpoint(const std::string& file, const MDB_val& key, const MDB_val& value,
                         Checkpoint& out);
Status decode_history(const std::string& file, const MDB_val& key, const MDB_val& value,
                      HistoryEntry& out);
Status decode_ledger(const std::string& file, const MDB_val& key, const MDB_val& value,
                     LedgerEntry& out);
Status decode_meta(const std::string& file, const MDB_val& key, const MDB_val& value,
                   std::string& out);

/// Checks only the checksum and length of a value (used when the payload is not needed).
Status check_value(const std::string& file, Db db, const MDB_val& key, const MDB_val& value,
                   std::size_t header_bytes, std::string_view what);

}  // namespace mgraph::persistence::detail

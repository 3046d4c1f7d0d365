#include "record_codec.hpp"

#include <cstdio>
#include <cstring>

#include "encoding.hpp"
#include "mgraph/persistence/crc32c.hpp"
#include "mgraph/persistence/limits.hpp"

namespace mgraph::persistence::detail {
namespace {

std::uint32_t compute(Db db, std::string_view key, const char* value, std::size_t value_size) {
  const char tag = static_cast<char>(db);
  std::uint32_t crc = crc32c_extend(0, &tag, 1);
  crc = crc32c_extend(crc, key.data(), key.size());
  return crc32c_extend(crc, value + checksum_bytes, value_size - checksum_bytes);
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

Status corrupt(const std::string& file, std::string_view what, const std::string& problem) {
  return Status(StatusCode::corruption,
                file + ": " + std::string(what) + ": " + problem +
                    "; the data file is damaged: restore it from a replica or backup");
}

Status bad_key(const std::string& file, Db db, const MDB_val& key, std::size_t expected) {
  return corrupt(
      file, std::string(db_name(db)) + " database",
      "key of " + std::to_string(key.mv_size) + " bytes, expected " + std::to_string(expected));
}

}  // namespace

const char* db_name(Db db) {
  switch (db) {
    case Db::log:
      return "log";
    case Db::checkpoints:
      return "checkpoints";
    case Db::history:
      return "history";
    case Db::ledger:
      return "ledger";
    case Db::meta:
      return "meta";
    case Db::checkpoint_parts:
      return "checkpoint_parts";
  }
  return "unknown";
}

void seal(Db db, std::string_view key, char* value, std::size_t value_size) {
  MG_ASSERT(value_size >= checksum_bytes);
  put_u32(value, crc32c_mask(compute(db, key, value, value_size)));
}

void fill_log(char* value, std::uint64_t time_ns, std::string_view batch) {
  put_u64(value + checksum_bytes, time_ns);
  if (!batch.empty())
    std::memcpy(value + checksum_bytes + log_header_bytes, batch.data(), batch.size());
}

void fill_history(char* value, std::uint64_t epoch, std::uint64_t time_ns, std::string_view v) {
  put_u64(value + checksum_bytes, epoch);
  put_u64(value + checksum_bytes + 8, time_ns);
  if (!v.empty()) std::memcpy(value + checksum_bytes + history_header_bytes, v.data(), v.size());
}

void fill_ledger(char* value, LedgerKind kind, std::uint64_t epoch, std::uint64_t time_ns,
                 std::string_view detail) {
  value[checksum_bytes] = static_cast<char>(kind);
  put_u64(value + checksum_bytes + 1, epoch);
  put_u64(value + checksum_bytes + 9, time_ns);
  if (!detail.empty()) {
    std::memcpy(value + checksum_bytes + ledger_header_bytes, detail.data(), detail.size());
  }
}

void fill_plain(char* value, std::string_view payload) {
  if (!payload.empty()) std::memcpy(value + checksum_bytes, payload.data(), payload.size());
}

Status check_value(const std::string& file, Db db, const MDB_val& key, const MDB_val& value,
                   std::size_t header_bytes, std::string_view what) {
  if (value.mv_size < checksum_bytes + header_bytes) {
    return corrupt(file, what,
                   "value of " + std::to_string(value.mv_size) + " bytes is shorter than its " +
                       std::to_string(checksum_bytes + header_bytes) + "-byte header");
  }
  const char* bytes = static_cast<const char*>(value.mv_data);
  const std::uint32_t stored = crc32c_unmask(get_u32(bytes));
  const std::uint32_t computed = compute(db, as_view(key), bytes, value.mv_size);
  if (stored != computed) {
    return corrupt(
        file, what,
        "checksum mismatch (stored " + hex32(stored) + ", computed " + hex32(computed) + ")");
  }
  return Status::ok();
}

Status decode_log(const std::string& file, const MDB_val& key, const MDB_val& value,
                  LogEntry& out) {
  if (key.mv_size != log_key_bytes) return bad_key(file, Db::log, key, log_key_bytes);
  const std::uint64_t epoch = get_u64(static_cast<const char*>(key.mv_data));
  Status s = check_value(file, Db::log, key, value, log_header_bytes,
                         "log entry of epoch " + std::to_string(epoch));
  if (!s) return s;
  const char* bytes = static_cast<const char*>(value.mv_data) + checksum_bytes;
  out.epoch = epoch;
  out.time_ns = get_u64(bytes);
  out.batch.assign(bytes + log_header_bytes, value.mv_size - checksum_bytes - log_header_bytes);
  return Status::ok();
}

Status decode_checkpoint(const std::string& file, const MDB_val& key, const MDB_val& value,
                         Checkpoint& out) {
  const char* k = static_cast<const char*>(key.mv_data);
  const std::size_t scope_bytes = key.mv_size == 0 ? 0 : static_cast<unsigned char>(k[0]);
  if (key.mv_size < 1 + 8 || scope_bytes == 0 || scope_bytes > scope_bytes_max ||
      key.mv_size != 1 + scope_bytes + 8) {
    return corrupt(
        file, "checkpoints database",
        "key of " + std::to_string(key.mv_size) + " bytes is not (scope length, scope, epoch)");
  }
  const std::string_view scope(k + 1, scope_bytes);
  const std::uint64_t epoch = get_u64(k + 1 + scope_bytes);
  Status s = check_value(
      file, Db::checkpoints, key, value, checkpoint_header_bytes,
      "checkpoint of scope '" + std::string(scope) + "' at epoch " + std::to_string(epoch));
  if (!s) return s;
  out.scope.assign(scope);
  out.epoch = epoch;
  out.state.assign(static_cast<const char*>(value.mv_data) + checksum_bytes,
                   value.mv_size - checksum_bytes);
  return Status::ok();
}

Status decode_history(const std::string& file, const MDB_val& key, const MDB_val& value,
                      HistoryEntry& out) {
  if (key.mv_size != history_key_bytes) {
    return bad_key(file, Db::history, key, history_key_bytes);
  }
  const char* k = static_cast<const char*>(key.mv_data);
  const std::uint64_t field_id = get_u64(k);
  const std::uint64_t version = get_u64(k + 8);
  Status s = check_value(
      file, Db::history, key, value, history_header_bytes,
      "history of field " + std::to_string(field_id) + " version " + std::to_string(version));
  if (!s) return s;
  const char* bytes = static_cast<const char*>(value.mv_data) + checksum_bytes;
  out.field_id = field_id;
  out.version = version;
  out.epoch = get_u64(bytes);
  out.time_ns = get_u64(bytes + 8);
  out.value.assign(bytes + history_header_bytes,
                   value.mv_size - checksum_bytes - history_header_bytes);
  return Status::ok();
}

Status decode_ledger(const std::string& file, const MDB_val& key, const MDB_val& value,
                     LedgerEntry& out) {
  if (key.mv_size != ledger_key_bytes) return bad_key(file, Db::ledger, key, ledger_key_bytes);
  const char* k = static_cast<const char*>(key.mv_data);
  const std::uint64_t field_id = get_u64(k);
  const std::uint64_t version = get_u64(k + 8);
  const std::uint64_t seq = get_u64(k + 16);
  const std::string what = "ledger record of effect field " + std::to_string(field_id) +
                           " version " + std::to_string(version) + " seq " + std::to_string(seq);
  Status s = check_value(file, Db::ledger, key, value, ledger_header_bytes, what);
  if (!s) return s;
  const char* bytes = static_cast<const char*>(value.mv_data) + checksum_bytes;
  const auto kind = static_cast<unsigned char>(bytes[0]);
  if (kind == 0 || kind > ledger_kind_max) {
    return corrupt(file, what, "unknown kind " + std::to_string(kind));
  }
  out.effect_field_id = field_id;
  out.version = version;
  out.seq = seq;
  out.kind = static_cast<LedgerKind>(kind);
  out.epoch = get_u64(bytes + 1);
  out.time_ns = get_u64(bytes + 9);
  out.detail.assign(bytes + ledger_header_bytes,
                    value.mv_size - checksum_bytes - ledger_header_bytes);
  return Status::ok();
}

Status decode_meta(const std::string& file, const MDB_val& key, const MDB_val& value,
                   std::string& out) {
  Status s = check_value(file, Db::meta, key, value, meta_header_bytes,
                         "meta record '" + std::string(as_view(key)) + "'");
  if (!s) return s;
  out.assign(static_cast<const char*>(value.mv_data) + checksum_bytes,
             value.mv_size - checksum_bytes);
  return Status::ok();
}

}  // namespace mgraph::persistence::detail

#pragma once
// The records a Store keeps, as callers see them. Byte strings are opaque at this layer:
// the engine's codec gives them meaning. The on-disk layout is in docs/PERSISTENCE.md.

#include <cstdint>
#include <string>

namespace mgraph::persistence {

/// One epoch of the input log: what the coordinator sequenced, and when.
struct LogEntry {
  std::uint64_t epoch = 0;    ///< > 0, strictly increasing along the log (gaps allowed)
  std::uint64_t time_ns = 0;  ///< the epoch's timestamp: time is an input, replay reuses it
  std::string batch;          ///< the epoch's encoded inputs
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

/// The state of one scope (e.g. a partition) after every log entry up to `epoch` was applied.
struct Checkpoint {
  std::string scope;  ///< non-empty, at most scope_bytes_max bytes
  std::uint64_t epoch = 0;
  std::string state;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

/// One version of a field's value.
struct HistoryEntry {
  std::uint64_t field_id = 0;
  std::uint64_t version = 0;  ///< strictly increasing per field
  std::uint64_t epoch = 0;    ///< non-decreasing per field: the epoch that committed it
  std::uint64_t time_ns = 0;
  std::string value;
  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

/// What a ledger record says happened to one effect version. Values are stored: never
/// renumber, only add.
enum class LedgerKind : unsigned char {
  transition = 1,         ///< the effect field changed (trigger); always the first record
  delivery_attempt = 2,   ///< a delivery to the consumer was started
  delivery_failure = 3,   ///< an attempt failed or timed out (detail says why)
  ack = 4,                ///< the consumer acknowledged
  dead_letter = 5,        ///< retries exhausted: parked for an operator
  dead_letter_retry = 6,  ///< an operator asked for a new delivery
  dead_letter_drop = 7,   ///< an operator dropped the dead letter: it is not delivered again
};

/// Largest LedgerKind value; a stored kind outside [1, this] is corruption.
inline constexpr unsigned char ledger_kind_max = 7;

/// Name of a ledger kind ("transition", "ack", ...), "unknown" for other values.
const char* ledger_kind_name(LedgerKind kind);

/// One record of an effect's audit trail. The key (effect_field_id, version) is the
/// consumer's idempotency key; seq orders the records of one version.
struct LedgerEntry {
  std::uint64_t effect_field_id = 0;
  std::uint64_t version = 0;
  std::uint64_t seq = 0;  ///< strictly increasing per (effect_field_id, version)
  LedgerKind kind = LedgerKind::transition;
  std::uint64_t epoch = 0;
  std::uint64_t time_ns = 0;
  std::string detail;
  friend bool operator==(const LedgerEntry&, const LedgerEntry&) = default;
};

}  // namespace mgraph::persistence

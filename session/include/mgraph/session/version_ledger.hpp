#pragma once
// The history and ledger of versions (docs/SCHEMA.md, "Effects" and "@versioned"): what a
// persistent embedded session writes beside each epoch, and what a cluster's coordinator
// writes beside its log from the changes its partitions report. One code for both, so the
// same script gives the same ledger embedded and on a cluster.
//
// Every change of an effect, or of a field marked @versioned, is a history entry (field,
// version, epoch, time, value). A change of an effect is also ledger records at its key
// (field, version): a `transition` (a queue's trigger keeps what it carries), and, when
// the change lowers the effect (an ack; an undo of a trigger), one `ack` per trigger it
// settles, oldest first, naming it by the delivery key a cluster's consumer acknowledges.
//
// Replays: a change at or below the last version already stored for its field is skipped,
// so a coordinator that runs epochs again after a restart (their records may or may not
// have been stored before it) writes each record once.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mgraph/graph/graph.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/persistence/records.hpp"
#include "mgraph/persistence/store.hpp"
#include "mgraph/persistence/write_batch.hpp"
#include "mgraph/session/effect_delivery.hpp"

namespace mgraph::session {

/// The change `n` (a field of `store`'s last commit, undo or redo) made, when its versions
/// are kept (an effect or a @versioned field) and `store` owns its record (a partition's
/// store reports only its own); nullopt for any other node.
std::optional<RecordedChange> recorded_change(schema::Store& store, NodeId n);

/// Where stored history and ledger records are read from, page by page (at most
/// persistence::read_entries_max each), as persistence::Store reads them.
class LedgerReader {
 public:
  virtual ~LedgerReader() = default;
  virtual Result<std::vector<persistence::HistoryEntry>> history(std::uint64_t field,
                                                                 std::uint64_t version_from) const = 0;
  virtual Result<std::optional<persistence::HistoryEntry>> value_at(std::uint64_t field,
                                                                    std::uint64_t epoch) const = 0;
  /// At most `entries_max` (<= persistence::read_entries_max) records.
  virtual Result<std::vector<persistence::LedgerEntry>> audit_trail(std::uint64_t field,
                                                                    std::uint64_t version,
                                                                    std::uint64_t seq,
                                                                    std::size_t entries_max) const = 0;
};

/// A LedgerReader over an LMDB store. REQUIRES: `store` outlives it.
class StoreLedgerReader final : public LedgerReader {
 public:
  explicit StoreLedgerReader(const persistence::Store& store) : store_(store) {}
  Result<std::vector<persistence::HistoryEntry>> history(std::uint64_t field,
                                                         std::uint64_t version_from) const override {
    return store_.history(field, version_from);
  }
  Result<std::optional<persistence::HistoryEntry>> value_at(std::uint64_t field,
                                                            std::uint64_t epoch) const override {
    return store_.value_at(field, epoch);
  }
  Result<std::vector<persistence::LedgerEntry>> audit_trail(std::uint64_t field, std::uint64_t version,
                                                            std::uint64_t seq, std::size_t entries_max) const override {
    return store_.audit_trail(field, version, seq, entries_max);
  }

 private:
  const persistence::Store& store_;
};

/// Records to store together (one write): history entries, then ledger records.
struct VersionRecords {
  std::vector<persistence::HistoryEntry> history;
  std::vector<persistence::LedgerEntry> ledger;
  /// VersionRecorder's index of `ledger`: the next seq at each key of its first `indexed`
  /// records (a record appended at a key already staged follows them without a scan).
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> next_seq;
  std::size_t indexed = 0;
  bool empty() const { return history.empty() && ledger.empty(); }
  void add_to(persistence::WriteBatch& wb) const;
  void append(VersionRecords more);
};

/// History and ledger records in memory (a cluster's coordinator without a data directory,
/// tests): read as a store reads them. Thread-safety: none.
class MemoryLedger final : public LedgerReader {
 public:
  void store(VersionRecords records);
  Result<std::vector<persistence::HistoryEntry>> history(std::uint64_t field,
                                                         std::uint64_t version_from) const override;
  Result<std::optional<persistence::HistoryEntry>> value_at(std::uint64_t field,
                                                            std::uint64_t epoch) const override;
  Result<std::vector<persistence::LedgerEntry>> audit_trail(std::uint64_t field, std::uint64_t version,
                                                            std::uint64_t seq, std::size_t entries_max) const override;

 private:
  std::map<std::pair<std::uint64_t, std::uint64_t>, persistence::HistoryEntry> history_;
  std::map<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>, persistence::LedgerEntry> ledger_;
};

/// Triggers of an effect in a row, not settled yet: versions first .. first + count - 1.
struct TriggerRun {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

/// Turns recorded changes into history and ledger records. It remembers, per field, the
/// last version recorded and (effects) the value and the triggers not settled yet; a field
/// first seen is read back from `stored`, which must hold every record made before (this
/// run's included, once stored: records not yet stored are remembered here).
/// Thread-safety: none.
class VersionRecorder {
 public:
  /// REQUIRES: `stored` outlives the recorder.
  explicit VersionRecorder(const LedgerReader& stored) : stored_(stored) {}
  /// Appends the records of `change`, committed in `epoch` at `time_ns`, to *out; nothing
  /// when `stored` or this recorder has its version already (a replay).
  Status record(const RecordedChange& change, std::uint64_t epoch, std::uint64_t time_ns,
                VersionRecords* out);
  /// Appends the `ack` record of `result` at its request's key, after the records there
  /// (`stored` must hold those of earlier epochs; *out those of this one): {"key":...,
  /// "result":VALUE,"outcome":...}. Nothing when the key has no record (no trigger was
  /// recorded), or has this epoch's record of the same result already (a replay).
  Status record_result(const RequestResult& result, std::uint64_t epoch, std::uint64_t time_ns,
                       VersionRecords* out);
  /// Appends the record of what happened to a delivery without an epoch (`change`, logged
  /// by the cluster's sequencer as entry `epoch`) at its key, after the records there (as
  /// record_result): `dead_letter` {"attempts":N}, `dead_letter_retry` or
  /// `dead_letter_drop` ({}), `delivery_attempt` {"attempt":N,"group":G} — after attempt 1,
  /// preceded by the `delivery_failure` of the attempt before it ({"attempt":N-1,"why":…}:
  /// a delivery is sent again only when its attempt went unacknowledged). Nothing when the
  /// key has no record, or has this entry's record already (a replay).
  Status record_change(const DeliveryChange& change, std::uint64_t epoch, std::uint64_t time_ns,
                       VersionRecords* out);
  /// Forgets what it remembers (the records it made were not stored after all).
  void forget() { fields_.clear(); }

 private:
  struct Field {
    std::uint64_t last_version = 0;
    Value value;                      ///< effects: the value at last_version
    std::deque<TriggerRun> pending;   ///< effects: triggers not settled, oldest first
  };
  Status load(std::uint64_t node, bool effect, Field* field) const;
  /// Appends `r` (its key, kind, epoch, time and detail set) after the records at its key,
  /// unless the key has none or has the same record of the same epoch (a replay).
  Status append_at_key(persistence::LedgerEntry r, VersionRecords* out) const;

  const LedgerReader& stored_;
  std::unordered_map<std::uint64_t, Field> fields_;
};

/// `history REF.field`, `history REF.field at EPOCH` or `audit REF.effect`, parsed.
struct LedgerQuery {
  std::string cmd;  ///< "history" or "audit"
  std::string ref;
  std::optional<std::uint64_t> at;
};
Result<LedgerQuery> parse_ledger_query(std::string_view line);

/// The node whose records `query` reads, given the node of its REF.field in `store`: an
/// async field's audit reads its requests (the effect F@request). Errors: a field that
/// keeps no history, an audit of a field that is no effect.
Result<NodeId> ledger_node(const schema::Store& store, NodeId field, const LedgerQuery& query);

/// What `query` reads of `node`: the records of an audit, the versions of a history (JSON
/// arrays), or the version at an epoch (an object, or null).
Result<std::string> read_ledger(const LedgerReader& reader, std::uint64_t node, const LedgerQuery& query);

/// The line a session prints for `query` and what read_ledger answered:
/// {"audit":REF,"records":[...]}, {"history":REF,"versions":[...]} or
/// {"history":REF,"at":EPOCH,"version":...}.
std::string ledger_line(const LedgerQuery& query, std::string_view answer);

}  // namespace mgraph::session

#pragma once
// Subscriptions (docs/CLUSTER.md, "Subscriptions"): a subscriber names fields
// ("Entity#N.field") or whole entities ("Entity") and is told, in epoch order, each
// committed epoch that changed something it watches: {"epoch":E,"changes":[{"ref":
// "Entity#N","field":F,"value":V,"version":K},...]}.
//
// Subscribers pull with a cursor: watch(targets, from, max, wait) answers the epochs after
// `from` that changed a target, from a bounded buffer of the last committed epochs' changes
// on the coordinator (WatchBuffer); the documents' driver fills it as it runs each epoch.
// With a history on disk (WatchHistory: the coordinator's --data), a cursor behind the
// buffer is answered from it, epoch by epoch, as far back as its retention reaches. A
// subscriber whose cursor fell behind both is told to resume: it reads the current
// values of its fields and the epoch they are the values after (watch_read_atom, answered
// by the driver between two epochs), and goes on from that epoch. Nothing waits for a
// subscriber: the driver only appends to the buffer, and a poll that finds nothing new
// waits (up to `wait`) at the watch actor, never at the sequencer or the driver.
//
//   driver ──WatchBuffer::ran (each epoch)──▶ buffer ──notify──▶ watch_actor
//   client ─(watch_atom)─▶ gateway ─▶ watch_actor ─▶ client   (the gateway asks the
//                                       sequencer once where the watch actor is)
//   client ─(watch_read_atom, Batch of gets)─▶ gateway ─▶ sequencer ─delegate─▶ driver

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/codec/epoch_codec.hpp"
#include "mgraph/codec/partition_codec.hpp"
#include "mgraph/codec/watch_target.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::actors {

/// -> watch_actor: a poll; -> sequencer, alone: where the watch actor is.
using watch_atom = caf::atom_constant<caf::atom("mg_watch")>;
using watch_read_atom = caf::atom_constant<caf::atom("mg_watchrd")>;  ///< -> driver
using watch_epoch_atom = caf::atom_constant<caf::atom("mg_watchep")>;  ///< buffer -> watch_actor
using watch_timeout_atom = caf::atom_constant<caf::atom("mg_watchto")>;  ///< watch_actor -> itself

/// Committed epochs the buffer keeps by default ([cluster] watch_epochs_kept): a few
/// seconds of epochs at the cluster's rates (hundreds to a few thousand a second), so a
/// subscriber that paused for a moment (a slow link, a busy client) catches up from the
/// buffer; one further behind reads the current values instead (resume).
inline constexpr std::size_t kWatchEpochsKept = 4096;
/// Changes the buffer keeps at most, whatever the epochs: an epoch that changes a million
/// fields (a bulk load) must not make the coordinator hold many such epochs; about 100
/// bytes each, this bounds the buffer near 100 MB.
inline constexpr std::size_t kWatchChangesKept = std::size_t{1} << 20;
/// Epochs one answer carries at most.
inline constexpr std::uint32_t kWatchEpochsPerAnswerMax = 1024;
/// How long a poll may wait for an epoch at most: below the client's call deadline.
inline constexpr std::chrono::milliseconds kWatchWaitMax{10000};
/// Polls waiting at the watch actor at most: the client server's connections times their
/// calls in flight (codec::ClientServerLimits) on every node is far less; more are answered
/// at once, empty.
inline constexpr std::size_t kWatchWaitingMax = 65536;

/// Whether `target` watches `change`.
using codec::WatchTarget;
bool watches(const WatchTarget& target, const codec::FieldChange& change);
/// The JSON array of `changes` ([{"ref":"Entity#N","field":F,"value":V,"version":K},...]).
std::string watch_changes_json(const std::vector<codec::FieldChange>& changes);
/// One epoch's message: {"epoch":E,"changes":[...]} with the changes `targets` watch (all
/// of them if `targets` is empty), in the order given.
std::string watch_epoch_json(codec::Epoch epoch, const std::vector<codec::FieldChange>& changes,
                             const std::vector<WatchTarget>& targets);

/// One epoch's changes as a history holds them.
struct HeldEpoch {
  codec::Epoch epoch = 0;
  std::vector<codec::FieldChange> changes;  ///< one per field; none: aborted or no change
};

/// The epochs' changes kept beyond the buffer, on disk (node/: LMDB at the coordinator's
/// --data), bounded by its own retention: what serves a subscriber further behind than the
/// buffer, or one resuming after the coordinator restarted, with every epoch's deltas.
/// It holds every epoch the driver ran in (floor(), newest()] — committed ones with their
/// changes, the others empty — so that after a restart from a checkpoint it can tell
/// whether it still reaches the checkpoint (newest() >= it: the epochs after it are
/// forgotten, truncate(), and written again as the log runs them) or lost epochs (then it
/// starts again from there: reset()).
/// Thread-safety: none; the buffer calls it under its lock.
class WatchHistory {
 public:
  virtual ~WatchHistory() = default;
  /// Every epoch the driver ran after floor() up to newest() is held (both 0: none).
  virtual codec::Epoch floor() const = 0;
  virtual codec::Epoch newest() const = 0;
  /// Holds `epochs` (in order, each after newest()) with their changes (one per field),
  /// in one write, then drops its oldest epochs beyond its retention (floor() moves up).
  virtual Status add(const std::vector<HeldEpoch>& epochs) = 0;
  /// Forgets every epoch: it holds nothing, floor() and newest() are `epoch`.
  virtual Status reset(codec::Epoch epoch) = 0;
  /// Forgets the epochs after `epoch`: the log runs again from there, and an epoch that
  /// ran while a partition was unavailable may end otherwise this time. newest() becomes
  /// at most `epoch` (a reset when `epoch` is at or below floor()).
  virtual Status truncate(codec::Epoch epoch) = 0;
  /// Bytes of changes it holds (what its retention measures).
  virtual std::uint64_t bytes() const = 0;
  /// The held epochs after `from` (>= floor()), in order, at most `epochs_max`, stopping
  /// early after about `bytes_max` bytes of stored changes (never before the first).
  virtual Result<std::vector<HeldEpoch>> read(codec::Epoch from, std::size_t epochs_max,
                                              std::size_t bytes_max) = 0;
};

/// Epochs the buffer hands a WatchHistory in one write, at most, and changes about: a
/// write per epoch would cost a single write's epoch a tenth of its time on the driver's
/// thread. Epochs not written yet are written before the history is read, when a
/// checkpoint is taken (checkpointed()), and when the buffer ends; a killed coordinator
/// loses them, which the restart finds (its log runs again from the checkpoint, and the
/// epochs the history lacks after it are written again as they run).
inline constexpr std::size_t kWatchHistoryBatchEpochs = 64;
inline constexpr std::size_t kWatchHistoryBatchChanges = 16384;
/// Batches the driver leaves unwritten while a subscriber reads the history, at most: then
/// it waits for the read (one read is bounded below), so that memory stays bounded.
inline constexpr std::size_t kWatchHistoryBatchesHeldMax = 4;

/// Epochs one poll answered from a WatchHistory looks at, at most: the rest of a long way
/// behind is the next poll's.
inline constexpr std::size_t kWatchHistoryEpochsPerRead = 4096;
/// Bytes of stored changes one such poll reads, about, at most: a few milliseconds.
inline constexpr std::size_t kWatchHistoryBytesPerRead = std::size_t{4} << 20;
/// Epochs one read of the history returns: a poll reads pages until it has as many
/// epochs that match as it may answer with, so a subscriber of everything reads no more
/// than it is sent.
inline constexpr std::size_t kWatchHistoryEpochsPerPage = 256;

/// The changes of the last committed epochs, as the driver ran them. Thread-safe: the
/// driver adds from its thread, the watch actor reads from another.
class WatchBuffer {
 public:
  /// Keeps at most `epochs_max` epochs and about `changes_max` changes (an epoch with more
  /// is still kept alone) in memory; with a `history`, every epoch goes there too, and a
  /// cursor behind the memory but not behind the history is answered from it.
  explicit WatchBuffer(std::size_t epochs_max = kWatchEpochsKept,
                       std::size_t changes_max = kWatchChangesKept,
                       std::unique_ptr<WatchHistory> history = nullptr);

  /// The partitions were restored to `epoch` (0: emptied): nothing before or at it is held.
  /// `log_end`: the last epoch of the log that runs again after it (0: none). A cursor
  /// beyond both the newest epoch run and `log_end` comes from another log — the
  /// coordinator started again on a fresh one (no --data, or a new one), numbering its
  /// epochs from 1 again — and is told to resume, rather than waiting for epochs that the
  /// new log numbers as it did and never matching them. (Before the first restored(), the
  /// log's end is not known: a poll waits.)
  void restored(codec::Epoch epoch, codec::Epoch log_end = 0);
  /// The driver ran `epoch`: committed with `changes` (a field changed twice is kept once,
  /// as it was last), or aborted (nothing kept). An epoch at or before the newest one (the
  /// log running again) forgets everything from it on. `in_doubt`: the log ran again while
  /// a partition was unavailable, and an epoch of it (this one or one before) was cut
  /// short, so it may end otherwise once the partition is back and the log runs again
  /// (after a restore): from the first such epoch on, polls are not answered with epochs
  /// until restored() (a cursor must not move past an epoch whose outcome may change).
  void ran(codec::Epoch epoch, bool committed, const std::vector<codec::FieldChange>& changes,
           bool in_doubt = false);
  /// Called after each ran() (outside the buffer's lock): the watch actor's wake-up.
  void set_notify(std::function<void()> notify);
  /// The driver took a checkpoint: the history gets every epoch run so far, so that a
  /// restart from the checkpoint finds it reaching it.
  void checkpointed();
  /// Writes what the history has not been given yet.
  ~WatchBuffer();
  WatchBuffer(const WatchBuffer&) = delete;
  WatchBuffer& operator=(const WatchBuffer&) = delete;

  struct Answer {
    /// The buffer no longer holds every epoch after `from`: read the current values.
    bool resume = false;
    /// The epoch to poll from next (the last one looked at).
    codec::Epoch through = 0;
    std::vector<std::string> epochs;  ///< watch_epoch_json of each epoch that matched
    /// The log these epochs are numbered in (set_log): a subscriber that sees it change
    /// resumes, since its cursor numbers another log's epochs.
    std::uint64_t log = 0;
  };
  /// Names the log whose epochs the buffer holds (the coordinator's epoch log: its creation
  /// time, or for a log in memory the process's start), told with every answer.
  void set_log(std::uint64_t log);
  std::uint64_t log() const;
  /// The epochs after `from` that changed a target, at most `max`.
  Answer read(const std::vector<WatchTarget>& targets, codec::Epoch from, std::size_t max);
  /// The newest epoch run (0: none).
  codec::Epoch newest() const;
  std::size_t epochs_kept() const;
  /// The oldest cursor answered with epochs rather than told to resume: the history's
  /// floor, or the memory's when it reaches further back (or there is no history).
  codec::Epoch reach() const;
  /// Bytes of changes the history holds (0 without one).
  std::uint64_t history_bytes() const;
  /// Failures of the history (a write or a read), and the last one's message: after a
  /// failed write it is reset to the epoch (it never claims an epoch it does not hold),
  /// after a failed reset dropped.
  std::uint64_t history_errors() const;
  std::string history_error() const;
  /// Called with each failure's message as it happens (the node logs it), under the
  /// buffer's lock: it must not call the buffer.
  void set_on_history_error(std::function<void(const std::string&)> on_error);

 private:
  struct Kept {
    codec::Epoch epoch = 0;
    std::vector<codec::FieldChange> changes;
  };
  void trim();  ///< REQUIRES: mutex_ held
  // The history: history_ and its calls are guarded by history_mutex_, which is taken after
  // mutex_ when both are (a subscriber's read of the history holds it alone, so the driver
  // adds epochs meanwhile); what the buffer knows of it (has_history_, its bounds as of the
  // last write) is guarded by mutex_ and written with both held.

  /// Counts the history's failure `s`, then resets it to `epoch` (or drops it); what was
  /// not written yet is dropped. REQUIRES: both held, history_.
  void history_failed(const Status& s, codec::Epoch epoch);
  /// Gives the history the epochs not written yet. REQUIRES: both held.
  void write_history();
  /// Takes the history's bounds. REQUIRES: both held.
  void sync_history();
  /// The newest epoch the history holds or will be given. REQUIRES: mutex_ held.
  codec::Epoch history_newest() const;
  /// The answer of the held epochs after `from` (read() from the history), `newest` being
  /// the newest epoch run when they were read.
  static Answer answer_from(const std::vector<HeldEpoch>& held, const std::vector<WatchTarget>& targets,
                            codec::Epoch from, std::size_t max, codec::Epoch newest);

  const std::size_t epochs_max_;
  const std::size_t changes_max_;
  mutable std::mutex mutex_;
  std::deque<Kept> kept_;
  std::size_t changes_ = 0;
  /// Every committed epoch in (floor_, newest_] that changed something is in kept_.
  codec::Epoch floor_ = 0;
  codec::Epoch newest_ = 0;
  codec::Epoch log_end_ = 0;  ///< the last epoch of the log when it was restored
  bool restored_ = false;     ///< restored() was called: log_end_ is known
  std::uint64_t log_ = 0;     ///< set_log
  /// The first epoch in doubt since the last restore (ran()), 0: none; polls see the
  /// epochs before it only.
  codec::Epoch doubt_from_ = 0;
  std::function<void()> notify_;
  mutable std::mutex history_mutex_;
  std::unique_ptr<WatchHistory> history_;
  bool has_history_ = false;
  codec::Epoch history_floor_ = 0;
  codec::Epoch history_newest_ = 0;
  std::vector<HeldEpoch> unwritten_;  ///< for history_, in order
  std::size_t unwritten_changes_ = 0;
  std::uint64_t history_errors_ = 0;
  std::string history_error_;
  std::function<void(const std::string&)> on_history_error_;
};

/// Serves polls from `buffer`: (watch_atom, targets as text, from, max, wait_ms) answered
/// with (resume, through, epochs) (WatchBuffer::Answer) — at once when there is something,
/// else when an epoch brings something or `wait_ms` (at most kWatchWaitMax) passed;
/// targets that do not parse are an error. (watch_epoch_atom) wakes it: the buffer's
/// notify sends it.
caf::behavior watch_actor(caf::event_based_actor* self, std::shared_ptr<WatchBuffer> buffer);

}  // namespace mgraph::actors

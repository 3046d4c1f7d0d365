#pragma once
// What the coordinator logs about its epochs (log.hpp), from the sequencer's outcomes:
//   epoch_aborted      info   an epoch that changed nothing, with the reason
//   slow_epoch         warn   an epoch that took slow_epoch_ms or more (configuration [log])
//   recovery_start     info   the log holds epochs to run again at start, up to `last_epoch`
//   recovery_progress  info   every recovery_progress_interval while they run (`epochs` run
//                             so far, the `epoch` reached, of `last_epoch`), so a long
//                             replay shows it moves
//   recovery_done      info   the last of them ran (`epochs`, `last_epoch`, `seconds`)
// A new sequencer (a node registered again) runs the whole log again: a recovery of its
// own, up to the last epoch seen before, logged once like the first — never a line per
// epoch run again, which would grow with the log at every restart.
// Called on the sequencer's thread, in epoch order (actors::EpochObserver).

#include <chrono>
#include <cstdint>
#include <functional>

#include "mgraph/actors/documents.hpp"

namespace mgraph::node {

/// Time between two recovery_progress lines: often enough to show a replay moves, rarely
/// enough that a replay of millions of epochs logs a few lines a second at most.
inline constexpr std::chrono::milliseconds recovery_progress_interval{1000};

class EpochEvents {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  /// `slow_epoch_ms`: 0 logs no slow epoch. `replay_last`: the last epoch the log holds at
  /// start (0: none), which the sequencer runs again first. `clock`: null, the steady clock.
  EpochEvents(std::uint64_t slow_epoch_ms, std::uint64_t replay_last, Clock clock = nullptr);
  void observe(const actors::EpochOutcome& outcome);
  /// The sequencer has the outcome of every epoch its log run at start sent
  /// (SequencerOptions::recovered): a recovery still open ends here, also when the log's
  /// last entries have no outcome (a cancellation, a checkpoint's or deliveries' entry).
  void recovered();

 private:
  std::chrono::steady_clock::time_point now() const;
  /// Logs recovery_done: the recovery ran up to `epoch`.
  void done(std::uint64_t epoch, std::chrono::steady_clock::time_point t);

  std::uint64_t slow_epoch_ms_;
  std::uint64_t replay_last_;
  std::uint64_t replayed_ = 0;
  bool recovering_ = false;        ///< between recovery_start and recovery_done
  bool replay_seen_ = false;       ///< a replayed outcome came since start
  std::uint64_t last_replayed_ = 0;  ///< the epoch of the last replayed outcome
  std::uint64_t seen_last_ = 0;    ///< the highest epoch with an outcome (or the log's at start)
  Clock clock_;
  std::chrono::steady_clock::time_point started_, last_progress_;
};

}  // namespace mgraph::node

#pragma once
// What a running node knows about itself and its cluster, shared between its actors, the
// client gateway (another thread), the admin socket and the main thread: peers and their
// state, the sequencer's handle, and why the node must stop, if it must.
//
// Thread-safety: every member function may be called from any thread.

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgraph/actors/documents.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// Epochs a node keeps for `mgraphctl epochs`: enough to look back over a burst, small
/// (about 40 KB).
inline constexpr std::size_t kRecentEpochsMax = 1024;

enum class PeerState : std::uint8_t { unreachable, up, refused };
const char* peer_state_name(PeerState s);

class NodeState {
 public:
  /// Notes a peer's state; a change is logged (peer_up, peer_unreachable, peer_refused).
  void set_peer(const std::string& name, PeerState state, std::string detail = {});
  /// {"NAME": {"state": "up"|"unreachable"|"refused", "detail": "..."}, ...}
  nlohmann::ordered_json peers_json() const;
  /// Every peer this node knows of and its state, by name.
  std::vector<std::pair<std::string, PeerState>> peers() const;

  /// The sequencer's handle (none: the coordinator is not reachable). `on_ready` is called,
  /// on the caller's thread, the first time a handle is set.
  void set_sequencer(caf::actor sequencer);
  void on_ready(std::function<void()> f) {
    std::lock_guard lock(mu_);
    on_ready_ = std::move(f);
  }
  caf::actor sequencer() const;
  /// Every partition's actor, by partition, as the coordinator sent them (for reading
  /// across nodes: mgraphctl explain, dot); partition(p) is none while unknown.
  void set_partitions(std::vector<caf::actor> partitions);
  caf::actor partition(std::uint32_t p) const;

  /// Asks the node to stop: `exit_code` 0 for a requested shutdown, else a failure (the
  /// first reason given wins).
  void stop(int exit_code, const std::string& reason);
  /// Blocks until stop() was called; returns its exit code and reason.
  std::pair<int, std::string> wait_for_stop();
  bool stopping() const;

  std::uint64_t batches_served() const;
  void count_batch();

  /// Draining (mgraphctl drain): a client transaction starts only while the node does not
  /// drain. begin_transaction() counts it in flight, or answers false (draining) and
  /// counts nothing; end_transaction() when its answer went out. Counting first and
  /// checking after makes drain() exact: a transaction either sees the drain and is
  /// refused, or drain() sees it in flight.
  bool begin_transaction();
  void end_transaction();
  /// Starts draining (idempotent); the transactions still in flight.
  std::uint64_t drain();
  bool draining() const { return draining_.load(); }
  std::uint64_t in_flight() const { return in_flight_.load(); }

  /// Counts an epoch the sequencer on this node ran (the coordinator; see
  /// actors::EpochOutcome): replayed ones only move last_epoch.
  void count_epoch(const actors::EpochOutcome& outcome);
  /// Epochs of client batches run since this node started: committed, aborted
  /// (actors::batch_committed), and the number of the last one run, replayed or not (0: none).
  const std::atomic<std::uint64_t>& epochs_committed() const { return committed_; }
  const std::atomic<std::uint64_t>& epochs_aborted() const { return aborted_; }
  const std::atomic<std::uint64_t>& last_epoch() const { return last_epoch_; }
  /// The last `n` epochs counted (at most kRecentEpochsMax kept), oldest first:
  /// [{"epoch":E,"committed":bool,"replayed":bool,"ms":T}, ...].
  nlohmann::ordered_json recent_epochs(std::size_t n) const;

 private:
  mutable std::mutex mu_;
  std::condition_variable stopped_;
  struct Peer {
    PeerState state = PeerState::unreachable;
    std::string detail;
  };
  std::map<std::string, Peer> peers_;
  caf::actor sequencer_;
  std::vector<caf::actor> partitions_;
  std::function<void()> on_ready_;
  bool was_ready_ = false;
  std::optional<std::pair<int, std::string>> stop_;
  std::uint64_t batches_ = 0;
  std::atomic<std::uint64_t> committed_{0}, aborted_{0}, last_epoch_{0};
  std::atomic<bool> draining_{false};
  std::atomic<std::uint64_t> in_flight_{0};
  std::deque<actors::EpochOutcome> recent_;  ///< the last kRecentEpochsMax, oldest first
};

}  // namespace mgraph::node

#include "node_state.hpp"

#include <cmath>

#include "log.hpp"

namespace mgraph::node {

const char* peer_state_name(PeerState s) {
  switch (s) {
    case PeerState::unreachable:
      return "unreachable";
    case PeerState::up:
      return "up";
    case PeerState::refused:
      return "refused";
  }
  return "unknown";
}

void NodeState::set_peer(const std::string& name, PeerState state, std::string detail) {
  bool changed = false, was_known = false;
  {
    std::lock_guard lock(mu_);
    const auto it = peers_.find(name);
    was_known = it != peers_.end();
    changed = !was_known || it->second.state != state || it->second.detail != detail;
    peers_[name] = Peer{state, detail};
  }
  if (!changed) return;
  // Retries of an unreachable coordinator repeat the same detail: logged once.
  const std::string event = std::string("peer_") + peer_state_name(state);
  log::Fields fields{{"peer", name}};
  if (!detail.empty()) fields.emplace_back("detail", detail);
  if (state == PeerState::refused) {
    log::error(event, fields);
  } else if (state == PeerState::unreachable && was_known) {
    log::warn(event, fields);  // lost, or still not reached after the first try
  } else {
    log::info(event, fields);
  }
}

bool NodeState::begin_transaction() {
  in_flight_.fetch_add(1);
  if (!draining_.load()) return true;
  in_flight_.fetch_sub(1);
  return false;
}

void NodeState::end_transaction() {
  if (in_flight_.fetch_sub(1) == 1 && draining_.load()) log::info("drained");
}

std::uint64_t NodeState::drain() {
  if (!draining_.exchange(true)) {
    const std::uint64_t in_flight = in_flight_.load();
    log::info("drain_start", {{"in_flight", in_flight}});
    if (in_flight == 0) log::info("drained");
  }
  return in_flight_.load();
}

nlohmann::ordered_json NodeState::peers_json() const {
  std::lock_guard lock(mu_);
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [name, p] : peers_) {
    out[name] = {{"state", peer_state_name(p.state)}, {"detail", p.detail}};
  }
  return out;
}

std::vector<std::pair<std::string, PeerState>> NodeState::peers() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, PeerState>> out;
  for (const auto& [name, p] : peers_) out.emplace_back(name, p.state);
  return out;
}

void NodeState::set_sequencer(caf::actor sequencer) {
  std::function<void()> ready;
  {
    std::lock_guard lock(mu_);
    sequencer_ = std::move(sequencer);
    if (sequencer_ && !was_ready_) {
      was_ready_ = true;
      ready = on_ready_;
    }
  }
  if (ready) ready();
}

caf::actor NodeState::sequencer() const {
  std::lock_guard lock(mu_);
  return sequencer_;
}

void NodeState::set_partitions(std::vector<caf::actor> partitions) {
  std::lock_guard lock(mu_);
  partitions_ = std::move(partitions);
}

caf::actor NodeState::partition(std::uint32_t p) const {
  std::lock_guard lock(mu_);
  return p < partitions_.size() ? partitions_[p] : caf::actor();
}

void NodeState::stop(int exit_code, const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_.emplace(exit_code, reason);
  }
  stopped_.notify_all();
}

std::pair<int, std::string> NodeState::wait_for_stop() {
  std::unique_lock lock(mu_);
  stopped_.wait(lock, [this] { return stop_.has_value(); });
  return *stop_;
}

bool NodeState::stopping() const {
  std::lock_guard lock(mu_);
  return stop_.has_value();
}

std::uint64_t NodeState::batches_served() const {
  std::lock_guard lock(mu_);
  return batches_;
}

void NodeState::count_batch() {
  std::lock_guard lock(mu_);
  ++batches_;
}

void NodeState::count_epoch(const actors::EpochOutcome& outcome) {
  if (!outcome.replayed) (outcome.committed ? committed_ : aborted_).fetch_add(1);
  last_epoch_.store(outcome.epoch);
  std::lock_guard lock(mu_);
  recent_.push_back(outcome);
  if (recent_.size() > kRecentEpochsMax) recent_.pop_front();
}

nlohmann::ordered_json NodeState::recent_epochs(std::size_t n) const {
  std::lock_guard lock(mu_);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  const std::size_t first = recent_.size() > n ? recent_.size() - n : 0;
  for (std::size_t i = first; i < recent_.size(); ++i) {
    const actors::EpochOutcome& e = recent_[i];
    out.push_back({{"epoch", e.epoch},
                   {"committed", e.committed},
                   {"replayed", e.replayed},
                   {"ms", std::round(e.seconds * 1e6) / 1e3}});  // to the microsecond
  }
  return out;
}

}  // namespace mgraph::node

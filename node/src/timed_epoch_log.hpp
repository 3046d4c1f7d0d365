#pragma once
// An epoch log that times its writes: it passes every call to the log it wraps (LMDB with
// --data, memory without) and tells an observer what each append cost — the node's
// mgraph_log_append_seconds (node_metrics.hpp). The sequencer appends a whole group of
// epochs with one call (group commit), so one observation is one write transaction and its
// sync: in LMDB the append and its commit are one step and are timed together.

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/actors/documents.hpp"

namespace mgraph::node {

/// What one append of the epoch log cost.
struct LogAppend {
  std::size_t epochs = 0;  ///< entries written together
  std::size_t bytes = 0;   ///< their batches' bytes
  double seconds = 0;      ///< from the call to its return, sync included
  bool ok = true;          ///< false: the write failed and nothing of it is logged
};
/// Called on the sequencer's thread after every append.
using LogAppendObserver = std::function<void(const LogAppend&)>;

class TimedEpochLog final : public actors::ForwardingEpochLog {
 public:
  /// REQUIRES: `inner` is not null.
  TimedEpochLog(std::unique_ptr<actors::EpochLog> inner, LogAppendObserver observe,
                actors::SteadyClock now = actors::system_steady_clock());

  Status append(codec::Epoch epoch, std::string_view batch) override;
  Status append_group(
      const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs) override;

 private:
  std::unique_ptr<actors::EpochLog> owned_;  ///< the log the base forwards to
  LogAppendObserver observe_;
  actors::SteadyClock now_;
};

}  // namespace mgraph::node

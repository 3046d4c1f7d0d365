#include "timed_epoch_log.hpp"

#include <chrono>

#include "mgraph/graph/assert.hpp"

namespace mgraph::node {

namespace {
actors::EpochLog& checked(const std::unique_ptr<actors::EpochLog>& log) {
  MG_ASSERT(log != nullptr);
  return *log;
}
}  // namespace

TimedEpochLog::TimedEpochLog(std::unique_ptr<actors::EpochLog> inner, LogAppendObserver observe,
                             actors::SteadyClock now)
    : ForwardingEpochLog(checked(inner)),
      owned_(std::move(inner)),
      observe_(std::move(observe)),
      now_(std::move(now)) {
  if (!now_) now_ = actors::system_steady_clock();
}

Status TimedEpochLog::append(codec::Epoch epoch, std::string_view batch) {
  return append_group({{epoch, batch}});
}

Status TimedEpochLog::append_group(
    const std::vector<std::pair<codec::Epoch, std::string_view>>& epochs) {
  const auto start = now_();
  Status s = ForwardingEpochLog::append_group(epochs);
  if (observe_ && !epochs.empty()) {
    LogAppend a;
    a.epochs = epochs.size();
    for (const auto& [epoch, batch] : epochs) a.bytes += batch.size();
    a.seconds = std::chrono::duration<double>(now_() - start).count();
    a.ok = s.is_ok();
    observe_(a);
  }
  return s;
}

}  // namespace mgraph::node

#pragma once
// Wall-clock time as an input (docs/SCHEMA.md "Execution timing"). The engine never reads
// the time of day: a schema's clock is a value that transactions write. WallClock is the
// one seam through which an embedded session reads the time of day to write it (`clock
// now`), as actors::SteadyClock is for steady time; tests give it a ManualClock. Times and
// durations, as schemas and scripts write them, are parsed here.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "mgraph/graph/status.hpp"

namespace mgraph {

/// Milliseconds since the Unix epoch (UTC).
using WallClock = std::function<std::int64_t()>;
/// The system's clock (std::chrono::system_clock).
WallClock system_wall_clock();

/// A clock that moves only when told to. Copies share the time.
class ManualClock {
 public:
  explicit ManualClock(std::int64_t ms = 0) : ms_(std::make_shared<std::int64_t>(ms)) {}
  std::int64_t now() const { return *ms_; }
  void set(std::int64_t ms) { *ms_ = ms; }
  void advance(std::int64_t ms) { *ms_ += ms; }
  WallClock clock() const {
    return [ms = ms_] { return *ms; };
  }

 private:
  std::shared_ptr<std::int64_t> ms_;
};

/// Milliseconds a clock or a period may span at most: 10^4 years, so that a sum of a time
/// and a duration never overflows.
inline constexpr std::int64_t kTimeMsMax = std::int64_t{10'000} * 366 * 86'400'000;

/// A duration: a positive count of milliseconds, bare or with a unit, "250ms", "5s",
/// "2m", "1h", "1d"; at most kTimeMsMax.
Result<std::int64_t> parse_duration_ms(std::string_view text);
/// A UTC time, "2026-12-03", "2026-12-03T10:00:00Z" or "2026-12-03T10:00:00.250Z", as ms
/// since the Unix epoch; years 1970 to 9999.
Result<std::int64_t> parse_utc_ms(std::string_view text);
/// "2026-12-03T10:00:00.250Z" (milliseconds only when not 0). REQUIRES: 0 <= ms.
std::string format_utc_ms(std::int64_t ms);

}  // namespace mgraph

#include "mgraph/graph/clock.hpp"

#include <chrono>
#include <cstdio>

namespace mgraph {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;

// Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (H. Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/// Reads exactly `n` digits at *pos.
bool digits(std::string_view s, std::size_t* pos, std::size_t n, std::int64_t* out) {
  if (*pos + n > s.size()) return false;
  std::int64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

WallClock system_wall_clock() {
  return [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

Result<std::int64_t> parse_duration_ms(std::string_view text) {
  static constexpr std::pair<std::string_view, std::int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1'000}, {"m", 60'000}, {"h", 3'600'000}, {"d", kDayMs}};
  std::size_t end = 0;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  const std::string_view number = text.substr(0, end);
  const std::string_view unit = text.substr(end);
  std::int64_t scale = unit.empty() ? 1 : 0;
  for (auto [name, ms] : kUnits) {
    if (unit == name) scale = ms;
  }
  const auto bad = [&] {
    std::string message = "'";
    message.append(text);
    message.append("' is not a duration: a positive count with a unit, e.g. 250ms, 5s, 2m, "
                   "1h, 1d (a bare count is milliseconds)");
    return Status(StatusCode::invalid_argument, std::move(message));
  };
  if (!all_digits(number) || scale == 0 || number.size() > 15) return bad();
  std::int64_t count = 0;
  for (char c : number) count = count * 10 + (c - '0');
  if (count <= 0 || count > kTimeMsMax / scale) return bad();
  const std::int64_t ms = count * scale;
  return ms;
}

Result<std::int64_t> parse_utc_ms(std::string_view s) {
  const auto bad = [&] {
    std::string message = "'";
    message.append(s);
    message.append("' is not a UTC time: write 2026-12-03, 2026-12-03T10:00:00Z or "
                   "2026-12-03T10:00:00.250Z");
    return Status(StatusCode::invalid_argument, std::move(message));
  };
  std::size_t pos = 0;
  std::int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
  if (!digits(s, &pos, 4, &y) || pos >= s.size() || s[pos++] != '-' ||
      !digits(s, &pos, 2, &mo) || pos >= s.size() || s[pos++] != '-' || !digits(s, &pos, 2, &d)) {
    return bad();
  }
  if (pos < s.size()) {
    if (s[pos++] != 'T' || !digits(s, &pos, 2, &h) || pos >= s.size() || s[pos++] != ':' ||
        !digits(s, &pos, 2, &mi) || pos >= s.size() || s[pos++] != ':' ||
        !digits(s, &pos, 2, &sec)) {
      return bad();
    }
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      if (!digits(s, &pos, 3, &ms)) return bad();
    }
    if (pos + 1 != s.size() || s[pos] != 'Z') return bad();
  }
  static constexpr int kMonthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return bad();
  if (d > kMonthDays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0)) return bad();
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kDayMs +
         ((h * 60 + mi) * 60 + sec) * 1000 + ms;
}

std::string format_utc_ms(std::int64_t ms) {
  // civil_from_days, the inverse of days_from_civil.
  const std::int64_t days = ms / kDayMs;
  std::int64_t rest = ms % kDayMs;
  const std::int64_t z = days + 719468;
  const std::int64_t era = z / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  const std::int64_t h = rest / 3'600'000;
  rest %= 3'600'000;
  const std::int64_t mi = rest / 60'000;
  rest %= 60'000;
  char buf[96];
  if (rest % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(h),
                  static_cast<long long>(mi), static_cast<long long>(rest / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(h),
                  static_cast<long long>(mi), static_cast<long long>(rest / 1000),
                  static_cast<long long>(rest % 1000));
  }
  return buf;
}

}  // namespace mgraph

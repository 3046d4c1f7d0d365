#include "log.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <array>
#include <cmath>
#include <ctime>
#include <mutex>

namespace mgraph::node::log {
namespace {

/// Names by spdlog level (trace .. off), as parse_level takes them.
constexpr std::array<const char*, 7> kNames = {"trace", "debug", "info", "warn",
                                                "error", "critical", "off"};

/// Writes "TIME LEVEL PAYLOAD\n": the time in UTC to the millisecond, from the log message
/// (which init's clock stamped).
class LineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since = msg.time.time_since_epoch();
    const auto seconds = std::chrono::floor<std::chrono::seconds>(since);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds).count();
    const std::time_t t = static_cast<std::time_t>(seconds.count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[40];
    const int n = std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    dest.append(stamp, stamp + n);
    const std::string_view level = kNames[static_cast<std::size_t>(msg.level)];
    dest.append(level.data(), level.data() + level.size());
    dest.push_back(' ');
    dest.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>();
  }
};

struct Log {
  std::mutex mu;  ///< guards replacing the logger (init); lines go through spdlog's sinks
  std::shared_ptr<spdlog::logger> logger;
  std::string node;
  Clock clock;
};

Log& the_log() {
  static Log log;
  return log;
}

std::shared_ptr<spdlog::logger> current(std::string* node, Clock* clock) {
  Log& l = the_log();
  std::lock_guard lock(l.mu);
  if (!l.logger) {
    l.logger = std::make_shared<spdlog::logger>("mgraph", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l.logger->set_formatter(std::make_unique<LineFormatter>());
    l.logger->set_level(Level::info);
    l.logger->flush_on(Level::trace);  // every line at once: tests and scripts read them
  }
  if (node != nullptr) *node = l.node;
  if (clock != nullptr) *clock = l.clock;
  return l.logger;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (const char c : v) {
    if (c == ' ' || c == '=' || c == '"' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

void append_value(std::string* out, std::string_view v) {
  if (!needs_quotes(v)) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (const char c : v) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

Result<Level> parse_level(std::string_view text) {
  for (const Level l : {Level::trace, Level::debug, Level::info, Level::warn, Level::err, Level::off}) {
    if (text == level_name(l)) return l;
  }
  return Status(StatusCode::invalid_argument, "log level must be one of trace, debug, info, warn, "
                                              "error, off, not '" + std::string(text) + "'");
}

const char* level_name(Level level) { return kNames[static_cast<std::size_t>(level)]; }

Field::Field(std::string k, double v) : key(std::move(k)) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::round(v * 1000) / 1000);
  value = buf;
}

std::string format_fields(const Fields& fields) {
  std::string out;
  for (const Field& f : fields) {
    if (!out.empty()) out.push_back(' ');
    out += f.key;
    out.push_back('=');
    append_value(&out, f.value);
  }
  return out;
}

std::map<std::string, std::string> parse_line(std::string_view line) {
  std::map<std::string, std::string> out;
  const std::size_t first = line.find(' ');
  const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos) return {};
  out["time"] = std::string(line.substr(0, first));
  out["level"] = std::string(line.substr(first + 1, second - first - 1));
  // key=value, value bare up to a space or quoted with \ escapes; bounded by the line.
  std::size_t at = second + 1;
  while (at < line.size()) {
    const std::size_t eq = line.find('=', at);
    if (eq == std::string_view::npos) return {};
    const std::string key(line.substr(at, eq - at));
    std::string value;
    std::size_t next = eq + 1;
    if (next < line.size() && line[next] == '"') {
      for (++next; next < line.size() && line[next] != '"'; ++next) {
        if (line[next] == '\\' && next + 1 < line.size()) {
          ++next;
          value.push_back(line[next] == 'n' ? '\n' : line[next]);
        } else {
          value.push_back(line[next]);
        }
      }
      if (next >= line.size()) return {};  // no closing quote
      ++next;
    } else {
      const std::size_t end = std::min(line.find(' ', next), line.size());
      value = std::string(line.substr(next, end - next));
      next = end;
    }
    out[key] = std::move(value);
    at = next + 1;
  }
  return out;
}

void init(std::string node, Level level, spdlog::sink_ptr sink, Clock clock) {
  auto logger = std::make_shared<spdlog::logger>(
      "mgraph", sink ? std::move(sink) : std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::make_unique<LineFormatter>());
  logger->set_level(level);
  logger->flush_on(Level::trace);
  Log& l = the_log();
  std::lock_guard lock(l.mu);
  l.logger = std::move(logger);
  l.node = std::move(node);
  l.clock = std::move(clock);
}

void set_level(Level level) { current(nullptr, nullptr)->set_level(level); }

Level level() { return current(nullptr, nullptr)->level(); }

bool enabled(Level level) { return current(nullptr, nullptr)->should_log(level); }

void write(Level level, std::string_view event, const Fields& fields) {
  std::string node;
  Clock clock;
  const std::shared_ptr<spdlog::logger> logger = current(&node, &clock);
  if (!logger->should_log(level)) return;
  Fields all{{"node", node.empty() ? std::string("-") : node}, {"event", std::string(event)}};
  all.insert(all.end(), fields.begin(), fields.end());
  const std::string line = format_fields(all);
  const auto time = clock ? clock() : std::chrono::system_clock::now();
  logger->log(time, spdlog::source_loc{}, level, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace mgraph::node::log

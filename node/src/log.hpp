#pragma once
// The node's log: one spdlog logger writing one line per event to stderr, as
//
//   2026-12-02T20:31:00.123Z info node=n1 event=peer_up peer=n2
//
// time (UTC, milliseconds), level, then key=value fields: `node` and `event` first, the
// event's own after. A value with a space, '=', '"' or a control character is quoted with
// '"' and '\' escaped (logfmt), so every line splits into fields the same way; scripts
// and tests read them with log::parse_line. Levels: trace, debug, info, warn, error, off
// (the level a node starts with comes from the configuration's [log] level or mgraphd
// --log-level; `mgraphctl log-level` changes it while the node runs).
//
// Thread-safety: every function may be called from any thread (spdlog's _mt sinks).

#include <spdlog/common.h>
#include <spdlog/sinks/sink.h>

#include <chrono>
#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/graph/status.hpp"

namespace mgraph::node::log {

using Level = spdlog::level::level_enum;

/// trace|debug|info|warn|error|off; anything else is an error naming the levels.
Result<Level> parse_level(std::string_view text);
/// The name parse_level takes back ("warn", not spdlog's "warning").
const char* level_name(Level level);

/// One key=value field of a line.
struct Field {
  Field(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  Field(std::string k, const char* v) : key(std::move(k)), value(v) {}
  Field(std::string k, bool v) : key(std::move(k)), value(v ? "true" : "false") {}
  template <typename Number>
    requires(std::integral<Number> && !std::same_as<Number, bool>)
  Field(std::string k, Number v) : key(std::move(k)), value(std::to_string(v)) {}
  Field(std::string k, double v);  ///< to the microsecond's precision: "12.345"
  std::string key;
  std::string value;
};
using Fields = std::vector<Field>;

/// `key=value ...`, values quoted where needed (see the top of this file).
std::string format_fields(const Fields& fields);
/// The fields of a line log writes, by key (time and level as "time" and "level"); empty
/// when the line is not one.
std::map<std::string, std::string> parse_line(std::string_view line);

/// Wall-clock time of a line; a seam for tests.
using Clock = std::function<std::chrono::system_clock::time_point()>;

/// (Re)starts the process's log: lines carry node=`node`, go to `sink` (null: stderr) and
/// are stamped by `clock` (null: the system clock).
void init(std::string node, Level level, spdlog::sink_ptr sink = nullptr, Clock clock = nullptr);
void set_level(Level level);
Level level();
/// Whether a line at `level` would be written (to skip building costly fields).
bool enabled(Level level);

/// Writes `node=NODE event=EVENT FIELDS...` at `level`.
void write(Level level, std::string_view event, const Fields& fields = {});
inline void debug(std::string_view event, const Fields& fields = {}) { write(Level::debug, event, fields); }
inline void info(std::string_view event, const Fields& fields = {}) { write(Level::info, event, fields); }
inline void warn(std::string_view event, const Fields& fields = {}) { write(Level::warn, event, fields); }
inline void error(std::string_view event, const Fields& fields = {}) { write(Level::err, event, fields); }

}  // namespace mgraph::node::log

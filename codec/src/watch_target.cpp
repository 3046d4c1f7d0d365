#include "mgraph/codec/watch_target.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace mgraph::codec {
namespace {

bool is_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Status bad_target(std::string_view text) {
  std::string message = "'";
  message.append(text);
  message += "' names no field or entity to watch (Entity#N.field or Entity)";
  return Status(StatusCode::invalid_argument, std::move(message));
}

}  // namespace

Result<WatchTarget> parse_watch_target(std::string_view text) {
  WatchTarget t;
  const std::size_t hash = text.find('#');
  if (hash == std::string_view::npos) {
    if (!is_name(text)) return bad_target(text);
    t.entity = std::string(text);
    return t;
  }
  const std::size_t dot = text.find('.', hash);
  if (dot == std::string_view::npos) return bad_target(text);
  const std::string_view entity = text.substr(0, hash);
  const std::string_view id = text.substr(hash + 1, dot - hash - 1);
  const std::string_view field = text.substr(dot + 1);
  if (hidden_field(field) && is_name(entity)) {
    std::string message = "'";
    message.append(text);
    message += "': " + std::string(field) +
               " is kept by the engine (a name with '@'), not watched; watch the fields the "
               "schema declares, or read it with get";
    return Status(StatusCode::invalid_argument, std::move(message));
  }
  if (!is_name(entity) || !is_name(field) || id.empty()) return bad_target(text);
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), t.record);
  if (ec != std::errc() || end != id.data() + id.size() || t.record == 0) return bad_target(text);
  t.entity = std::string(entity);
  t.field = std::string(field);
  return t;
}

Result<std::vector<WatchTarget>> parse_watch_targets(const std::vector<std::string>& texts) {
  if (texts.empty()) return Status(StatusCode::invalid_argument, "name at least one field or entity to watch");
  if (texts.size() > kWatchTargetsMax) {
    return Status(StatusCode::invalid_argument, std::to_string(texts.size()) + " names to watch; at most " +
                                                    std::to_string(kWatchTargetsMax));
  }
  std::vector<WatchTarget> out;
  for (const std::string& text : texts) {
    Result<WatchTarget> t = parse_watch_target(text);
    if (!t.is_ok()) return t.status();
    out.push_back(std::move(t).value());
  }
  return out;
}

}  // namespace mgraph::codec

#pragma once
// The one JSON writer of the engine and of `mgraph eval`. Strings (keys and values) are
// escaped by nlohmann-json, with invalid UTF-8 replaced by U+FFFD, so every line printed
// is valid JSON whatever bytes a value holds. Numbers keep the engine's own formatting
// (Value::to_json: integers exact, doubles with 17 significant digits so that they
// round-trip), which nlohmann-json would shorten. Members keep the order they are added.

#include <cstdint>
#include <string>
#include <string_view>

namespace mgraph::json {

/// `text` as a JSON string: quoted, escaped, invalid UTF-8 replaced by U+FFFD.
std::string quote(std::string_view text);

/// A double as JSON: 17 significant digits; null for NaN and the infinities (JSON has none).
std::string number(double d);

/// One JSON object, written member by member in the order they are added.
class Object {
 public:
  /// A member whose value is already JSON (Value::to_json, an array, another object).
  Object& raw(std::string_view key, std::string_view json);
  /// A string member (quoted as quote() does).
  Object& str(std::string_view key, std::string_view text);
  /// An integer member.
  Object& num(std::string_view key, std::int64_t n);
  Object& unum(std::string_view key, std::uint64_t n);
  Object& boolean(std::string_view key, bool b);

  /// The object, "{...}".
  std::string done() const { return text_ + "}"; }
  /// The object and a newline: one line of `mgraph eval` output.
  std::string line() const { return text_ + "}\n"; }

 private:
  Object& key(std::string_view key);

  std::string text_ = "{";
};

}  // namespace mgraph::json

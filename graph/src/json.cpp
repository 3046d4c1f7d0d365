#include "mgraph/graph/json.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace mgraph::json {

namespace {

/// Whether `text` is written as it is between quotes: printable ASCII but '"' and '\\' (what
/// nlohmann-json escapes or replaces is outside it). Keys and most values are.
bool plain(std::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

void append_quoted(std::string& out, std::string_view text) {
  if (plain(text)) {
    out += '"';
    out += text;
    out += '"';
    return;
  }
  out += nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string quote(std::string_view text) {
  std::string out;
  append_quoted(out, text);
  return out;
}

std::string number(double d) {
  if (std::isnan(d) || std::isinf(d)) return "null";
  // Zero prints as 0 whatever its sign: -0 equals 0, so whether a computation gave -0 is
  // not a change of the value (the cutoff keeps the zero it had), and a document that
  // printed -0 or 0 by the order its fields were computed in would differ for nothing.
  if (d == 0) d = 0.0;
  // "%.17g", as an ostream with precision 17 writes it: the format every expected output
  // of the examples was recorded with.
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.17g", d);
  return std::string(buf, static_cast<std::size_t>(n));
}

Object& Object::key(std::string_view key) {
  if (text_.size() > 1) text_ += ',';
  append_quoted(text_, key);
  text_ += ':';
  return *this;
}

Object& Object::raw(std::string_view k, std::string_view json) {
  key(k).text_ += json;
  return *this;
}

Object& Object::str(std::string_view k, std::string_view text) {
  append_quoted(key(k).text_, text);
  return *this;
}

Object& Object::num(std::string_view k, std::int64_t n) {
  key(k).text_ += std::to_string(n);
  return *this;
}

Object& Object::unum(std::string_view k, std::uint64_t n) {
  key(k).text_ += std::to_string(n);
  return *this;
}

Object& Object::boolean(std::string_view k, bool b) {
  key(k).text_ += b ? "true" : "false";
  return *this;
}

}  // namespace mgraph::json

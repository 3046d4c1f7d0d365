#include "mgraph/graph/json.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace mgraph::json {

std::string quote(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
  text_ += quote(key);
  text_ += ':';
  return *this;
}

Object& Object::raw(std::string_view k, std::string_view json) {
  key(k).text_ += json;
  return *this;
}

Object& Object::str(std::string_view k, std::string_view text) {
  key(k).text_ += quote(text);
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

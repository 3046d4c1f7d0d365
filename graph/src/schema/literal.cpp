#include "mgraph/graph/schema/literal.hpp"

#include <cctype>
#include <charconv>
#include <exception>
#include <string>
#include <vector>

#include "ops.hpp"

namespace mgraph::schema {
namespace {

Status bad(std::string message) { return Status(StatusCode::invalid_argument, std::move(message)); }

class LiteralParser {
 public:
  explicit LiteralParser(std::string_view s) : s_(s) {}
  std::size_t position() const { return i_; }

  Result<Value> value(std::size_t depth = 0) {
    skip();
    if (depth > kLiteralDepthMax) return bad("value nested too deeply");
    if (i_ >= s_.size()) return bad("expected a value");
    const char c = s_[i_];
    if (c == '"') return text();
    if (c == '[') return list(depth);
    const std::string_view w = word_or_number();
    if (w == "true") return Value(true);
    if (w == "false") return Value(false);
    if (w == "null") return Value();
    if (w.empty()) return bad("expected a value");
    if (w.find_first_of(".eE") == std::string_view::npos) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
      if (ec == std::errc() && p == w.data() + w.size()) return Value(v);
    }
    double d = 0;
    auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), d);
    if (ec != std::errc() || p != w.data() + w.size())
      return bad("bad value '" + std::string(w) + "'");
    return Value(d);
  }

 private:
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  Result<Value> text() {
    std::string out;
    for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_];
    }
    if (i_ >= s_.size()) return bad("unterminated string");
    ++i_;
    return Value(out);
  }
  Result<Value> list(std::size_t depth) {
    ++i_;
    std::vector<Value> items;
    if (!eat(']')) {
      do {
        Result<Value> v = value(depth + 1);
        if (!v.is_ok()) return v;
        if (!v->is_number() && !v->is_tensor()) return bad("tensor elements are numbers");
        items.push_back(std::move(v).value());
      } while (eat(','));
      if (!eat(']')) return bad("expected ']'");
    }
    try {
      return ops::list(items);
    } catch (const std::exception& e) {
      return bad(e.what());
    }
  }
  std::string_view word_or_number() {
    skip();
    const std::size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' ||
                              s_[i_] == '-' || s_[i_] == '+')) {
      ++i_;
    }
    return s_.substr(b, i_ - b);
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

Result<Value> parse_literal_prefix(std::string_view text, std::size_t* consumed) {
  LiteralParser p(text);
  Result<Value> v = p.value();
  *consumed = p.position();
  return v;
}

}  // namespace mgraph::schema

// The script interpreter: a line is split into a command word and arguments parsed
// with a small cursor; values use the JSON-like syntax of parse_script_value.

#include "mgraph/graph/schema/script.hpp"

#include <cctype>
#include <charconv>

#include "mgraph/graph/json.hpp"
#include "ops.hpp"

namespace mgraph::schema {
namespace {

constexpr std::size_t kValueDepthMax = 8;

Status bad(std::string message) { return Status(StatusCode::invalid_argument, std::move(message)); }

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool done() {
    skip();
    return i_ >= s_.size() || s_[i_] == '#';
  }
  /// A word: letters, digits, '_', '#', and '.' (a reference such as o1.items).
  std::string_view word() {
    skip();
    const std::size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' ||
                              s_[i_] == '#' || s_[i_] == '.')) {
      ++i_;
    }
    return s_.substr(b, i_ - b);
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  Result<Value> value(std::size_t depth = 0) {
    skip();
    if (depth > kValueDepthMax) return bad("value nested too deeply");
    if (i_ >= s_.size()) return bad("expected a value");
    const char c = s_[i_];
    if (c == '"') {
      std::string out;
      for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
        out += s_[i_];
      }
      if (i_ >= s_.size()) return bad("unterminated string");
      ++i_;
      return Value(out);
    }
    if (c == '[') {
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
  std::string_view rest() {
    skip();
    return s_.substr(i_);
  }

 private:
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

/// Splits "ref.field" at its last dot.
bool split_ref(std::string_view s, std::string_view* ref, std::string_view* field) {
  const std::size_t dot = s.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size()) return false;
  *ref = s.substr(0, dot);
  *field = s.substr(dot + 1);
  return true;
}

Result<FieldValues> assignments(Cursor& c) {
  FieldValues out;
  for (std::size_t n = 0; !c.done() && n < kScriptLineMax; ++n) {
    const std::string_view name = c.word();
    if (name.empty() || !c.eat('=')) return bad("expected field=value");
    Result<Value> v = c.value();
    if (!v.is_ok()) return v.status();
    out.emplace_back(std::string(name), std::move(v).value());
  }
  return out;
}

}  // namespace

Result<Value> parse_script_value(std::string_view text) {
  Cursor c(text);
  Result<Value> v = c.value();
  if (v.is_ok() && !c.done()) return bad("unexpected text after the value");
  return v;
}

ScriptRunner::ScriptRunner(std::shared_ptr<const Schema> schema, StoreOptions options)
    : store_(std::make_unique<Store>(std::move(schema), options)) {}

Result<RecordId> ScriptRunner::resolve(std::string_view ref) const {
  const std::size_t hash = ref.find('#');
  if (hash != std::string_view::npos) {
    RecordId id = 0;
    const std::string_view digits = ref.substr(hash + 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec == std::errc() && p == digits.data() + digits.size()) return id;
  }
  const auto it = aliases_.find(ref);
  if (it == aliases_.end())
    return Status(StatusCode::not_found, "unknown record '" + std::string(ref) + "'");
  return it->second;
}

Result<NodeId> ScriptRunner::field_node(std::string_view ref_field) const {
  std::string_view ref, field;
  if (!split_ref(ref_field, &ref, &field)) {
    std::string message(ref_field);
    message.append(" is not REF.field");
    return Status(StatusCode::invalid_argument, std::move(message));
  }
  Result<RecordId> id = resolve(ref);
  if (!id.is_ok()) return id.status();
  return store_->node_of(*id, field);
}

std::size_t ScriptRunner::run(std::string_view script, std::string* out) {
  std::size_t errors = 0, line_no = 0, start = 0;
  // Each iteration consumes one line.
  while (start <= script.size()) {
    std::size_t end = script.find('\n', start);
    if (end == std::string_view::npos) end = script.size();
    ++line_no;
    if (!run_line(script.substr(start, end - start), line_no, out)) ++errors;
    start = end + 1;
  }
  return errors;
}

bool ScriptRunner::run_line(std::string_view line, std::size_t line_no, std::string* out) {
  Status s = line.size() > kScriptLineMax
                 ? bad("line longer than " + std::to_string(kScriptLineMax) + " bytes")
                 : execute(line, out);
  if (s.is_ok()) return true;
  *out += json::Object()
              .str("error", s.message())
              .str("code", status_code_name(s.code()))
              .unum("line", line_no)
              .line();
  return false;
}

Status ScriptRunner::execute(std::string_view line, std::string* out) {
  Cursor c(line);
  if (c.done()) return Status::ok();
  const std::string_view cmd = c.word();
  auto field_ref = [&](RecordId* id, std::string_view* field) -> Status {
    std::string_view ref;
    if (!split_ref(c.word(), &ref, field)) return bad(std::string(cmd) + " needs REF.field");
    Result<RecordId> r = resolve(ref);
    if (!r.is_ok()) return r.status();
    *id = *r;
    return Status::ok();
  };
  auto end = [&]() -> Status {
    if (!c.done()) return bad("unexpected '" + std::string(c.rest()) + "'");
    return Status::ok();
  };
  if (cmd == "create") {
    const std::string_view entity = c.word();
    std::string alias;
    {
      Cursor probe = c;
      const std::string_view w = probe.word();
      if (!w.empty() && !probe.eat('=')) {
        alias = std::string(c.word());
      }
    }
    Result<FieldValues> fv = assignments(c);
    if (!fv.is_ok()) return fv.status();
    Result<RecordId> id = store_->create(entity, *fv);
    if (!id.is_ok()) return id.status();
    if (!alias.empty()) aliases_[alias] = *id;
    return Status::ok();
  }
  if (cmd == "update") {
    Result<RecordId> id = resolve(c.word());
    if (!id.is_ok()) return id.status();
    Result<FieldValues> fv = assignments(c);
    if (!fv.is_ok()) return fv.status();
    return store_->update(*id, *fv);
  }
  if (cmd == "delete") {
    Result<RecordId> id = resolve(c.word());
    if (!id.is_ok()) return id.status();
    if (Status s = end(); !s.is_ok()) return s;
    return store_->remove(*id);
  }
  if (cmd == "link" || cmd == "unlink") {
    RecordId id = 0;
    std::string_view rel;
    if (Status s = field_ref(&id, &rel); !s.is_ok()) return s;
    Result<RecordId> other = resolve(c.word());
    if (!other.is_ok()) return other.status();
    if (Status s = end(); !s.is_ok()) return s;
    return cmd == "link" ? store_->link(id, rel, *other) : store_->unlink(id, rel, *other);
  }
  if (cmd == "set" || cmd == "ack") {
    RecordId id = 0;
    std::string_view field;
    if (Status s = field_ref(&id, &field); !s.is_ok()) return s;
    Value v(false);
    if (cmd == "set") {
      c.eat('=');
      Result<Value> parsed = c.value();
      if (!parsed.is_ok()) return parsed.status();
      v = std::move(parsed).value();
    }
    if (Status s = end(); !s.is_ok()) return s;
    return store_->set(id, field, std::move(v));
  }
  if (cmd == "commit" || cmd == "reject" || cmd == "undo" || cmd == "redo" || cmd == "dot") {
    if (Status s = end(); !s.is_ok()) return s;
    if (cmd == "commit") return store_->commit().status();
    if (cmd == "reject") {
      store_->reject();
      return Status::ok();
    }
    if (cmd == "undo") return store_->undo();
    if (cmd == "redo") return store_->redo();
    *out += store_->dot() + "\n";
    return Status::ok();
  }
  if (cmd == "get" || cmd == "explain") {
    const std::string_view text = c.rest();
    RecordId id = 0;
    std::string_view field;
    if (Status s = field_ref(&id, &field); !s.is_ok()) return s;
    if (Status s = end(); !s.is_ok()) return s;
    if (cmd == "explain") {
      Result<std::string> e = store_->explain(id, field);
      if (!e.is_ok()) return e.status();
      *out += *e + "\n";
      return Status::ok();
    }
    Result<Value> v = store_->get(id, field);
    if (!v.is_ok()) return v.status();
    const NodeId node = store_->node_of(id, field).value();
    *out += json::Object()
                .str("get", text)
                .raw("value", v->to_json())
                .unum("version", store_->version(node))
                .unum("revision", store_->graph().revision())
                .line();
    return Status::ok();
  }
  return bad("unknown command '" + std::string(cmd) +
             "' (create, update, delete, link, unlink, set, ack, commit, reject, undo, redo, get, "
             "explain, dot)");
}

}  // namespace mgraph::schema

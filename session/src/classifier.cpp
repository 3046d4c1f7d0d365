// The command classifier: a line is split into a command word and arguments read with a
// small cursor; values are literals of the script language (graph/schema/literal.hpp).

#include "mgraph/session/classifier.hpp"

#include <cctype>
#include <charconv>
#include <utility>

#include "mgraph/graph/clock.hpp"
#include "mgraph/graph/schema/literal.hpp"

namespace mgraph::session {
namespace {

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
  /// A command word: letters, digits, '_' and '-' (update-link).
  std::string_view command() {
    skip();
    const std::size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' ||
                              s_[i_] == '-'))
      ++i_;
    return s_.substr(b, i_ - b);
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
  /// `t` right here, not after blanks.
  bool eat_adjacent(std::string_view t) {
    if (s_.substr(i_).substr(0, t.size()) != t) return false;
    i_ += t.size();
    return true;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  Result<Value> value() {
    std::size_t consumed = 0;
    Result<Value> v = schema::parse_literal_prefix(s_.substr(i_), &consumed);
    i_ += consumed;
    return v;
  }
  std::string_view rest() {
    skip();
    return s_.substr(i_);
  }

 private:
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

/// The member of `keep=MEMBER`: a name where a value would be a literal. Values are
/// literals and a name is none (true, false and null are values), so `keep=start` keeps
/// start while `keep=1` still writes a field named keep.
std::optional<std::string_view> kept_member(Cursor& c, std::string_view name) {
  if (name != "keep") return std::nullopt;
  Cursor probe = c;
  probe.skip();
  const std::string_view rest = probe.rest();
  if (rest.empty() || !(std::isalpha(static_cast<unsigned char>(rest[0])) || rest[0] == '_')) {
    return std::nullopt;
  }
  const std::string_view member = probe.word();
  if (member == "true" || member == "false" || member == "null") return std::nullopt;
  c = probe;
  return member;
}

/// field=value ...; with `keep` given (update), also keep=MEMBER.
Result<FieldValues> assignments(Cursor& c, std::vector<std::string>* keep) {
  FieldValues out;
  for (std::size_t n = 0; !c.done() && n < kScriptLineMax; ++n) {
    const std::string_view name = c.word();
    if (name.empty() || !c.eat('=')) return bad("expected field=value");
    if (keep) {
      if (const auto member = kept_member(c, name)) {
        keep->emplace_back(*member);
        continue;
      }
    }
    Result<Value> v = c.value();
    if (!v.is_ok()) return v.status();
    out.emplace_back(std::string(name), std::move(v).value());
  }
  return out;
}

constexpr const char* kClockUsage =
    "clock takes now, +DURATION (+5s, +250ms, +1h) or a UTC time (2026-12-03T10:00:00Z)";

/// Builds the Op of one line; a failure leaves the op as it stands (its refs so far).
class LineClassifier {
 public:
  LineClassifier(std::string_view line, const RefResolver& resolve) : c_(line), resolve_(resolve) {}

  std::optional<Classified> run() {
    if (c_.done()) return std::nullopt;
    const std::string_view cmd = c_.command();
    const Status s = parse(cmd, op_kind_of(cmd));
    if (!s.is_ok()) {
      out_.op.kind = OpKind::invalid;
      out_.op.error = s;
      out_.alias.clear();
    }
    return std::move(out_);
  }

 private:
  Status parse(std::string_view cmd, std::optional<OpKind> kind) {
    Op& op = out_.op;
    if (!kind) {
      return bad("unknown command '" + std::string(cmd) +
                 "' (create, update, delete, link, unlink, update-link, set, ack, resolve, "
                 "commit, reject, undo, redo, get, explain, dot, clock)");
    }
    op.kind = *kind;
    switch (*kind) {
      case OpKind::create: {
        op.entity = std::string(c_.word());
        Cursor probe = c_;
        const std::string_view w = probe.word();
        if (!w.empty() && !probe.eat('=')) {
          out_.alias = std::string(c_.word());
          if (out_.alias == kGlobalRef)
            return bad("'global' names the record of the global values; give another alias");
        }
        return take_values(nullptr);
      }
      case OpKind::update:
        if (Status s = record(c_.word()); !s.is_ok()) return s;
        return take_values(&op.keep);
      case OpKind::remove:
        if (Status s = record(c_.word()); !s.is_ok()) return s;
        return end();
      case OpKind::link:
      case OpKind::unlink:
      case OpKind::update_link:
        if (Status s = field_ref(cmd); !s.is_ok()) return s;
        if (Status s = record(c_.word()); !s.is_ok()) return s;
        // The link's properties (a relation with properties, docs/SCHEMA.md).
        if (*kind != OpKind::unlink) {
          Cursor probe = c_;
          if (!probe.word().empty() && probe.eat('=')) return take_values(nullptr);
        }
        return end();
      case OpKind::set:
      case OpKind::ack:
        if (Status s = field_ref(cmd); !s.is_ok()) return s;
        op.value = Value(false);
        if (*kind == OpKind::set) {
          c_.eat('=');
          Result<Value> parsed = c_.value();
          if (!parsed.is_ok()) return parsed.status();
          op.value = std::move(parsed).value();
        }
        return end();
      case OpKind::get:
      case OpKind::explain: {
        op.text = std::string(c_.rest());
        Cursor ref = c_;
        if (Status s = field_ref(cmd); !s.is_ok()) return s;
        if (*kind == OpKind::get) {
          Cursor probe = c_;
          if (probe.word() == "at") {
            op.text = std::string(ref.word());
            c_ = probe;
            const std::string_view n = c_.word();
            std::uint64_t revision = 0;
            const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), revision);
            if (n.empty() || ec != std::errc() || end != n.data() + n.size()) {
              return bad("get REF.field at REVISION needs a revision number, not '" +
                         std::string(n.empty() ? c_.rest() : n) + "'");
            }
            op.at = revision;
          }
        }
        return end();
      }
      case OpKind::clock:
        return clock();
      case OpKind::resolve: {
        // resolve REF.field VERSION VALUE: the result of one request of an async field.
        if (Status s = field_ref(cmd); !s.is_ok()) return s;
        const std::string_view n = c_.word();
        std::uint64_t version = 0;
        const auto [last, ec] = std::from_chars(n.data(), n.data() + n.size(), version);
        if (n.empty() || ec != std::errc() || last != n.data() + n.size()) {
          return bad("resolve REF.field VERSION VALUE needs the request's version, not '" +
                     std::string(n.empty() ? c_.rest() : n) + "'");
        }
        op.at = version;
        Result<Value> parsed = c_.value();
        if (!parsed.is_ok()) return parsed.status();
        op.value = std::move(parsed).value();
        return end();
      }
      default:  // commit, reject, undo, redo, dot: nothing follows
        return end();
    }
  }

  /// `clock now`, `clock +DURATION`, `clock TIME` (UTC).
  Status clock() {
    static constexpr const char* kUsage = kClockUsage;
    std::string_view arg = c_.rest();
    arg = arg.substr(0, arg.find_first_of(" \t\r#"));
    if (arg.empty()) return bad(kUsage);
    c_ = Cursor(c_.rest().substr(arg.size()));
    Op& op = out_.op;
    if (arg == "now") {
      op.text = "now";
    } else if (arg.front() == '+') {
      Result<std::int64_t> d = parse_duration_ms(arg.substr(1));
      if (!d.is_ok()) return clock_error(d.status());
      op.text.assign(1, '+');
      op.value = Value(*d);
    } else {
      Result<std::int64_t> t = parse_utc_ms(arg);
      if (!t.is_ok()) return clock_error(t.status());
      op.value = Value(*t);
    }
    if (!c_.done()) {
      std::string message = kUsage;
      message.append("; unexpected '").append(c_.rest()).append("'");
      return bad(message);
    }
    return Status::ok();
  }
  static Status clock_error(const Status& why) {
    std::string message = "clock: ";
    message.append(why.message()).append(" (").append(kClockUsage).append(")");
    return bad(message);
  }

  Status record(std::string_view name) {
    Result<RecordRef> r = resolve_(name);
    if (!r.is_ok()) return r.status();
    out_.op.refs.push_back(std::move(r).value());
    return Status::ok();
  }
  Status field_ref(std::string_view cmd) {
    std::string_view ref, field;
    if (!split_ref(c_.word(), &ref, &field)) return bad(std::string(cmd) + " needs REF.field");
    if (Status s = record(ref); !s.is_ok()) return s;
    out_.op.name = std::string(field);
    // The request of an async field (`o.risk@request`, docs/SCHEMA.md "Async fields").
    if (c_.eat_adjacent("@request")) out_.op.name += "@request";
    return Status::ok();
  }
  Status take_values(std::vector<std::string>* keep) {
    Result<FieldValues> fv = assignments(c_, keep);
    if (!fv.is_ok()) return fv.status();
    out_.op.values = std::move(fv).value();
    return Status::ok();
  }
  Status end() {
    if (!c_.done()) return bad("unexpected '" + std::string(c_.rest()) + "'");
    return Status::ok();
  }

  Cursor c_;
  const RefResolver& resolve_;
  Classified out_;
};

/// Every command word of the script language that names an operation: the one table.
constexpr std::pair<std::string_view, OpKind> kCommandWords[] = {
    {"create", OpKind::create}, {"update", OpKind::update},   {"delete", OpKind::remove},
    {"link", OpKind::link},     {"unlink", OpKind::unlink},   {"set", OpKind::set},
    {"ack", OpKind::ack},       {"commit", OpKind::commit},   {"reject", OpKind::reject},
    {"undo", OpKind::undo},     {"redo", OpKind::redo},       {"get", OpKind::get},
    {"explain", OpKind::explain}, {"dot", OpKind::dot}, {"update-link", OpKind::update_link},
    {"clock", OpKind::clock}, {"resolve", OpKind::resolve}};

}  // namespace

std::string_view command_word(std::string_view line) {
  Cursor c(line);
  if (c.done()) return {};
  return c.command();
}

std::optional<OpKind> op_kind_of(std::string_view word) {
  for (const auto& [w, kind] : kCommandWords) {
    if (w == word) return kind;
  }
  return std::nullopt;
}

bool is_session_command(std::string_view word) {
  return word == "checkpoint" || word == "history" || word == "audit";
}

bool is_logged(OpKind kind) {
  return is_mutation(kind) || kind == OpKind::commit || kind == OpKind::reject ||
         kind == OpKind::undo || kind == OpKind::redo;
}

bool ends_epoch(OpKind kind) {
  return kind == OpKind::commit || kind == OpKind::undo || kind == OpKind::redo;
}

std::optional<RecordId> record_id_of(std::string_view name) {
  const std::size_t hash = name.find('#');
  if (hash == std::string_view::npos) return std::nullopt;
  RecordId id = 0;
  const std::string_view digits = name.substr(hash + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return id;
}

std::optional<Classified> classify(std::string_view line, const RefResolver& resolve) {
  if (line.size() > kScriptLineMax) {
    Classified c;
    c.op.kind = OpKind::invalid;
    c.op.error = bad("line longer than " + std::to_string(kScriptLineMax) + " bytes");
    return c;
  }
  return LineClassifier(line, resolve).run();
}

Result<Value> parse_script_value(std::string_view text) {
  Cursor c(text);
  Result<Value> v = c.value();
  if (v.is_ok() && !c.done()) return bad("unexpected text after the value");
  return v;
}

}  // namespace mgraph::session

#include "mgraph/session/version_ledger.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <limits>
#include <utility>

#include "mgraph/codec/image_codec.hpp"
#include "mgraph/graph/json.hpp"
#include "mgraph/session/classifier.hpp"

namespace mgraph::session {

std::optional<RecordedChange> recorded_change(schema::Store& store, NodeId n) {
  const schema::Store::NodeField nf = store.field_at(n);
  if (nf.field == nullptr || !store.owns(nf.record)) return std::nullopt;
  const bool effect = nf.field->kind == schema::FieldKind::effect;
  if (!effect && !nf.field->options.versioned) return std::nullopt;
  RecordedChange c;
  c.node = n;
  c.version = store.version(n);
  c.value = store.graph().committed(n);
  c.effect = effect;
  if (effect && nf.field->effect_kind == schema::EffectKind::queue && c.value.is_int()) {
    c.queue_trigger = schema::Store::queue_trigger_json(store.queue_trigger(nf.record, *nf.field), &c.value);
  }
  return c;
}

void VersionRecords::add_to(persistence::WriteBatch& wb) const {
  for (const persistence::HistoryEntry& h : history) wb.put_history(h);
  for (const persistence::LedgerEntry& l : ledger) wb.put_ledger(l);
}

void VersionRecords::append(VersionRecords more) {
  std::move(more.history.begin(), more.history.end(), std::back_inserter(history));
  std::move(more.ledger.begin(), more.ledger.end(), std::back_inserter(ledger));
}

void MemoryLedger::store(VersionRecords records) {
  for (persistence::HistoryEntry& h : records.history) {
    const std::pair<std::uint64_t, std::uint64_t> key{h.field_id, h.version};
    history_.insert_or_assign(key, std::move(h));
  }
  for (persistence::LedgerEntry& l : records.ledger) {
    const std::tuple<std::uint64_t, std::uint64_t, std::uint64_t> key{l.effect_field_id, l.version, l.seq};
    ledger_.insert_or_assign(key, std::move(l));
  }
}

Result<std::vector<persistence::HistoryEntry>> MemoryLedger::history(std::uint64_t field,
                                                                     std::uint64_t version_from) const {
  std::vector<persistence::HistoryEntry> out;
  for (auto it = history_.lower_bound({field, version_from});
       it != history_.end() && it->first.first == field && out.size() < persistence::read_entries_max; ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<std::optional<persistence::HistoryEntry>> MemoryLedger::value_at(std::uint64_t field,
                                                                        std::uint64_t epoch) const {
  // Epochs do not decrease with versions: the newest version at or before `epoch`.
  std::optional<persistence::HistoryEntry> found;
  for (auto it = history_.lower_bound({field, 0}); it != history_.end() && it->first.first == field; ++it) {
    if (it->second.epoch > epoch) break;
    found = it->second;
  }
  return found;
}

Result<std::vector<persistence::LedgerEntry>> MemoryLedger::audit_trail(std::uint64_t field, std::uint64_t version,
                                                                        std::uint64_t seq,
                                                                        std::size_t entries_max) const {
  std::vector<persistence::LedgerEntry> out;
  for (auto it = ledger_.lower_bound({field, version, seq});
       it != ledger_.end() && std::get<0>(it->first) == field && out.size() < entries_max; ++it) {
    out.push_back(it->second);
  }
  return out;
}

namespace {

/// An effect's move from `before` to `value` at `version`: a trigger (bool false -> true,
/// a count one more) joins `pending`, the triggers not settled yet, oldest first; an
/// acknowledgement (bool true -> false, a count one fewer) settles the oldest, which is
/// appended to `settled` (when not null). True for an acknowledgement. Undo and redo move
/// the value alike: an undone trigger reads as an ack of the oldest.
///
/// An effect changes only when triggered or acknowledged, so triggers in a row have
/// versions in a row: `pending` keeps runs (versions first .. first + count - 1), and an
/// effect nobody acknowledges costs one run, however many triggers it has.
bool effect_moved(const Value& before, const Value& value, std::uint64_t version,
                  std::deque<TriggerRun>* pending, std::vector<std::uint64_t>* settled) {
  std::int64_t raised = 0;
  if (value.is_bool()) {
    const bool was = before.is_bool() && before.as_bool();
    raised = value.as_bool() == was ? 0 : (value.as_bool() ? 1 : -1);
  } else if (value.is_int()) {
    raised = value.as_int() - (before.is_int() ? before.as_int() : 0);
  }
  // A commit raises an effect by one. A move by more (a history with a gap) is kept as
  // the one trigger its version names: acks past it settle a key of null.
  if (raised > 0) {
    if (!pending->empty() && pending->back().first + pending->back().count == version) {
      ++pending->back().count;
    } else {
      pending->push_back(TriggerRun{version, 1});
    }
  }
  for (std::int64_t i = 0; i > raised && !pending->empty(); --i) {
    TriggerRun& oldest = pending->front();
    if (settled != nullptr) settled->push_back(oldest.first);
    ++oldest.first;
    if (--oldest.count == 0) pending->pop_front();
  }
  return raised < 0;
}

/// '#' also starts record ids (#3.total): only " #" starts a comment here.
std::string_view args_of(std::string_view line, std::string_view cmd) {
  std::string_view rest = line.substr(line.find(cmd) + cmd.size());
  const std::size_t b = rest.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  rest.remove_prefix(b);
  const std::size_t comment = rest.find(" #");
  if (comment != std::string_view::npos) rest = rest.substr(0, comment);
  const std::size_t e = rest.find_last_not_of(" \t\r");
  return rest.substr(0, e + 1);
}

}  // namespace

Status VersionRecorder::load(std::uint64_t node, bool effect, Field* field) const {
  if (!effect) {
    // The newest stored version is all a field that is no effect needs.
    Result<std::optional<persistence::HistoryEntry>> newest =
        stored_.value_at(node, std::numeric_limits<std::uint64_t>::max());
    if (!newest.is_ok()) return newest.status();
    if (*newest) field->last_version = (*newest)->version;
    return Status::ok();
  }
  // Every stored version of the effect, oldest first, page by page (bounded by the
  // history's length): the last is its value, and its moves tell which triggers are left.
  std::uint64_t from = 0;
  for (;;) {
    Result<std::vector<persistence::HistoryEntry>> page = stored_.history(node, from);
    if (!page.is_ok()) return page.status();
    for (const persistence::HistoryEntry& e : *page) {
      Result<Value> v = codec::decode_value(e.value);
      if (!v.is_ok()) return v.status();
      effect_moved(field->value, *v, e.version, &field->pending, nullptr);
      field->value = std::move(v).value();
      field->last_version = e.version;
    }
    if (page->size() < persistence::read_entries_max) return Status::ok();
    from = page->back().version + 1;
  }
}

Status VersionRecorder::record(const RecordedChange& change, std::uint64_t epoch, std::uint64_t time_ns,
                               VersionRecords* out) {
  auto it = fields_.find(change.node);
  if (it == fields_.end()) {
    Field loaded;
    if (Status s = load(change.node, change.effect, &loaded); !s.is_ok()) return s;
    it = fields_.emplace(change.node, std::move(loaded)).first;
  }
  Field& field = it->second;
  if (change.version <= field.last_version) return Status::ok();  // recorded before: a replay
  field.last_version = change.version;
  Result<std::string> encoded = codec::encode_value(change.value);
  if (!encoded.is_ok()) return encoded.status();
  persistence::HistoryEntry h;
  h.field_id = change.node;
  h.version = change.version;
  h.epoch = epoch;
  h.time_ns = time_ns;
  h.value = std::move(encoded).value();
  out->history.push_back(std::move(h));
  if (!change.effect) return Status::ok();
  // Acknowledgements lower an effect (bool true -> false, counter and queue one fewer);
  // triggers raise it.
  const Value before = std::move(field.value);
  field.value = change.value;
  std::vector<std::uint64_t> settled;
  const bool ack = effect_moved(before, change.value, change.version, &field.pending, &settled);
  persistence::LedgerEntry t;
  t.effect_field_id = change.node;
  t.version = change.version;
  t.seq = 0;
  t.kind = persistence::LedgerKind::transition;
  t.epoch = epoch;
  t.time_ns = time_ns;
  t.detail = change.value.to_json();
  if (!change.queue_trigger.empty() && change.value.is_int() &&
      change.value.as_int() > (before.is_int() ? before.as_int() : 0)) {
    // A trigger of a queue keeps what it carries: {"value":N,"values":{...},"time":T}.
    t.detail = change.queue_trigger;
  }
  out->ledger.push_back(t);
  if (!ack) return Status::ok();
  // One entry per trigger settled (one per ack), naming it by the delivery key a cluster's
  // consumer acknowledges: {"key":{"field":N,"version":V},...}; a key of null when the
  // history no longer tells it.
  t.kind = persistence::LedgerKind::ack;
  if (settled.empty()) settled.push_back(0);
  for (const std::uint64_t v : settled) {
    ++t.seq;
    const std::string key = v == 0 ? "null" : json::Object().unum("field", change.node).unum("version", v).done();
    t.detail = json::Object().raw("key", key).raw("before", before.to_json()).raw("value", change.value.to_json()).done();
    out->ledger.push_back(t);
  }
  return Status::ok();
}

Status VersionRecorder::record_result(const RequestResult& result, std::uint64_t epoch, std::uint64_t time_ns,
                                     VersionRecords* out) {
  persistence::LedgerEntry r;
  r.effect_field_id = result.node;
  r.version = result.version;
  r.kind = persistence::LedgerKind::ack;
  r.epoch = epoch;
  r.time_ns = time_ns;
  r.detail = json::Object()
                 .raw("key", json::Object().unum("field", result.node).unum("version", result.version).done())
                 .raw("result", result.value.to_json())
                 .str("outcome", result.outcome)
                 .done();
  return append_at_key(std::move(r), out);
}

Status VersionRecorder::record_change(const DeliveryChange& change, std::uint64_t epoch, std::uint64_t time_ns,
                                      VersionRecords* out) {
  persistence::LedgerEntry r;
  r.effect_field_id = change.key.field;
  r.version = change.key.version;
  r.epoch = epoch;
  r.time_ns = time_ns;
  switch (change.kind) {
    case DeliveryChange::Kind::died:
      r.kind = persistence::LedgerKind::dead_letter;
      r.detail = json::Object().unum("attempts", change.attempts).done();
      break;
    case DeliveryChange::Kind::retried:
      r.kind = persistence::LedgerKind::dead_letter_retry;
      r.detail = "{}";
      break;
    case DeliveryChange::Kind::dropped:
      r.kind = persistence::LedgerKind::dead_letter_drop;
      r.detail = "{}";
      break;
    case DeliveryChange::Kind::attempted:
      if (change.attempts > 1) {
        persistence::LedgerEntry failed = r;
        failed.kind = persistence::LedgerKind::delivery_failure;
        failed.detail = json::Object()
                            .unum("attempt", change.attempts - 1)
                            .str("why", "not acknowledged within its retry delay")
                            .done();
        if (Status s = append_at_key(std::move(failed), out); !s.is_ok()) return s;
      }
      r.kind = persistence::LedgerKind::delivery_attempt;
      r.detail = json::Object().unum("attempt", change.attempts).str("group", change.group).done();
      break;
  }
  return append_at_key(std::move(r), out);
}

Status VersionRecorder::append_at_key(persistence::LedgerEntry r, VersionRecords* out) const {
  const std::uint64_t node = r.effect_field_id, version = r.version;
  std::uint64_t next = 0;
  // The records at the key, a few at a time (its transition, acks, results, dead letter
  // changes: few); bounded by the key's records.
  constexpr std::size_t kPage = 16;
  for (bool more = true; more;) {
    Result<std::vector<persistence::LedgerEntry>> page = stored_.audit_trail(node, version, next, kPage);
    if (!page.is_ok()) return page.status();
    more = page->size() == kPage;
    for (const persistence::LedgerEntry& e : *page) {
      if (e.version != version) {
        more = false;
        break;
      }
      if (e.kind == r.kind && e.epoch == r.epoch && e.detail == r.detail) return Status::ok();  // a replay
      next = e.seq + 1;
    }
  }
  // And after those staged in `out`: its index, brought up to date with what was added
  // since (a poll's attempts are a record each; a scan per record would be quadratic).
  for (; out->indexed < out->ledger.size(); ++out->indexed) {
    const persistence::LedgerEntry& e = out->ledger[out->indexed];
    std::uint64_t& n = out->next_seq[{e.effect_field_id, e.version}];
    n = std::max(n, e.seq + 1);
  }
  if (const auto it = out->next_seq.find({node, version}); it != out->next_seq.end()) next = std::max(next, it->second);
  // A key with no trigger in the ledger (none should be: effects always keep one) gets no
  // record: the ledger's first record of a key is its transition.
  if (next == 0) return Status::ok();
  r.seq = next;
  out->ledger.push_back(std::move(r));
  return Status::ok();
}

Result<LedgerQuery> parse_ledger_query(std::string_view line) {
  LedgerQuery q;
  q.cmd = std::string(command_word(line));
  const std::string_view args = args_of(line, q.cmd);
  const std::string_view ref = args.substr(0, args.find_first_of(" \t"));
  q.ref = std::string(ref);
  if (ref.size() == args.size()) return q;
  std::string_view rest = args.substr(ref.size());
  rest.remove_prefix(rest.find_first_not_of(" \t"));
  if (q.cmd != "history" || !rest.starts_with("at ")) {
    std::string message = "unexpected '";
    message.append(rest).append("'; usage: history REF.field [at EPOCH], audit REF.effect");
    return Status(StatusCode::invalid_argument, std::move(message));
  }
  std::string_view at_text = rest.substr(3);
  at_text.remove_prefix(std::min(at_text.size(), at_text.find_first_not_of(" \t")));
  std::uint64_t epoch = 0;
  const auto [p, ec] = std::from_chars(at_text.data(), at_text.data() + at_text.size(), epoch);
  if (at_text.empty() || ec != std::errc() || p != at_text.data() + at_text.size()) {
    std::string message = "'";
    message.append(at_text).append("' is not an epoch number");
    return Status(StatusCode::invalid_argument, std::move(message));
  }
  q.at = epoch;
  return q;
}

Result<NodeId> ledger_node(const schema::Store& store, NodeId field, const LedgerQuery& query) {
  NodeId node = field;
  schema::Store::NodeField nf = store.field_at(node);
  const bool audit = query.cmd == "audit";
  if (audit && nf.field != nullptr && nf.field->request != schema::kNone) {
    // An async field's trail is its requests' (the effect F@request): each asked, then
    // settled by its result.
    Result<NodeId> request = store.node_of(nf.record, nf.field->name + "@request");
    if (!request.is_ok()) return request.status();
    node = *request;
    nf = store.field_at(node);
  }
  const bool effect = nf.field != nullptr && nf.field->kind == schema::FieldKind::effect;
  if (nf.field == nullptr || (!effect && !nf.field->options.versioned)) {
    return Status(StatusCode::failed_precondition,
                  query.ref + " keeps no history: only effects and fields marked @versioned do");
  }
  if (audit && !effect) return Status(StatusCode::failed_precondition, query.ref + " is not an effect");
  return node;
}

namespace {

Result<std::string> history_entry_json(const persistence::HistoryEntry& e) {
  Result<Value> v = codec::decode_value(e.value);
  if (!v.is_ok()) return v.status();
  return json::Object()
      .unum("version", e.version)
      .unum("epoch", e.epoch)
      .unum("time_ns", e.time_ns)
      .raw("value", v->to_json())
      .done();
}

}  // namespace

Result<std::string> read_ledger(const LedgerReader& reader, std::uint64_t node, const LedgerQuery& query) {
  std::string out = "[";
  bool first = true;
  if (query.cmd == "audit") {
    std::uint64_t version = 0, seq = 0;
    // Page by page; bounded by the trail's length.
    for (;;) {
      Result<std::vector<persistence::LedgerEntry>> page =
          reader.audit_trail(node, version, seq, persistence::read_entries_max);
      if (!page.is_ok()) return page.status();
      for (const persistence::LedgerEntry& e : *page) {
        out += first ? "" : ",";
        first = false;
        out += json::Object()
                   .unum("version", e.version)
                   .unum("seq", e.seq)
                   .str("kind", persistence::ledger_kind_name(e.kind))
                   .unum("epoch", e.epoch)
                   .unum("time_ns", e.time_ns)
                   .str("detail", e.detail)
                   .done();
      }
      if (page->size() < persistence::read_entries_max) break;
      version = page->back().version;
      seq = page->back().seq + 1;
    }
    return out + "]";
  }
  if (query.at) {
    Result<std::optional<persistence::HistoryEntry>> e = reader.value_at(node, *query.at);
    if (!e.is_ok()) return e.status();
    if (!*e) return std::string("null");
    return history_entry_json(**e);
  }
  std::uint64_t from = 0;
  for (;;) {
    Result<std::vector<persistence::HistoryEntry>> page = reader.history(node, from);
    if (!page.is_ok()) return page.status();
    for (const persistence::HistoryEntry& e : *page) {
      Result<std::string> one = history_entry_json(e);
      if (!one.is_ok()) return one.status();
      out += (first ? "" : ",") + *one;
      first = false;
    }
    if (page->size() < persistence::read_entries_max) break;
    from = page->back().version + 1;
  }
  return out + "]";
}

std::string ledger_line(const LedgerQuery& query, std::string_view answer) {
  json::Object line;
  if (query.cmd == "audit") return line.str("audit", query.ref).raw("records", answer).line();
  line.str("history", query.ref);
  if (query.at) return line.unum("at", *query.at).raw("version", answer).line();
  return line.raw("versions", answer).line();
}

}  // namespace mgraph::session

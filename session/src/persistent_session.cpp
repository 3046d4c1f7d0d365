#include "mgraph/session/persistent_session.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iterator>
#include <cstdio>
#include <optional>
#include <utility>

#include "mgraph/codec/image_codec.hpp"
#include "mgraph/codec/session_codec.hpp"
#include "mgraph/graph/hash.hpp"
#include "mgraph/graph/json.hpp"
#include "mgraph/session/classifier.hpp"
#include "mgraph/session/printer.hpp"
#include "mgraph/persistence/checkpoint_writer.hpp"
#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::session {
namespace {

/// Whether a line with this command word is logged.
bool is_logged(std::string_view cmd) {
  const std::optional<OpKind> kind = op_kind_of(cmd);
  return kind && session::is_logged(*kind);
}

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

/// Splits off the next '\n'-terminated line of `rest`; false when none is left.
bool next_line(std::string_view* rest, std::string_view* line) {
  if (rest->empty()) return false;
  const std::size_t nl = rest->find('\n');
  if (nl == std::string_view::npos) {
    *line = *rest;
    *rest = {};
  } else {
    *line = rest->substr(0, nl);
    rest->remove_prefix(nl + 1);
  }
  return true;
}

/// The rest of `line` after its command word, trimmed.
std::string_view args_of(std::string_view line, std::string_view cmd) {
  std::string_view rest = line.substr(line.find(cmd) + cmd.size());
  // '#' also starts record ids (#3.total): only " #" starts a comment here.
  const std::size_t b = rest.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  rest.remove_prefix(b);
  const std::size_t comment = rest.find(" #");
  if (comment != std::string_view::npos) rest = rest.substr(0, comment);
  const std::size_t e = rest.find_last_not_of(" \t\r");
  return rest.substr(0, e + 1);
}

std::string trim_newline(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

/// An operation as a message names it: its kind and what it names ("update o1",
/// "set o1.note", "create Order").
std::string describe(const Op& op) {
  std::string out = op_kind_name(op.kind);
  if (op.kind == OpKind::create) out.append(" ").append(op.entity);
  for (std::size_t i = 0; i < op.refs.size(); ++i) {
    const RecordRef& ref = op.refs[i];
    out.append(" ");
    if (ref.text.empty()) {
      out.append("#").append(std::to_string(ref.id));
    } else {
      out.append(ref.text);
    }
    if (i == 0 && !op.name.empty()) out.append(".").append(op.name);
  }
  return out;
}

}  // namespace

std::uint64_t schema_content_hash(std::string_view schema_text) { return fnv1a64(schema_text); }

std::string eval_header(std::string_view magic, std::uint32_t version, std::uint64_t schema_hash,
                        std::string_view schema_name) {
  std::string header(magic);
  header.append(" ").append(std::to_string(version)).append("\nschema ").append(hex16(schema_hash));
  header.append(" ").append(schema_name).append("\n");
  return header;
}

PersistentSession::PersistentSession(persistence::DirectoryLock lock,
                                     std::unique_ptr<persistence::Store> store,
                                     std::string directory, std::uint64_t schema_hash,
                                     std::string schema_name, ScriptRunner& runner,
                                     SessionOptions options)
    : lock_(std::move(lock)),
      store_(std::move(store)),
      directory_(std::move(directory)),
      schema_hash_(schema_hash),
      schema_name_(std::move(schema_name)),
      runner_(&runner),
      options_(std::move(options)) {
  if (!options_.wall_clock_ns) {
    options_.wall_clock_ns = [] {
      return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
    };
  }
}

Result<std::unique_ptr<PersistentSession>> PersistentSession::open(const std::string& directory,
                                                                   const std::string& schema_name,
                                                                   std::string_view schema_text,
                                                                   ScriptRunner& runner,
                                                                   SessionOptions session_options) {
  // The lock first: a second process must not even open the environment.
  auto lock = persistence::DirectoryLock::acquire(directory);
  if (!lock.is_ok()) {
    return Status(lock.status().code(),
                  directory + ": cannot open the data directory: " + lock.status().message());
  }
  persistence::StoreOptions options;
  options.durability = persistence::Durability::sync;
  options.create_if_missing = true;
  auto store = persistence::Store::open(directory, options);
  if (!store.is_ok()) {
    return Status(store.status().code(),
                  directory + ": cannot open the data directory: " + store.status().message());
  }
  std::unique_ptr<PersistentSession> session(new PersistentSession(
      std::move(lock).value(), std::move(store).value(), directory,
      schema_content_hash(schema_text), schema_name, runner, session_options));
  if (Status s = session->replay(); !s.is_ok()) return s;
  return session;
}

Status PersistentSession::check_header(std::string_view* rest, std::string_view magic,
                                       std::uint32_t oldest, std::uint32_t newest,
                                       const std::string& where, const char* kind,
                                       std::uint32_t* version) const {
  std::string_view line;
  if (!next_line(rest, &line) || !line.starts_with(magic) || line.size() <= magic.size() ||
      line[magic.size()] != ' ') {
    return Status(StatusCode::corruption, where + "not an `mgraph eval` " + kind + " (no '" +
                                              std::string(magic) + "' header)");
  }
  const std::string_view found = line.substr(magic.size() + 1);
  std::uint32_t number = 0;
  const auto [end, ec] = std::from_chars(found.data(), found.data() + found.size(), number);
  if (ec != std::errc() || end != found.data() + found.size() || number < oldest ||
      number > newest) {
    return Status(StatusCode::failed_precondition,
                  where + kind + " format version " + std::string(found) +
                      ", this build reads versions " + std::to_string(oldest) + " to " +
                      std::to_string(newest));
  }
  *version = number;
  if (!next_line(rest, &line) || !line.starts_with("schema ") || line.size() < 7 + 16)
    return Status(StatusCode::corruption, where + "missing the schema line of the header");
  const std::string_view saved_hash = line.substr(7, 16);
  if (saved_hash != hex16(schema_hash_)) {
    const std::string_view saved_name = line.size() > 24 ? line.substr(24) : std::string_view{};
    return Status(StatusCode::failed_precondition,
                  where + "written for another schema ('" + std::string(saved_name) +
                      "', content hash " + std::string(saved_hash) + "), not for '" +
                      schema_name_ + "' (content hash " + hex16(schema_hash_) +
                      "); use the schema the data directory was created with, or another "
                      "--data directory");
  }
  return Status::ok();
}

Status PersistentSession::load_checkpoint(std::uint64_t epoch, std::string_view state) {
  const std::string where = directory_ + ": checkpoint at epoch " + std::to_string(epoch) + ": ";
  std::string_view rest = state;
  std::uint32_t version = 0;
  if (Status s = check_header(&rest, kEvalCheckpointMagic, kEvalCheckpointOldestVersion,
                              kEvalCheckpointVersion, where, "checkpoint", &version);
      !s.is_ok()) {
    return s;
  }
  Result<schema::RunnerImage> image = codec::decode_runner_image(rest);
  if (!image.is_ok()) return Status(image.status().code(), where + image.status().message());
  if (Status s = runner_->import_image(std::move(image).value()); !s.is_ok())
    return Status(s.code(), where + s.message());
  loaded_checkpoint_ = epoch;
  checkpoint_epoch_ = epoch;
  last_epoch_ = epoch;
  return Status::ok();
}

Status PersistentSession::replay() {
  Result<persistence::Recovery> recovery = store_->recover(kEvalScope);
  if (!recovery.is_ok()) {
    return Status(recovery.status().code(),
                  directory_ + ": cannot start recovery: " + recovery.status().message());
  }
  if (recovery->checkpoint) {
    const persistence::Checkpoint& cp = *recovery->checkpoint;
    if (Status s = load_checkpoint(cp.epoch, cp.state); !s.is_ok()) return s;
  }
  persistence::LogCursor& cursor = recovery->log;
  // Each iteration replays one epoch; the log is finite.
  for (;;) {
    Result<const persistence::LogEntry*> next = cursor.next();
    if (!next.is_ok()) {
      return Status(next.status().code(),
                    directory_ + ": cannot read the log after epoch " +
                        std::to_string(cursor.position()) + ": " + next.status().message());
    }
    const persistence::LogEntry* entry = *next;
    if (entry == nullptr) break;
    const std::string where = directory_ + ": epoch " + std::to_string(entry->epoch) + ": ";
    std::string_view body = entry->batch;
    std::uint32_t version = 0;
    if (Status s = check_header(&body, kEvalLogMagic, kEvalLogOldestVersion, kEvalLogVersion,
                                where, "log entry", &version);
        !s.is_ok()) {
      return s;
    }
    const Status s = version == 1 ? replay_lines(body, where) : replay_ops(body, where);
    if (!s.is_ok()) return s;
    last_epoch_ = entry->epoch;
    ++replayed_;
  }
  Result<std::uint64_t> last = store_->last_epoch();
  if (!last.is_ok()) {
    return Status(last.status().code(), directory_ + ": " + last.status().message());
  }
  if (*last > last_epoch_) last_epoch_ = *last;
  return Status::ok();
}

Status PersistentSession::replay_lines(std::string_view body, const std::string& where) {
  // Version 1: "+ line" (succeeded when logged) or "! line" (failed), the last one ending
  // the epoch; each line runs again through the runner.
  std::string discarded;
  std::string_view line;
  std::size_t n = 0;
  std::string_view last_cmd;
  bool last_ok = false;
  while (next_line(&body, &line)) {
    ++n;
    if (line.size() < 2 || (line[0] != '+' && line[0] != '!') || line[1] != ' ') {
      return Status(StatusCode::corruption,
                    where + "line " + std::to_string(n) + " of the batch is malformed");
    }
    const bool logged_ok = line[0] == '+';
    const std::string_view text = line.substr(2);
    discarded.clear();
    const bool ok = runner_->run_line(text, n, &discarded);
    if (ok != logged_ok) {
      return Status(StatusCode::failed_precondition,
                    where + "replays differently: '" + std::string(text) + "' " +
                        (logged_ok ? "succeeded when logged but now fails: " +
                                         trim_newline(discarded)
                                   : std::string("failed when logged but now succeeds")));
    }
    last_cmd = command_word(text);
    last_ok = ok;
  }
  const std::optional<OpKind> last_kind = op_kind_of(last_cmd);
  if (n == 0 || !last_ok || !last_kind || !ends_epoch(*last_kind)) {
    return Status(StatusCode::corruption,
                  where + "the batch does not end with a successful commit, undo or redo");
  }
  return Status::ok();
}

Status PersistentSession::replay_ops(std::string_view body, const std::string& where) {
  Result<AppliedBatch> logged = codec::decode_applied_batch(body);
  if (!logged.is_ok()) return Status(StatusCode::corruption, where + logged.status().message());
  const AppliedBatch& epoch = *logged;
  if (epoch.empty() || !epoch.results.back().status.is_ok() ||
      !ends_epoch(epoch.ops.back().kind)) {
    return Status(StatusCode::corruption,
                  where + "the batch does not end with a successful commit, undo or redo");
  }
  for (std::size_t i = 0; i < epoch.ops.size(); ++i) {
    if (!is_logged(epoch.ops[i].kind) && epoch.ops[i].kind != OpKind::invalid) {
      return Status(StatusCode::corruption,
                    where + "operation " + std::to_string(i + 1) + " (" +
                        op_kind_name(epoch.ops[i].kind) + ") changes nothing to log");
    }
  }
  Result<BatchResult> results = runner_->apply(epoch.ops, epoch.aliases);
  if (!results.is_ok()) return Status(results.status().code(), where + results.status().message());
  for (std::size_t i = 0; i < epoch.ops.size(); ++i) {
    const OpResult& then = epoch.results[i];
    const OpResult& now = (*results)[i];
    const std::string op = "operation " + std::to_string(i + 1) + " of " +
                           std::to_string(epoch.ops.size()) + " ('" + describe(epoch.ops[i]) +
                           "') ";
    if (then.status.is_ok() != now.status.is_ok()) {
      return Status(StatusCode::failed_precondition,
                    where + "replays differently: " + op +
                        (then.status.is_ok()
                             ? "succeeded when logged but now fails: " + now.status.message()
                             : "failed when logged (" + then.status.message() +
                                   ") but now succeeds"));
    }
    // Later ops name the records a create made by id: it must be the same record.
    if (then.created != now.created) {
      return Status(StatusCode::failed_precondition,
                    where + "replays differently: " + op + "created record #" +
                        std::to_string(then.created) + " when logged but now #" +
                        std::to_string(now.created));
    }
  }
  return Status::ok();
}

Status PersistentSession::run_line(std::string_view line, std::size_t line_no, std::string* out,
                                   bool* line_ok) {
  const std::string_view cmd = command_word(line);
  if (cmd == "checkpoint") {
    std::size_t bytes = 0;
    const Status s = take_checkpoint(&bytes);
    *line_ok = s.is_ok();
    if (s.is_ok()) {
      *out += json::Object().unum("checkpoint", checkpoint_epoch_).unum("bytes", bytes).line();
      return Status::ok();
    }
    if (s.code() == StatusCode::failed_precondition) {  // a user error: the session goes on
      *out += error_line(s, line_no);
      return Status::ok();
    }
    return s;  // the store failed: as for an epoch that cannot be logged
  }
  if (cmd == "history" || cmd == "audit") {
    const Status s = query(cmd, line, out);
    *line_ok = s.is_ok();
    if (!s.is_ok()) *out += error_line(s, line_no);
    return Status::ok();
  }
  AppliedBatch applied;
  *line_ok = runner_->run_line(line, line_no, out, &applied);
  // Oversized lines fail before running; they changed nothing and are not logged.
  if (!is_logged(cmd) || line.size() > kScriptLineMax || applied.empty()) return Status::ok();
  // The runner resolves every name when its line runs, so its ops name records by id; a
  // reference to an op of the same batch (none from an embedded runner) moves with it.
  const auto offset = static_cast<std::uint32_t>(pending_.ops.size());
  for (Op& op : applied.ops) {
    for (RecordRef& ref : op.refs) {
      for (std::uint32_t& by : ref.created_by) by += offset;
    }
  }
  const bool ends = *line_ok && ends_epoch(applied.ops.back().kind);
  std::move(applied.ops.begin(), applied.ops.end(), std::back_inserter(pending_.ops));
  std::move(applied.results.begin(), applied.results.end(), std::back_inserter(pending_.results));
  std::move(applied.aliases.begin(), applied.aliases.end(), std::back_inserter(pending_.aliases));
  if (ends) return log_epoch();
  return Status::ok();
}

Status PersistentSession::log_epoch() {
  const std::uint64_t epoch = last_epoch_ + 1;
  const std::uint64_t time_ns = options_.wall_clock_ns();
  Result<std::string> ops = codec::encode_applied_batch(pending_);
  if (!ops.is_ok()) {
    return Status(ops.status().code(), directory_ + ": cannot encode epoch " +
                                           std::to_string(epoch) + ": " + ops.status().message());
  }
  std::string batch = eval_header(kEvalLogMagic, kEvalLogVersion, schema_hash_, schema_name_);
  batch += *ops;
  persistence::WriteBatch wb;
  wb.append_log(epoch, time_ns, batch);
  if (Status s = record_versions(wb, epoch, time_ns); !s.is_ok()) {
    return Status(s.code(), directory_ + ": cannot record the versions of epoch " +
                                std::to_string(epoch) + ": " + s.message());
  }
  if (Status s = store_->write(wb); !s.is_ok()) {
    return Status(s.code(), directory_ + ": cannot log epoch " + std::to_string(epoch) + ": " +
                                s.message());
  }
  last_epoch_ = epoch;
  pending_ = AppliedBatch{};
  if (options_.checkpoint_every == 0 || epoch % options_.checkpoint_every != 0) return Status::ok();
  std::size_t bytes = 0;
  const Status s = take_checkpoint(&bytes);
  if (s.code() == StatusCode::failed_precondition) {
    // This state cannot be saved as an image (see Store::export_image); the log alone
    // still reopens the session, so the session goes on without this checkpoint.
    if (!checkpoint_warned_) {
      std::fprintf(stderr, "%s: no checkpoint at epoch %llu: %s\n", directory_.c_str(),
                   static_cast<unsigned long long>(epoch), s.message().c_str());
      checkpoint_warned_ = true;
    }
    return Status::ok();
  }
  return s;
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

}  // namespace

Status PersistentSession::stored_effect(NodeId n, Value* value,
                                        std::deque<TriggerRun>* pending) const {
  // Every stored version of the effect, oldest first, page by page (bounded by the
  // history's length): the last is its value, and its moves tell which triggers are left.
  std::uint64_t from = 0;
  for (;;) {
    Result<std::vector<persistence::HistoryEntry>> page = store_->history(n, from);
    if (!page.is_ok()) return page.status();
    for (const persistence::HistoryEntry& e : *page) {
      Result<Value> v = codec::decode_value(e.value);
      if (!v.is_ok()) return v.status();
      effect_moved(*value, *v, e.version, pending, nullptr);
      *value = std::move(v).value();
    }
    if (page->size() < persistence::read_entries_max) return Status::ok();
    from = page->back().version + 1;
  }
}

Status PersistentSession::record_versions(persistence::WriteBatch& wb, std::uint64_t epoch,
                                         std::uint64_t time_ns) {
  schema::Store& store = runner_->store();
  Graph& graph = store.graph();
  for (const NodeId n : graph.last_changed()) {
    const schema::Store::NodeField nf = store.field_at(n);
    if (nf.field == nullptr) continue;
    const bool effect = nf.field->kind == schema::FieldKind::effect;
    if (!effect && !nf.field->options.versioned) continue;
    const Value value = graph.committed(n);
    Result<std::string> encoded = codec::encode_value(value);
    if (!encoded.is_ok()) return encoded.status();
    persistence::HistoryEntry h;
    h.field_id = n;
    h.version = store.version(n);
    h.epoch = epoch;
    h.time_ns = time_ns;
    h.value = std::move(encoded).value();
    wb.put_history(h);
    if (!effect) continue;
    // Acknowledgements lower an effect (bool true -> false, counter and queue one fewer);
    // triggers raise it. The value before, and the triggers not settled yet, come from
    // this run or the stored history.
    Value before;
    std::deque<TriggerRun>& pending = effect_pending_[n];
    if (auto it = effect_values_.find(n); it != effect_values_.end()) {
      before = it->second;
    } else if (Status s = stored_effect(n, &before, &pending); !s.is_ok()) {
      return s;
    }
    std::vector<std::uint64_t> settled;
    const bool ack = effect_moved(before, value, h.version, &pending, &settled);
    persistence::LedgerEntry t;
    t.effect_field_id = n;
    t.version = h.version;
    t.seq = 0;
    t.kind = persistence::LedgerKind::transition;
    t.epoch = epoch;
    t.time_ns = time_ns;
    t.detail = value.to_json();
    if (nf.field->effect_kind == schema::EffectKind::queue && value.is_int() &&
        value.as_int() > (before.is_int() ? before.as_int() : 0)) {
      // A trigger of a queue keeps what it carries: {"value":N,"values":{...},"time":T}.
      t.detail = schema::Store::queue_trigger_json(store.queue_trigger(nf.record, *nf.field), &value);
    }
    wb.put_ledger(t);
    if (ack) {
      // One entry per trigger settled (one per ack), naming it by the delivery key a
      // cluster's consumer acknowledges: {"key":{"field":N,"version":V},...}; a key of
      // null when the history no longer tells it.
      t.kind = persistence::LedgerKind::ack;
      if (settled.empty()) settled.push_back(0);
      for (const std::uint64_t v : settled) {
        ++t.seq;
        const std::string key =
            v == 0 ? "null" : json::Object().unum("field", n).unum("version", v).done();
        t.detail = json::Object()
                       .raw("key", key)
                       .raw("before", before.to_json())
                       .raw("value", value.to_json())
                       .done();
        wb.put_ledger(t);
      }
    }
    effect_values_[n] = value;
  }
  return record_results(wb, epoch, time_ns);
}

Status PersistentSession::record_results(persistence::WriteBatch& wb, std::uint64_t epoch,
                                         std::uint64_t time_ns) {
  // A result of an async field settles the request it names, whether it was written or
  // came too late: an `ack` record at the request's key (the field `F@request`, the
  // request's version), after the records that key has.
  schema::Store& store = runner_->store();
  std::map<std::pair<NodeId, std::uint64_t>, std::uint64_t> next_seq;  // this epoch's keys
  for (std::size_t i = 0; i < pending_.ops.size() && i < pending_.results.size(); ++i) {
    const Op& op = pending_.ops[i];
    if (op.kind != OpKind::resolve || !pending_.results[i].status.is_ok() || !op.at || op.refs.empty()) continue;
    Result<NodeId> request = store.node_of(op.refs[0].id, op.name + "@request");
    if (!request.is_ok()) return request.status();
    const std::pair<NodeId, std::uint64_t> key{*request, *op.at};
    auto seq = next_seq.find(key);
    if (seq == next_seq.end()) {
      Result<std::vector<persistence::LedgerEntry>> trail = store_->audit_trail(key.first, key.second, 0);
      if (!trail.is_ok()) return trail.status();
      std::uint64_t next = 0;
      for (const persistence::LedgerEntry& e : *trail) {
        if (e.version == key.second) next = e.seq + 1;
      }
      // A request with no trigger in the ledger (none can be: effects always keep one)
      // gets no record: the ledger's first record of a key is its transition.
      if (next == 0) continue;
      seq = next_seq.emplace(key, next).first;
    }
    persistence::LedgerEntry r;
    r.effect_field_id = key.first;
    r.version = key.second;
    r.seq = seq->second++;
    r.kind = persistence::LedgerKind::ack;
    r.epoch = epoch;
    r.time_ns = time_ns;
    r.detail = json::Object()
                   .raw("key", json::Object().unum("field", key.first).unum("version", key.second).done())
                   .raw("result", op.value.to_json())
                   .str("outcome", pending_.results[i].text)
                   .done();
    wb.put_ledger(r);
  }
  return Status::ok();
}

Status PersistentSession::query(std::string_view cmd, std::string_view line, std::string* out) {
  std::string_view args = args_of(line, cmd);
  std::string_view ref = args.substr(0, args.find_first_of(" \t"));
  std::string_view at_text;
  if (ref.size() < args.size()) {
    std::string_view rest = args.substr(ref.size());
    rest.remove_prefix(rest.find_first_not_of(" \t"));
    if (cmd != "history" || !rest.starts_with("at ")) {
      return Status(StatusCode::invalid_argument,
                    "unexpected '" + std::string(rest) + "'; usage: history REF.field [at EPOCH], "
                    "audit REF.effect");
    }
    at_text = rest.substr(3);
    at_text.remove_prefix(std::min(at_text.size(), at_text.find_first_not_of(" \t")));
  }
  Result<NodeId> node = runner_->field_node(ref);
  if (!node.is_ok()) return node.status();
  schema::Store::NodeField nf = runner_->store().field_at(*node);
  if (cmd == "audit" && nf.field != nullptr && nf.field->request != schema::kNone) {
    // An async field's trail is its requests' (the effect F@request): each asked, then
    // settled by its result.
    node = runner_->store().node_of(nf.record, nf.field->name + "@request");
    if (!node.is_ok()) return node.status();
    nf = runner_->store().field_at(*node);
  }
  const bool effect = nf.field != nullptr && nf.field->kind == schema::FieldKind::effect;
  if (nf.field == nullptr || (!effect && !nf.field->options.versioned)) {
    return Status(StatusCode::failed_precondition,
                  std::string(ref) + " keeps no history: only effects and fields marked "
                  "@versioned do");
  }
  if (cmd == "audit" && !effect)
    return Status(StatusCode::failed_precondition, std::string(ref) + " is not an effect");
  if (cmd == "audit") {
    std::string records = "[";
    std::uint64_t version = 0, seq = 0;
    bool first = true;
    // Page by page; bounded by the trail's length.
    for (;;) {
      Result<std::vector<persistence::LedgerEntry>> page = store_->audit_trail(*node, version, seq);
      if (!page.is_ok()) return page.status();
      for (const persistence::LedgerEntry& e : *page) {
        records += first ? "" : ",";
        first = false;
        records += json::Object()
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
    *out += json::Object().str("audit", ref).raw("records", records + "]").line();
    return Status::ok();
  }
  auto entry_json = [](const persistence::HistoryEntry& e) -> Result<std::string> {
    Result<Value> v = codec::decode_value(e.value);
    if (!v.is_ok()) return v.status();
    return json::Object()
        .unum("version", e.version)
        .unum("epoch", e.epoch)
        .unum("time_ns", e.time_ns)
        .raw("value", v->to_json())
        .done();
  };
  if (!at_text.empty()) {
    std::uint64_t epoch = 0;
    const auto [p, ec] = std::from_chars(at_text.data(), at_text.data() + at_text.size(), epoch);
    if (ec != std::errc() || p != at_text.data() + at_text.size()) {
      std::string message = "'";
      message.append(at_text).append("' is not an epoch number");
      return Status(StatusCode::invalid_argument, std::move(message));
    }
    Result<std::optional<persistence::HistoryEntry>> e = store_->value_at(*node, epoch);
    if (!e.is_ok()) return e.status();
    json::Object json;
    json.str("history", ref).unum("at", epoch);
    if (!*e) {
      *out += json.raw("version", "null").line();
      return Status::ok();
    }
    Result<std::string> one = entry_json(**e);
    if (!one.is_ok()) return one.status();
    *out += json.raw("version", *one).line();
    return Status::ok();
  }
  std::string versions = "[";
  std::uint64_t from = 0;
  bool first = true;
  for (;;) {
    Result<std::vector<persistence::HistoryEntry>> page = store_->history(*node, from);
    if (!page.is_ok()) return page.status();
    for (const persistence::HistoryEntry& e : *page) {
      Result<std::string> one = entry_json(e);
      if (!one.is_ok()) return one.status();
      versions += (first ? "" : ",") + *one;
      first = false;
    }
    if (page->size() < persistence::read_entries_max) break;
    from = page->back().version + 1;
  }
  *out += json::Object().str("history", ref).raw("versions", versions + "]").line();
  return Status::ok();
}

Status PersistentSession::take_checkpoint(std::size_t* bytes) {
  if (runner_->store().graph().in_transaction()) {
    return Status(StatusCode::failed_precondition,
                  "cannot checkpoint inside an open transaction: commit or reject it first");
  }
  // Lines run since the last epoch (a rejected transaction, failed lines) are logged only
  // with the next one; replayed after a checkpoint that already holds their effects (a
  // record id they used), they would apply twice.
  if (!pending_.empty()) {
    return Status(StatusCode::failed_precondition,
                  "cannot checkpoint with lines not yet logged (a rejected transaction or "
                  "failed lines since the last commit): commit first");
  }
  Result<schema::RunnerImage> image = runner_->export_image();
  if (!image.is_ok()) {
    return Status(image.status().code(), "cannot checkpoint: " + image.status().message());
  }
  auto stored = [&](const Status& s) {
    return Status(s.code(), directory_ + ": cannot store the checkpoint at epoch " +
                                std::to_string(last_epoch_) + ": " + s.message());
  };
  auto writer = persistence::CheckpointWriter::begin(*store_, kEvalScope, last_epoch_,
                                                     options_.checkpoint_part_bytes);
  if (!writer.is_ok()) return stored(writer.status());
  // The header names the schema as the log's does, with the checkpoint magic; the image
  // follows, streamed from the encoder into the store part by part.
  const std::string header =
      eval_header(kEvalCheckpointMagic, kEvalCheckpointVersion, schema_hash_, schema_name_);
  Status store_error = writer->append(header);
  if (!store_error.is_ok()) return stored(store_error);
  const Status encoded = codec::write_runner_image(
      std::move(image).value(), [&](std::string_view bytes) {
        store_error = writer->append(bytes);
        return store_error;
      });
  if (!store_error.is_ok()) return stored(store_error);
  if (!encoded.is_ok()) {  // the image does not fit the format: the session goes on
    return Status(StatusCode::failed_precondition, "cannot checkpoint: " + encoded.message());
  }
  if (Status s = writer->finish(); !s.is_ok()) return stored(s);
  checkpoint_epoch_ = last_epoch_;
  *bytes = writer->state_bytes() - header.size();
  if (options_.compact_log && last_epoch_ > 0) {
    if (Status s = store_->compact(last_epoch_ + 1); !s.is_ok()) {
      return Status(s.code(), directory_ + ": cannot compact the log up to epoch " +
                                  std::to_string(last_epoch_) + ": " + s.message());
    }
  }
  return Status::ok();
}

}  // namespace mgraph::session

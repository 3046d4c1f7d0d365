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
#include "mgraph/session/version_ledger.hpp"
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
      options_(std::move(options)),
      reader_(*store_),
      recorder_(reader_) {
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
    const Status s = query(line, out);
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

Status PersistentSession::record_versions(persistence::WriteBatch& wb, std::uint64_t epoch,
                                         std::uint64_t time_ns) {
  schema::Store& store = runner_->store();
  VersionRecords records;
  for (const NodeId n : store.graph().last_changed()) {
    const std::optional<RecordedChange> change = recorded_change(store, n);
    if (!change) continue;
    if (Status s = recorder_.record(*change, epoch, time_ns, &records); !s.is_ok()) return s;
  }
  // A result of an async field settles the request it names, whether it was written or
  // came too late: an `ack` record at the request's key (the field `F@request`, the
  // request's version).
  for (std::size_t i = 0; i < pending_.ops.size() && i < pending_.results.size(); ++i) {
    const Op& op = pending_.ops[i];
    if (op.kind != OpKind::resolve || !pending_.results[i].status.is_ok() || !op.at || op.refs.empty()) continue;
    Result<NodeId> request = store.node_of(op.refs[0].id, op.name + "@request");
    if (!request.is_ok()) return request.status();
    const RequestResult result{*request, *op.at, op.value, pending_.results[i].text};
    if (Status s = recorder_.record_result(result, epoch, time_ns, &records); !s.is_ok()) return s;
  }
  records.add_to(wb);
  return Status::ok();
}

Status PersistentSession::query(std::string_view line, std::string* out) {
  Result<LedgerQuery> query = parse_ledger_query(line);
  if (!query.is_ok()) return query.status();
  Result<NodeId> field = runner_->field_node(query->ref);
  if (!field.is_ok()) return field.status();
  Result<NodeId> node = ledger_node(runner_->store(), *field, *query);
  if (!node.is_ok()) return node.status();
  Result<std::string> answer = read_ledger(reader_, *node, *query);
  if (!answer.is_ok()) return answer.status();
  *out += ledger_line(*query, *answer);
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

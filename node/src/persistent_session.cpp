#include "persistent_session.hpp"

#include <chrono>
#include <cstdio>
#include <utility>

#include "mgraph/persistence/write_batch.hpp"

namespace mgraph::node {
namespace {

/// The command word of a script line ("" for blank and comment lines).
std::string_view command_of(std::string_view line) {
  std::size_t b = 0;
  while (b < line.size() && (line[b] == ' ' || line[b] == '\t' || line[b] == '\r')) ++b;
  std::size_t e = b;
  while (e < line.size() && line[e] != ' ' && line[e] != '\t' && line[e] != '\r' && line[e] != '#')
    ++e;
  return line.substr(b, e - b);
}

/// Lines that change the runner's state, hence are logged.
bool is_logged(std::string_view cmd) {
  return cmd == "create" || cmd == "update" || cmd == "delete" || cmd == "link" ||
         cmd == "unlink" || cmd == "set" || cmd == "ack" || cmd == "commit" ||
         cmd == "reject" || cmd == "undo" || cmd == "redo";
}

/// Lines whose success ends an epoch.
bool ends_epoch(std::string_view cmd) {
  return cmd == "commit" || cmd == "undo" || cmd == "redo";
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

}  // namespace

std::uint64_t schema_content_hash(std::string_view schema_text) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : schema_text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

PersistentSession::PersistentSession(std::unique_ptr<persistence::Store> store,
                                     std::string directory, std::string header,
                                     schema::ScriptRunner& runner)
    : store_(std::move(store)),
      directory_(std::move(directory)),
      header_(std::move(header)),
      runner_(&runner) {}

Result<std::unique_ptr<PersistentSession>> PersistentSession::open(const std::string& directory,
                                                                   const std::string& schema_name,
                                                                   std::string_view schema_text,
                                                                   schema::ScriptRunner& runner) {
  persistence::StoreOptions options;
  options.durability = persistence::Durability::sync;
  options.create_if_missing = true;
  auto store = persistence::Store::open(directory, options);
  if (!store.is_ok()) {
    return Status(store.status().code(),
                  directory + ": cannot open the data directory: " + store.status().message());
  }
  const std::uint64_t hash = schema_content_hash(schema_text);
  std::string header = std::string(kEvalLogMagic) + " " + std::to_string(kEvalLogVersion) +
                       "\nschema " + hex16(hash) + " " + schema_name + "\n";
  std::unique_ptr<PersistentSession> session(new PersistentSession(
      std::move(store).value(), directory, std::move(header), runner));
  if (Status s = session->replay(hash, schema_name); !s.is_ok()) return s;
  return session;
}

Status PersistentSession::replay(std::uint64_t schema_hash, const std::string& schema_name) {
  persistence::LogCursor cursor = store_->log_cursor(0);
  std::string discarded;
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
    auto corrupt = [&](const std::string& what) {
      return Status(StatusCode::corruption, where + what);
    };
    std::string_view rest = entry->batch;
    std::string_view line;
    // Header line 1: magic and format version.
    if (!next_line(&rest, &line) || !line.starts_with(kEvalLogMagic) ||
        line.size() <= kEvalLogMagic.size() || line[kEvalLogMagic.size()] != ' ') {
      return corrupt("not an `mgraph eval` log entry (no '" + std::string(kEvalLogMagic) +
                     "' header)");
    }
    const std::string_view version = line.substr(kEvalLogMagic.size() + 1);
    if (version != std::to_string(kEvalLogVersion)) {
      return Status(StatusCode::failed_precondition,
                    where + "log format version " + std::string(version) +
                        ", this build reads version " + std::to_string(kEvalLogVersion));
    }
    // Header line 2: "schema HASH NAME".
    if (!next_line(&rest, &line) || !line.starts_with("schema ") || line.size() < 7 + 16) {
      return corrupt("missing the schema line of the header");
    }
    const std::string_view logged_hash = line.substr(7, 16);
    const std::string_view logged_name = line.size() > 24 ? line.substr(24) : std::string_view{};
    if (logged_hash != hex16(schema_hash)) {
      return Status(StatusCode::failed_precondition,
                    where + "written for another schema ('" + std::string(logged_name) +
                        "', content hash " + std::string(logged_hash) + "), not for '" +
                        schema_name + "' (content hash " + hex16(schema_hash) +
                        "); use the schema the data directory was created with, or another "
                        "--data directory");
    }
    // Body: "+ line" (succeeded when logged) or "! line" (failed), the last one ending
    // the epoch.
    std::size_t n = 0;
    std::string_view last_cmd;
    bool last_ok = false;
    while (next_line(&rest, &line)) {
      ++n;
      if (line.size() < 2 || (line[0] != '+' && line[0] != '!') || line[1] != ' ')
        return corrupt("line " + std::to_string(n) + " of the batch is malformed");
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
      last_cmd = command_of(text);
      last_ok = ok;
    }
    if (n == 0 || !last_ok || !ends_epoch(last_cmd))
      return corrupt("the batch does not end with a successful commit, undo or redo");
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

Status PersistentSession::run_line(std::string_view line, std::size_t line_no, std::string* out,
                                   bool* line_ok) {
  *line_ok = runner_->run_line(line, line_no, out);
  const std::string_view cmd = command_of(line);
  // Oversized lines fail before running; they changed nothing and are not logged.
  if (!is_logged(cmd) || line.size() > schema::kScriptLineMax) return Status::ok();
  pending_ += *line_ok ? "+ " : "! ";
  pending_ += line;
  pending_ += '\n';
  if (*line_ok && ends_epoch(cmd)) return log_epoch();
  return Status::ok();
}

Status PersistentSession::log_epoch() {
  const std::uint64_t epoch = last_epoch_ + 1;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto time_ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  std::string batch = header_;
  batch += pending_;
  persistence::WriteBatch wb;
  wb.append_log(epoch, time_ns, batch);
  if (Status s = store_->write(wb); !s.is_ok()) {
    return Status(s.code(), directory_ + ": cannot log epoch " + std::to_string(epoch) + ": " +
                                s.message());
  }
  last_epoch_ = epoch;
  pending_.clear();
  return Status::ok();
}

}  // namespace mgraph::node

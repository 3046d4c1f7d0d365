#include "watch_command.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "client_login.hpp"
#include "client_retry.hpp"
#include "command_line.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/codec/watch_target.hpp"
#include "mgraph/graph/schema/schema.hpp"

namespace mgraph::node {
namespace {

/// Epochs asked for in one poll.
constexpr std::uint32_t kWatchBatch = 256;

/// Why `target` names nothing in `schema`; ok when it names an entity (and its field).
Status check_target(const schema::Schema& schema, const codec::WatchTarget& target) {
  const std::uint32_t e = schema.find_entity(target.entity);
  if (e == schema::kNone) {
    return Status(StatusCode::not_found, "unknown entity '" + target.entity + "' (the cluster serves " +
                                             schema.source.name + ")");
  }
  if (target.record == 0) return Status::ok();
  if (schema.entities[e].find_field(target.field) == schema::kNone) {
    return Status(StatusCode::not_found, "entity " + target.entity + " has no field '" + target.field + "'");
  }
  return Status::ok();
}

/// A `get` of each field target: what watchValues reads.
session::Batch gets_of(const std::vector<codec::WatchTarget>& targets) {
  session::Batch batch;
  for (const codec::WatchTarget& t : targets) {
    if (t.record == 0) continue;
    session::Op op;
    op.kind = session::OpKind::get;
    // Named with its entity, so that a record of another entity is refused (StoreExecutor).
    op.refs.push_back(session::RecordRef{t.record, {}, t.entity + "#" + std::to_string(t.record)});
    op.name = t.field;
    op.text = t.entity + "#" + std::to_string(t.record) + "." + t.field;
    batch.push_back(std::move(op));
  }
  return batch;
}

/// Where a subscriber goes on from (--cursor FILE).
struct Cursor {
  std::uint64_t epoch = 0;
  std::uint64_t log = 0;  ///< 0: not known yet
  std::vector<std::string> targets;
};

/// The cursor in `path`; none when the file does not exist. Errors name the file.
Result<std::optional<Cursor>> read_cursor(const std::string& path) {
  std::error_code missing;
  if (!std::filesystem::exists(path, missing) && !missing) return std::optional<Cursor>();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::io_error, path + ": cannot be read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (!j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_unsigned() || !j.contains("log") ||
      !j["log"].is_number_unsigned() || !j.contains("targets") || !j["targets"].is_array()) {
    return Status(StatusCode::invalid_argument,
                  path + ": not a cursor of mgraph watch (expected {\"epoch\":E,\"log\":L,\"targets\":[...]})");
  }
  Cursor c;
  c.epoch = j["epoch"].get<std::uint64_t>();
  c.log = j["log"].get<std::uint64_t>();
  for (const nlohmann::json& t : j["targets"]) {
    if (!t.is_string()) return Status(StatusCode::invalid_argument, path + ": a target that is not a string");
    c.targets.push_back(t.get<std::string>());
  }
  return std::optional<Cursor>(std::move(c));
}

/// Replaces `path` with `c` whole (a new file renamed over it): a reader never sees half.
Status write_cursor(const std::string& path, const Cursor& c) {
  nlohmann::ordered_json j;
  j["epoch"] = c.epoch;
  j["log"] = c.log;
  j["targets"] = c.targets;
  const std::string next = path + ".next";
  {
    std::ofstream out(next, std::ios::binary | std::ios::trunc);
    out << j.dump() << "\n";
    out.flush();
    if (!out) return Status(StatusCode::io_error, next + ": " + std::strerror(errno));
  }
  if (std::rename(next.c_str(), path.c_str()) != 0) {
    return Status(StatusCode::io_error, path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace

int run_watch(const WatchOptions& o, std::ostream& out, std::ostream& err) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(o.connect, &host, &port)) {
    err << "mgraph watch: --connect " << o.connect << ": expected HOST:PORT with a port in 1..65535\n";
    return 2;
  }
  Result<std::vector<codec::WatchTarget>> targets = codec::parse_watch_targets(o.targets);
  if (!targets.is_ok()) {
    err << "mgraph watch: " << targets.status().message() << "\n";
    return 2;
  }
  if (Status s = check_token(o.token); !s.is_ok()) {
    err << "mgraph watch: " << s.message() << "\n";
    return 2;
  }
  const std::uint32_t wait_ms = static_cast<std::uint32_t>(o.wait_ms);
  const std::chrono::milliseconds timeout(o.timeout_ms + o.wait_ms);
  auto connection = codec::ClientConnection::connect(host, port, timeout, o.token);
  if (!connection.is_ok()) {
    err << "mgraph watch: " << o.connect << ": " << client_failure(connection.status(), !o.token.empty()) << "\n";
    return 3;
  }
  // The names are checked against the schema the cluster serves.
  Result<codec::SchemaInfo> info = (*connection)->schema();
  if (!info.is_ok()) {
    err << "mgraph watch: schema: " << client_failure(info.status(), !o.token.empty()) << "\n";
    return 3;
  }
  auto compiled = schema::compile_schema(schema::SourceFile{info->name, info->source});
  if (!compiled.is_ok()) {
    err << "mgraph watch: the cluster's schema " << info->name << ": " << compiled.status().message() << "\n";
    return 3;
  }
  for (const codec::WatchTarget& t : *targets) {
    if (Status s = check_target(**compiled, t); !s.is_ok()) {
      err << "mgraph watch: " << s.message() << "\n";
      return 2;
    }
  }
  // The cursor kept in a file: where to go on from, if it was kept before.
  std::optional<Cursor> kept;
  if (!o.cursor.empty()) {
    Result<std::optional<Cursor>> read = read_cursor(o.cursor);
    if (!read.is_ok()) {
      err << "mgraph watch: --cursor " << read.status().message() << "\n";
      return 2;
    }
    kept = std::move(read).value();
    if (kept) {
      std::vector<std::string> theirs = kept->targets, ours = o.targets;
      std::sort(theirs.begin(), theirs.end());
      std::sort(ours.begin(), ours.end());
      if (theirs != ours) {
        std::string names;
        for (const std::string& t : kept->targets) names += (names.empty() ? "" : " ") + t;
        err << "mgraph watch: --cursor " << o.cursor << ": the cursor of other targets (" << names
            << "): watch those, or give another file\n";
        return 2;
      }
    }
  }
  // The log the cursor numbers epochs of, once a snapshot or a poll told it
  // (WatchValues::log, WatchAnswer::log).
  std::optional<std::uint64_t> log;
  if (kept && kept->log != 0) log = kept->log;
  // Keeps the cursor in its file, if any: after every line printed.
  auto keep = [&](std::uint64_t epoch) -> Status {
    if (o.cursor.empty()) return Status::ok();
    return write_cursor(o.cursor, Cursor{epoch, log.value_or(0), o.targets});
  };
  std::uint64_t printed = 0;
  auto done = [&] { return (o.count != 0 && printed >= o.count) || (o.stop && o.stop()); };
  auto print = [&](const nlohmann::ordered_json& line) {
    out << line.dump() << "\n" << std::flush;
    ++printed;
  };
  // The current values of the field targets and the epoch they follow; `strict`: a record
  // that does not exist is an error (when starting), else it is left out (deleted since).
  const session::Batch gets = gets_of(*targets);
  std::vector<std::string> entities;  // watched whole
  for (const codec::WatchTarget& t : *targets) {
    if (t.record == 0 && std::find(entities.begin(), entities.end(), t.entity) == entities.end()) {
      entities.push_back(t.entity);
    }
  }
  auto snapshot = [&](bool strict, std::optional<std::uint64_t> resumed_from) -> Result<std::uint64_t> {
    Result<codec::WatchValues> values = (*connection)->watch_values(gets, entities);
    if (!values.is_ok()) return values.status();
    if (values->log != 0) log = values->log;
    nlohmann::ordered_json changes = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < gets.size(); ++i) {
      const session::OpResult& r = values->results[i];
      if (!r.status.is_ok()) {
        if (strict) return Status(StatusCode::not_found, gets[i].text + ": " + r.status.message());
        continue;
      }
      const std::size_t dot = gets[i].text.rfind('.');
      nlohmann::ordered_json c;
      c["ref"] = gets[i].text.substr(0, dot);
      c["field"] = gets[i].name;
      c["value"] = nlohmann::ordered_json::parse(r.value.to_json());
      c["version"] = r.version;
      changes.push_back(std::move(c));
    }
    const nlohmann::ordered_json records = nlohmann::ordered_json::parse(values->records, nullptr, false);
    if (!records.is_array()) return Status(StatusCode::corruption, "the cluster sent no records: " + values->records);
    for (const nlohmann::ordered_json& c : records) changes.push_back(c);
    nlohmann::ordered_json line;
    line["epoch"] = values->epoch;
    line["snapshot"] = true;
    if (resumed_from) line["resumed_from"] = *resumed_from;
    line["changes"] = std::move(changes);
    print(line);
    if (Status s = keep(values->epoch); !s.is_ok()) return Status(StatusCode::failed_precondition, "--cursor " + s.message());
    return values->epoch;
  };
  std::uint64_t from = 0;
  if (kept) {
    from = kept->epoch;
  } else if (o.from) {
    from = *o.from;
  } else {
    Result<std::uint64_t> at = snapshot(true, std::nullopt);
    if (!at.is_ok()) {
      err << "mgraph watch: " << client_failure(at.status(), !o.token.empty()) << "\n";
      return at.status().code() == StatusCode::not_found ? 2 : 4;
    }
    from = *at;
  }
  // After a failure for want of the cluster: connects again (client_retry.hpp), until it
  // is connected (true) or retry_ms passed since the failure, or it is stopped.
  auto reach_again = [&](const Status& failure, const char* what) -> bool {
    if (o.retry_ms <= 0 || !out_of_reach(failure)) return false;
    err << "mgraph watch: " << what << ": " << client_failure(failure, !o.token.empty()) << "; trying again from epoch "
        << from << " for up to " << o.retry_ms << " ms\n";
    auto again = connect_again(host, port, timeout, o.token, o.retry_ms, o.pause ? o.pause : sleep_pause, done);
    if (!again) return false;
    *connection = std::move(again);
    err << "mgraph watch: connected again; going on from epoch " << from << "\n";
    return true;
  };
  while (!done()) {
    const std::uint32_t ask = o.count == 0 ? kWatchBatch
                                           : static_cast<std::uint32_t>(
                                                 std::min<std::uint64_t>(kWatchBatch, o.count - printed));
    Result<codec::WatchAnswer> got = (*connection)->watch(o.targets, from, ask, wait_ms);
    if (!got.is_ok()) {
      if (reach_again(got.status(), "poll")) continue;
      if (done()) return 0;
      err << "mgraph watch: poll: " << client_failure(got.status(), !o.token.empty()) << "\n";
      return got.status().code() == StatusCode::invalid_argument ? 2 : 4;
    }
    // Another log than the cursor's (the coordinator started again on a new one): its epoch
    // numbers are not the cursor's, so the subscriber resumes from its values.
    // (The log is noted by the resume's snapshot: a failed one is tried again as such.)
    const bool other_log = log && got->log != 0 && got->log != *log;
    if (!log && got->log != 0) log = got->log;
    if (got->resume || other_log) {
      const std::optional<std::uint64_t> before = log;
      Result<std::uint64_t> at = snapshot(false, from);
      if (!at.is_ok()) {
        if (reach_again(at.status(), "resume")) continue;
        if (done()) return 0;
        err << "mgraph watch: resume: " << client_failure(at.status(), !o.token.empty()) << "\n";
        return 4;
      }
      from = *at;
      if (log == before && got->log != 0) log = got->log;  // the snapshot did not say
      continue;
    }
    for (const std::string& text : got->epochs) {
      // Read back and printed by nlohmann-json: one valid line whatever the server sent.
      const nlohmann::ordered_json e = nlohmann::ordered_json::parse(text, nullptr, false);
      if (e.is_discarded() || !e.contains("epoch") || !e["epoch"].is_number_unsigned() || !e.contains("changes")) {
        err << "mgraph watch: the cluster sent no epoch: " << text << "\n";
        return 4;
      }
      print(e);
      if (Status s = keep(e["epoch"].get<std::uint64_t>()); !s.is_ok()) {
        err << "mgraph watch: --cursor " << s.message() << "\n";
        return 4;
      }
      if (done()) return 0;
    }
    if (got->through > from) {
      from = got->through;
      if (Status s = keep(from); !s.is_ok()) {
        err << "mgraph watch: --cursor " << s.message() << "\n";
        return 4;
      }
    }
  }
  return 0;
}

}  // namespace mgraph::node

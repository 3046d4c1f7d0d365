#include "mgraph/session/script_runner.hpp"

namespace mgraph::session {

ScriptRunner::ScriptRunner(std::shared_ptr<const schema::Schema> schema,
                           schema::StoreOptions options, PrintOptions print)
    : store_(std::make_unique<schema::Store>(std::move(schema), options)),
      backend_(*store_),
      client_(backend_, ClientOptions{.batch_transactions = false, .print = print}) {}

bool ScriptRunner::run_line(std::string_view line, std::size_t line_no, std::string* out,
                            AppliedBatch* applied) {
  if (command_word(line) == "clock") {
    return client_.run_classified(Classified{clock_op(line), {}}, line_no, out, applied) == 0;
  }
  return client_.run_line(line, line_no, out, applied) == 0;
}

Op ScriptRunner::clock_op(std::string_view line) {
  Op op;
  auto invalid = [&](std::string message) {
    op.kind = OpKind::invalid;
    op.error = Status(StatusCode::invalid_argument, std::move(message));
    return op;
  };
  std::string_view arg = line.substr(line.find("clock") + 5);
  const auto trim = [](std::string_view s) {
    const std::size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return std::string_view{};
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
  };
  arg = trim(arg);
  if (const std::size_t hash = arg.find('#'); hash != std::string_view::npos)
    arg = trim(arg.substr(0, hash));
  static constexpr const char* kUsage =
      "clock takes now, +DURATION (+5s, +250ms, +1h) or a UTC time "
      "(2026-12-03T10:00:00Z)";
  if (arg.empty() || arg.find_first_of(" \t") != std::string_view::npos) {
    return invalid(std::string(kUsage));
  }
  Result<std::int64_t> now = store_->clock();
  if (!now.is_ok()) return invalid("clock: " + now.status().message());
  Result<std::int64_t> ms = now;
  if (arg == "now") {
    ms = wall_clock_();
  } else if (arg.front() == '+') {
    Result<std::int64_t> d = parse_duration_ms(arg.substr(1));
    if (!d.is_ok()) return invalid("clock: " + d.status().message() + " (" + kUsage + ")");
    ms = *now + *d;
  } else {
    ms = parse_utc_ms(arg);
    if (!ms.is_ok()) return invalid("clock: " + ms.status().message() + " (" + kUsage + ")");
  }
  if (*ms < 0 || *ms > kTimeMsMax) {
    return invalid("clock: " + std::to_string(*ms) + " ms is outside the clock's range");
  }
  if (*ms < *now) {
    return invalid("the clock does not go back: it is " + format_utc_ms(*now) + ", not " +
                   format_utc_ms(*ms) + " (undo takes a tick back)");
  }
  op.kind = OpKind::update;
  RecordRef global;
  global.id = schema::kGlobalRecord;
  global.text = std::string(kGlobalRef);
  op.refs.push_back(std::move(global));
  op.values.emplace_back(std::string(schema::kClockField), Value(*ms));
  return op;
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

Result<NodeId> ScriptRunner::field_node(std::string_view ref_field) const {
  const std::size_t dot = ref_field.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == ref_field.size()) {
    std::string message(ref_field);
    message.append(" is not REF.field");
    return Status(StatusCode::invalid_argument, std::move(message));
  }
  Result<RecordId> id = client_.record(ref_field.substr(0, dot));
  if (!id.is_ok()) return id.status();
  return store_->node_of(*id, ref_field.substr(dot + 1));
}

Result<schema::RunnerImage> ScriptRunner::export_image() {
  Result<schema::StoreImage> s = store_->export_image();
  if (!s.is_ok()) return s.status();
  schema::RunnerImage im;
  im.store = std::move(s).value();
  im.aliases.assign(client_.aliases().begin(), client_.aliases().end());
  return im;
}

Status ScriptRunner::import_image(schema::RunnerImage im) {
  if (!client_.aliases().empty()) {
    return Status(StatusCode::failed_precondition,
                  "import_image() needs a new runner; this one already named records");
  }
  for (auto& [name, id] : im.aliases) {
    if (id == 0 || id > im.store.records.size()) {
      return Status(StatusCode::invalid_argument,
                    "store image: alias '" + name + "' names no record");
    }
  }
  if (Status s = store_->import_image(std::move(im.store)); !s.is_ok()) return s;
  std::map<std::string, RecordId, std::less<>> aliases;
  for (auto& [name, id] : im.aliases) aliases.emplace(std::move(name), id);
  client_.set_aliases(std::move(aliases));
  return Status::ok();
}

}  // namespace mgraph::session

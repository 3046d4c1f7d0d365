#include "mgraph/session/script_runner.hpp"

namespace mgraph::session {

ScriptRunner::ScriptRunner(std::shared_ptr<const schema::Schema> schema,
                           schema::StoreOptions options, PrintOptions print)
    : store_(std::make_unique<schema::Store>(std::move(schema), options)),
      backend_(*store_),
      client_(backend_, ClientOptions{.batch_transactions = false, .print = print}) {}

bool ScriptRunner::run_line(std::string_view line, std::size_t line_no, std::string* out,
                            AppliedBatch* applied) {
  return client_.run_line(line, line_no, out, applied) == 0;
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
  Result<std::pair<RecordId, std::string_view>> ref = client_.field_ref(ref_field);
  if (!ref.is_ok()) return ref.status();
  return store_->node_of(ref->first, ref->second);
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

#include "mgraph/session/printer.hpp"

#include "mgraph/graph/json.hpp"

namespace mgraph::session {

std::string error_line(const Status& status, std::size_t line_no) {
  return json::Object()
      .str("error", status.message())
      .str("code", status_code_name(status.code()))
      .unum("line", line_no)
      .line();
}

bool print_result(const Op& op, const OpResult& result, std::size_t line_no,
                  const PrintOptions& options, std::string* out) {
  if (!result.status.is_ok()) {
    *out += error_line(result.status, line_no);
    return false;
  }
  switch (op.kind) {
    case OpKind::get:
      if (op.at) {
        // A past value has no version: versions count changes up to now.
        *out += json::Object()
                    .str("get", op.text)
                    .raw("value", result.value.to_json())
                    .unum("at", result.revision)
                    .line();
        break;
      }
      {
        json::Object line;
        line.str("get", op.text)
            .raw("value", result.value.to_json())
            .unum("version", result.version)
            .unum("revision", result.revision);
        // A failed or blocked field shows its last good value, and why it is not newer.
        if (result.state != FieldState::ok) {
          line.str("state", field_state_name(result.state));
          if (result.state == FieldState::blocked) line.str("blocked_by", result.cause);
          line.str("reason", result.reason);
        }
        *out += line.line();
      }
      break;
    case OpKind::explain:
    case OpKind::dot:
      *out += result.text + "\n";
      break;
    case OpKind::resolve:
      // Whether the result was written, or superseded by a newer request.
      *out += json::Object()
                  .str("resolve", (op.refs.empty() ? std::string() : op.refs[0].text) + "." + op.name)
                  .unum("version", op.at.value_or(0))
                  .str("outcome", result.text)
                  .line();
      break;
    case OpKind::commit:
    case OpKind::undo:
    case OpKind::redo:
      if (options.echo_transitions) {
        *out += json::Object()
                    .unum(op_kind_name(op.kind), result.revision)
                    .unum("changed", result.changed)
                    .line();
      }
      break;
    default:
      break;
  }
  return true;
}

}  // namespace mgraph::session

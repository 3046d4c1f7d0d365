#include "mgraph/session/printer.hpp"

#include <nlohmann/json.hpp>

namespace mgraph::session {
namespace {

/// A JSON string; bytes that are not UTF-8 become U+FFFD, so the line stays valid JSON.
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string error_line(const Status& status, std::size_t line_no) {
  return "{\"error\":" + quoted(status.message()) + ",\"code\":\"" +
         status_code_name(status.code()) + "\",\"line\":" + std::to_string(line_no) + "}\n";
}

bool print_result(const Op& op, const OpResult& result, std::size_t line_no,
                  const PrintOptions& options, std::string* out) {
  if (!result.status.is_ok()) {
    *out += error_line(result.status, line_no);
    return false;
  }
  switch (op.kind) {
    case OpKind::get:
      *out += "{\"get\":" + quoted(op.text) + ",\"value\":" + result.value.to_json() +
              ",\"version\":" + std::to_string(result.version) +
              ",\"revision\":" + std::to_string(result.revision) + "}\n";
      break;
    case OpKind::explain:
    case OpKind::dot:
      *out += result.text + "\n";
      break;
    case OpKind::commit:
    case OpKind::undo:
    case OpKind::redo:
      if (options.echo_transitions) {
        *out += std::string("{\"") + op_kind_name(op.kind) +
                "\":" + std::to_string(result.revision) +
                ",\"changed\":" + std::to_string(result.changed) + "}\n";
      }
      break;
    default:
      break;
  }
  return true;
}

}  // namespace mgraph::session

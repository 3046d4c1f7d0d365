#include "admin_commands.hpp"

#include <nlohmann/json.hpp>
#include <utility>

namespace mgraph::node {
namespace {

using Json = nlohmann::ordered_json;  // keys in the documented order

/// One line of JSON; bytes that are not UTF-8 are replaced, never printed raw.
std::string line_of(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string status_answer(const NodeStatus& s) {
  Json j{{"node", s.node},
         {"listen", s.listen},
         {"coordinator", s.coordinator},
         {"partitions", s.partitions},
         {"epochs", Json{{"committed", s.committed->load()},
                         {"aborted", s.aborted->load()},
                         {"last", s.last->load()}}}};
  if (s.more) {
    const Json more = s.more();  // held: items() refers to it
    for (const auto& [key, value] : more.items()) j[key] = value;
  }
  return line_of(j);
}

}  // namespace

AdminServer::Handler admin_commands(NodeStatus status, std::function<void()> shutdown) {
  return [status = std::move(status),
          shutdown = std::move(shutdown)](const std::string& command) -> std::string {
    if (command == "status") return status_answer(status);
    if (command == "shutdown") {
      shutdown();
      return line_of(Json{{"shutdown", status.node}});
    }
    if (command == "help")
      return line_of(Json{{"commands", Json::array({"status", "shutdown", "help"})}});
    return error_answer("unknown command '" + command + "'; try help");
  };
}

}  // namespace mgraph::node

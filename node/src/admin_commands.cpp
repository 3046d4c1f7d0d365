#include "admin_commands.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "node_state.hpp"

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
  if (s.partitions_work) j["partition_work"] = s.partitions_work();
  return line_of(j);
}

/// The words of a command line, split at spaces.
std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// `epochs [N | --last N]`: the last N epochs (default kEpochsShownDefault, at most
/// kRecentEpochsMax).
std::string epochs_answer(const NodeStatus& s, const std::vector<std::string>& args) {
  std::size_t n = kEpochsShownDefault;
  std::string count;
  if (args.size() == 1) count = args[0];
  if (args.size() == 2 && args[0] == "--last") count = args[1];
  if (args.size() > 2 || (args.size() == 2 && args[0] != "--last")) {
    return error_answer("usage: epochs [--last N]");
  }
  if (!count.empty()) {
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
    if (ec != std::errc() || end != count.data() + count.size() || n < 1 || n > kRecentEpochsMax) {
      return error_answer("epochs --last N: N must be an integer in [1, " + std::to_string(kRecentEpochsMax) +
                          "], not '" + count + "'");
    }
  }
  Json j{{"node", s.node}, {"coordinator", s.coordinator}};
  j["epochs"] = s.epochs ? s.epochs(n) : Json::array();
  return line_of(j);
}

}  // namespace

AdminServer::Handler admin_commands(NodeStatus status, std::function<void()> shutdown) {
  return [status = std::move(status),
          shutdown = std::move(shutdown)](const std::string& command) -> std::string {
    const std::vector<std::string> words = words_of(command);
    const std::string word = words.empty() ? std::string() : words[0];
    const std::vector<std::string> args(words.empty() ? words.end() : words.begin() + 1, words.end());
    if (word == "epochs") return epochs_answer(status, args);
    if (word == "partitions" && args.empty()) {
      return line_of(Json{{"node", status.node},
                          {"partitions", status.partitions_work ? status.partitions_work() : Json::array()}});
    }
    if (command == "status") return status_answer(status);
    if (command == "shutdown") {
      shutdown();
      return line_of(Json{{"shutdown", status.node}});
    }
    if (command == "help")
      return line_of(Json{{"commands", Json::array({"status", "partitions", "epochs [--last N]", "shutdown", "help"})}});
    return error_answer("unknown command '" + command + "'; try help");
  };
}

}  // namespace mgraph::node

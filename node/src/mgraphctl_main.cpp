// mgraphctl: the node-local admin client. Sends one command to an mgraphd node's admin
// socket (mgraphd --admin PATH) and prints its JSON answer.
//
//   mgraphctl --socket /run/mgraph/n1.sock status
//   mgraphctl --socket /run/mgraph/n1.sock shutdown
//
// Exit codes: 0 the node answered ok, 1 it answered with an error, 2 bad arguments,
// 3 the node could not be reached or its answer is not JSON.

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "admin_server.hpp"
#include "command_line.hpp"

namespace {

/// True when `answer` is an error answer: a JSON object with an "error" key.
bool is_error(const nlohmann::json& answer) {
  return answer.is_object() && answer.contains("error");
}

}  // namespace

int main(int argc, char** argv) {
  // A node that closes the connection early makes a write fail with EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"mgraphctl: admin commands for one mgraphd node"};
  std::string socket;
  std::string command;
  app.add_option("--socket", socket, "The node's admin socket (mgraphd --admin PATH)")->required();
  app.add_option("command", command, "status, shutdown or help")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  if (command.find('\n') != std::string::npos) {
    std::cerr << "mgraphctl: a command is one line\n";
    return 2;
  }
  const mgraph::Result<std::string> answer = mgraph::node::admin_request(socket, command);
  if (!answer.is_ok()) {
    std::cerr << "mgraphctl: " << answer.status().message() << "\n";
    return 3;
  }
  const nlohmann::json parsed = nlohmann::json::parse(*answer, nullptr, false);
  if (parsed.is_discarded()) {
    std::cerr << "mgraphctl: " << socket << ": the answer is not JSON: " << *answer << "\n";
    return 3;
  }
  std::cout << *answer << "\n";
  return is_error(parsed) ? 1 : 0;
}

// mgraphctl: the node-local admin client. Sends one command to an mgraphd node's admin
// socket (mgraphd --admin PATH) and prints its JSON answer.
//
//   mgraphctl --socket /run/mgraph/n1.sock status
//   mgraphctl --socket /run/mgraph/n1.sock shutdown
//
// Exit codes: 0 the node answered ok, 1 it answered with an error, 2 bad arguments,
// 3 the node could not be reached.

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <string>

#include "admin_server.hpp"
#include "command_line.hpp"

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
  const mgraph::Result<std::string> answer = mgraph::node::admin_request(socket, command);
  if (!answer.is_ok()) {
    std::cerr << "mgraphctl: " << answer.status().message() << "\n";
    return 3;
  }
  std::cout << *answer << "\n";
  return answer->rfind("{\"error\"", 0) == 0 ? 1 : 0;
}

// mgraphd: one node of an mgraph cluster, serving the user's schema to clients until it is
// stopped (SIGTERM, SIGINT or `mgraphctl shutdown`). The wiring is in service.hpp; this file
// reads the command line and the configuration.
//
//   mgraphd --config cluster-configs/local-3.toml --node n1 [--data DIR] [--admin PATH]
//           [--metrics HOST:PORT] [--port-file FILE] [--peer NAME=HOST:PORT ...]
//           [--log-level trace|debug|info|warn|error|off]
//
// Exit codes: 0 stopped as asked, 2 bad arguments, configuration or schema (or refused by
// the coordinator), 3 network or storage failure.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>
#include <string>
#include <vector>

#include "cluster_config.hpp"
#include "command_line.hpp"
#include "huge_pages.hpp"
#include "log.hpp"
#include "service.hpp"

namespace {

/// NAME=HOST:PORT with a port of digits only in 1..65535.
bool parse_peer(const std::string& text, std::string* name, std::string* host,
                std::uint16_t* port) {
  const std::size_t eq = text.find('='), colon = text.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq) return false;
  unsigned value = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last || first == last || value == 0 || value > 65535) return false;
  *name = text.substr(0, eq);
  *host = text.substr(eq + 1, colon - eq - 1);
  *port = static_cast<std::uint16_t>(value);
  return !name->empty() && !host->empty();
}

}  // namespace

int main(int argc, char** argv) {
  // Checkpoints load into fresh memory: on huge pages (huge_pages.hpp).
  mgraph::node::use_huge_pages(argv);
  // A client that leaves while the node writes to it must not stop the node.
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"mgraphd: one node of an mgraph cluster, serving a schema to clients"};
  mgraph::node::ServiceOptions o;
  std::vector<std::string> peers;
  app.add_option("--config", o.config_path, "Cluster configuration (TOML)")->required();
  app.add_option("--node", o.node, "This node's name in the configuration")->required();
  app.add_option("--port-file", o.port_file,
                 "Write {\"peer\":PORT,\"client\":PORT} to FILE once listening");
  app.add_option("--peer", peers, "NAME=HOST:PORT of another node (overrides the file)");
  app.add_option("--admin", o.admin, "Serve the admin socket (mgraphctl) at PATH");
  app.add_option("--data", o.data, "Coordinator: the epoch log's directory (LMDB)");
  app.add_option("--metrics", o.metrics, "Serve Prometheus metrics on HOST:PORT (0: any port)");
  app.add_option("--log-level", o.log_level,
                 "Log level at start: trace, debug, info, warn, error or off (default: the "
                 "configuration's [log] level, else info); the log goes to stderr")
      ->check([](const std::string& level) {
        const auto parsed = mgraph::node::log::parse_level(level);
        return parsed.is_ok() ? std::string() : parsed.status().message();
      });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  auto loaded = mgraph::node::load_cluster_config(o.config_path);
  if (!loaded.is_ok()) {
    std::cerr << "mgraphd: " << loaded.status().message() << "\n";
    return 2;
  }
  o.config = std::move(loaded).value();
  if (o.config.schema.empty()) {
    std::cerr << "mgraphd: " << o.config_path
              << ": [cluster] names no schema (schema = \"FILE.mgs\")\n";
    return 2;
  }
  for (const std::string& p : peers) {
    std::string name, host;
    std::uint16_t port = 0;
    if (!parse_peer(p, &name, &host, &port)) {
      std::cerr << "mgraphd: --peer " << p << ": expected NAME=HOST:PORT, PORT in 1..65535\n";
      return 2;
    }
    if (o.config.find(name) == nullptr) {
      std::cerr << "mgraphd: --peer " << p << ": no node named '" << name << "'\n";
      return 2;
    }
    o.peers[name] = {host, port};
  }
  const int code = mgraph::node::run_service(o);
  if (code == 0) std::cout << "mgraphd " << o.node << ": stopped" << std::endl;
  return code;
}

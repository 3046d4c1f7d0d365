// mgraphctl: the node-local admin client. Sends one command to an mgraphd node's admin
// socket (mgraphd --admin PATH) and prints its answer: as readable lines and tables, or
// with --json as the node's JSON object (one line, for scripts).
//
//   mgraphctl --socket /run/mgraph/n1.sock status
//   mgraphctl --socket /run/mgraph/n1.sock partitions
//   mgraphctl --socket /run/mgraph/n1.sock epochs --last 50
//   mgraphctl --socket /run/mgraph/n1.sock explain Order#1.total --depth 2
//   mgraphctl --socket /run/mgraph/n1.sock dot Order#1.total > total.dot
//   mgraphctl --socket /run/mgraph/n1.sock log-level debug
//   mgraphctl --socket /run/mgraph/n1.sock drain --timeout 30
//   mgraphctl --json --socket /run/mgraph/n1.sock status
//   mgraphctl --socket /run/mgraph/n1.sock shutdown
//
// Each command is a subcommand with its own --help. Any other word is sent as it is, and
// the node answers an unknown command with an error.
//
// Exit codes: 0 the node answered ok, 1 it answered with an error (or drain timed out),
// 2 bad arguments, 3 the node could not be reached or its answer is not JSON.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <thread>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin_server.hpp"
#include "command_line.hpp"

namespace {

using Json = nlohmann::ordered_json;  // the node's order of keys

/// How often `drain` asks the node again while transactions are in flight: an answer
/// needs a round trip of the clients', milliseconds.
constexpr std::chrono::milliseconds kDrainPoll{20};

/// True when `answer` is an error answer: a JSON object with an "error" key.
bool is_error(const Json& answer) { return answer.is_object() && answer.contains("error"); }

/// A value in a line or a cell: strings bare, the rest as JSON.
std::string cell(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool is_table(const Json& v) {
  return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const Json& r) { return r.is_object(); });
}

/// Rows of objects as a table: the first row's keys are the columns.
void print_table(const Json& rows, const std::string& indent, std::ostream& out) {
  std::vector<std::string> columns;
  for (const auto& [key, value] : rows.front().items()) columns.push_back(key);
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) width[c] = columns[c].size();
  for (const Json& row : rows) {
    std::vector<std::string> line;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      line.push_back(row.contains(columns[c]) ? cell(row[columns[c]]) : "-");
      width[c] = std::max(width[c], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  auto print_row = [&](const std::vector<std::string>& line) {
    out << indent;
    for (std::size_t c = 0; c < line.size(); ++c) {
      out << line[c];
      if (c + 1 < line.size()) out << std::string(width[c] - line[c].size() + 2, ' ');
    }
    out << "\n";
  };
  print_row(columns);
  for (const auto& line : cells) print_row(line);
}

/// An answer as lines: "key: value", nested objects indented, lists of objects as tables.
void print_readable(const Json& j, const std::string& indent, std::ostream& out) {
  for (const auto& [key, value] : j.items()) {
    if (value.is_object()) {
      out << indent << key << ":\n";
      print_readable(value, indent + "  ", out);
    } else if (is_table(value)) {
      out << indent << key << ":\n";
      print_table(value, indent + "  ", out);
    } else if (value.is_array()) {
      std::string list;
      for (const Json& v : value) list += (list.empty() ? "" : ", ") + cell(v);
      out << indent << key << ": " << (list.empty() ? "none" : list) << "\n";
    } else {
      const std::string c = cell(value);
      out << indent << key << ":" << (c.empty() ? "" : " " + c) << "\n";
    }
  }
}

/// One field of an explain trace and its inputs, indented by level.
void print_trace(const Json& f, const std::string& indent, std::ostream& out) {
  out << indent << cell(f["name"]);
  if (f.contains("value")) out << " = " << cell(f["value"]);
  out << "  (" << cell(f["kind"]);
  if (f.contains("version")) out << ", version " << cell(f["version"]);
  out << ", partition " << cell(f["partition"]) << " on " << cell(f["node"]);
  if (f.value("remote", false)) out << ", remote: explain it on " << cell(f["node"]);
  if (f.contains("unanswered")) out << "; " << cell(f["unanswered"]);
  out << ")";
  if (f.contains("definition")) out << "  " << cell(f["definition"]);
  out << "\n";
  if (f.contains("inputs")) {
    for (const Json& in : f["inputs"]) print_trace(in, indent + "  ", out);
  }
  if (f.contains("inputs_shown_above")) {
    out << indent << "  (its " << cell(f["inputs_shown_above"]) << " inputs: above)\n";
  }
  if (f.contains("inputs_not_shown")) {
    out << indent << "  (" << cell(f["inputs_not_shown"]) << " more inputs, not shown: --depth)\n";
  }
}

/// Sends `command`; the parsed answer, or the exit code when there is none (3).
int request(const std::string& socket, const std::string& command, std::string* raw, Json* parsed) {
  const mgraph::Result<std::string> answer = mgraph::node::admin_request(socket, command);
  if (!answer.is_ok()) {
    std::cerr << "mgraphctl: " << answer.status().message() << "\n";
    return 3;
  }
  *raw = *answer;
  *parsed = Json::parse(*answer, nullptr, false);
  if (parsed->is_discarded() || !parsed->is_object()) {
    std::cerr << "mgraphctl: " << socket << ": the answer is not a JSON object: " << *answer << "\n";
    return 3;
  }
  return 0;
}

/// `drain`: asks again until nothing is in flight, or `timeout_s` has passed.
int drain(const std::string& socket, double timeout_s, std::string* raw, Json* parsed) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(timeout_s));
  // Bounded by the deadline; each pass one short request.
  for (;;) {
    if (const int rc = request(socket, "drain", raw, parsed); rc != 0) return rc;
    if (is_error(*parsed) || (*parsed)["drained"] == true) return 0;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::cerr << "mgraphctl: drain: " << cell((*parsed)["in_flight"])
                << " transactions still in flight after " << timeout_s << " s\n";
      return 1;
    }
    std::this_thread::sleep_for(kDrainPoll);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A node that closes the connection early makes a write fail with EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"mgraphctl: admin commands for one mgraphd node"};
  app.fallthrough();  // --socket and --json also after the command
  std::string socket;
  std::string raw_command;
  bool json = false;
  app.add_option("--socket", socket, "The node's admin socket (mgraphd --admin PATH)")->required();
  app.add_flag("--json", json, "Print the node's JSON answer (one line) instead of readable lines");
  app.add_option("command", raw_command,
                 "Any other command line, sent as it is (the node answers an unknown one with an "
                 "error)");
  std::string last, ref, level, depth;
  double timeout_s = 60;
  app.add_subcommand("status", "The node: name, addresses, partitions, peers, epochs counted");
  app.add_subcommand("partitions", "What each partition hosted on the node did");
  app.add_subcommand("epochs", "The coordinator's last epochs, oldest first")
      ->add_option("--last", last, "How many, 1 to 1024 (default 20)");
  CLI::App* explain = app.add_subcommand(
      "explain",
      "A field's dependency trace: its value, version, kind and definition, and its inputs "
      "down to --depth, across this node's partitions; inputs computed on another node are "
      "shown as references (partition, node), to explain there");
  explain->add_option("REF.field", ref, "The field: #N.field or Entity#N.field (record ids)")->required();
  explain->add_option("--depth", depth, "Levels of inputs shown, 0 to 16 (default 3)");
  CLI::App* dot = app.add_subcommand(
      "dot",
      "The graph in Graphviz dot as this node sees it (at most 2000 nodes), or a field's "
      "neighbourhood: the field and its inputs down to --depth");
  dot->add_option("REF.field", ref, "The field: #N.field or Entity#N.field (record ids)");
  dot->add_option("--depth", depth, "With REF.field: levels of inputs drawn, 0 to 16 (default 3)");
  app.add_subcommand("log-level", "Shows the node's log level, or sets it")
      ->add_option("LEVEL", level, "trace, debug, info, warn, error or off");
  app.add_subcommand("drain",
                     "Stops the node taking client transactions (new ones get \"unavailable: node "
                     "draining\") and waits until those in flight have their answers")
      ->add_option("--timeout", timeout_s, "Seconds to wait for the transactions in flight (default 60)")
      ->check(CLI::Range(0.0, 3600.0));
  std::string dlq_action, dlq_key;
  CLI::App* dlq = app.add_subcommand(
      "dlq", "The cluster's effect dead letters: list them, send one again (retry) or drop it");
  dlq->add_option("ACTION", dlq_action, "list, retry or drop")
      ->required()
      ->check(CLI::IsMember({"list", "retry", "drop"}));
  dlq->add_option("KEY", dlq_key, "retry, drop: the delivery's key, FIELD:VERSION");
  app.add_subcommand("consumers",
                     "The cluster's consumer groups: the group consuming each effect polled, its "
                     "last poll, and whether it still holds the effect");
  app.add_subcommand("checkpoint",
                     "Checkpoints every partition of the cluster now (each node into its --data "
                     "DIR/partitions) and compacts the coordinator's log; prints the epoch and the "
                     "images' size");
  app.add_subcommand("shutdown", "Stops the node; on the coordinator, after the current epoch, the cluster");
  app.add_subcommand("help", "The node's list of commands");
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->footer("Also: --socket PATH (required), the node's admin socket; --json, the node's JSON "
                "answer instead of readable lines. Exit codes: 0 ok, 1 the node answered an "
                "error, 2 bad arguments, 3 the node could not be reached.");
  }
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  const std::vector<CLI::App*> chosen = app.get_subcommands();
  if (chosen.empty() == raw_command.empty()) {
    std::cerr << "error: give one command\n\n" << app.help() << std::flush;
    return 2;
  }
  std::string command = chosen.empty() ? raw_command : chosen[0]->get_name();
  for (const std::string* arg : {&ref, &level, &dlq_action, &dlq_key}) {
    if (!arg->empty()) command += " " + *arg;
  }
  if (!last.empty()) command += " --last " + last;  // the node checks counts and names bad ones
  if (!depth.empty()) command += " --depth " + depth;
  if (command.find('\n') != std::string::npos) {
    std::cerr << "mgraphctl: a command is one line\n";
    return 2;
  }
  std::string raw;
  Json parsed;
  const int rc = command == "drain" ? drain(socket, timeout_s, &raw, &parsed)
                                    : request(socket, command, &raw, &parsed);
  if (rc != 0 && raw.empty()) return rc;
  if (json) {
    std::cout << raw << "\n";
  } else if (is_error(parsed)) {
    std::cerr << "mgraphctl: " << cell(parsed["error"]) << "\n";
  } else if (parsed.contains("dot")) {
    std::cout << cell(parsed["dot"]) << "\n";  // the graph itself, for dot -Tsvg
  } else if (parsed.contains("explain")) {
    print_trace(parsed["field"], "", std::cout);
  } else {
    print_readable(parsed, "", std::cout);
  }
  if (rc != 0) return rc;
  return is_error(parsed) ? 1 : 0;
}

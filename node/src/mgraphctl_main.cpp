// mgraphctl: the node-local admin client. Sends one command to an mgraphd node's admin
// socket (mgraphd --admin PATH) and prints its answer: as readable lines and tables, or
// with --json as the node's JSON object (one line, for scripts).
//
//   mgraphctl --socket /run/mgraph/n1.sock status
//   mgraphctl --socket /run/mgraph/n1.sock partitions
//   mgraphctl --socket /run/mgraph/n1.sock epochs --last 50
//   mgraphctl --json --socket /run/mgraph/n1.sock status
//   mgraphctl --socket /run/mgraph/n1.sock shutdown
//
// Exit codes: 0 the node answered ok, 1 it answered with an error, 2 bad arguments,
// 3 the node could not be reached or its answer is not JSON.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin_server.hpp"
#include "command_line.hpp"

namespace {

using Json = nlohmann::ordered_json;  // the node's order of keys

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

}  // namespace

int main(int argc, char** argv) {
  // A node that closes the connection early makes a write fail with EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"mgraphctl: admin commands for one mgraphd node"};
  std::string socket;
  std::string command;
  bool json = false;
  app.add_option("--socket", socket, "The node's admin socket (mgraphd --admin PATH)")->required();
  app.add_flag("--json", json, "Print the node's JSON answer (one line) instead of readable lines");
  std::string last;
  app.add_option("command", command,
                 "status | partitions | epochs (the coordinator's last epochs) | shutdown | help")
      ->required();
  app.add_option("--last", last, "With epochs: how many, 1 to 1024 (default 20)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  if (!last.empty()) {
    if (command != "epochs") {
      std::cerr << "error: --last is for the epochs command\n\n" << app.help() << std::flush;
      return 2;
    }
    command += " --last " + last;  // the node checks the count and names it if it is bad
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
  const Json parsed = Json::parse(*answer, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    std::cerr << "mgraphctl: " << socket << ": the answer is not a JSON object: " << *answer << "\n";
    return 3;
  }
  if (json) {
    std::cout << *answer << "\n";
  } else if (is_error(parsed)) {
    std::cerr << "mgraphctl: " << cell(parsed["error"]) << "\n";
  } else {
    print_readable(parsed, "", std::cout);
  }
  return is_error(parsed) ? 1 : 0;
}

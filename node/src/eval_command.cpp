#include "eval_command.hpp"

#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/schema/script.hpp"

namespace mgraph::node {
namespace {

/// Lines of REPL history kept; older ones are dropped.
constexpr std::size_t kHistoryMax = 1000;

bool read_file(const std::string& path, std::string* text) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *text = ss.str();
  return true;
}

// The REPL: `history` lists earlier lines, `!N` runs line N again.
int repl(schema::ScriptRunner& runner, std::istream& in, std::ostream& out) {
  std::vector<std::string> history;
  std::size_t errors = 0;
  std::string line;
  for (std::size_t n = 1;; ++n) {
    out << "mgraph> " << std::flush;
    if (!std::getline(in, line)) break;
    if (line == "history") {
      for (std::size_t i = 0; i < history.size(); ++i)
        out << "  " << i + 1 << "  " << history[i] << "\n";
      continue;
    }
    if (line.size() > 1 && line[0] == '!') {
      const std::size_t k = std::strtoul(line.c_str() + 1, nullptr, 10);
      if (k == 0 || k > history.size()) {
        out << "{\"error\":\"no history entry " << line.substr(1) << "\",\"line\":" << n << "}\n";
        continue;
      }
      line = history[k - 1];
      out << line << "\n";
    }
    if (history.size() == kHistoryMax) history.erase(history.begin());
    history.push_back(line);
    std::string printed;
    if (!runner.run_line(line, n, &printed)) ++errors;
    out << printed;
  }
  out << "\n";
  return errors == 0 ? 0 : 1;
}

}  // namespace

int run_eval(const EvalOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  schema::SourceFile file;
  file.name = options.schema_path;
  if (!read_file(options.schema_path, &file.text)) {
    err << options.schema_path << ": cannot read the schema file\n";
    return 2;
  }
  auto compiled = schema::compile_schema(file);
  if (!compiled.is_ok()) {
    err << compiled.status().message() << "\n";
    return 2;
  }
  schema::ScriptRunner runner(std::move(compiled).value());
  if (options.interactive) return repl(runner, in, out);
  std::string script;
  if (!options.script_path.empty()) {
    if (!read_file(options.script_path, &script)) {
      err << options.script_path << ": cannot read the script file\n";
      return 2;
    }
  } else {
    std::ostringstream ss;
    ss << in.rdbuf();
    script = ss.str();
  }
  std::string printed;
  const std::size_t errors = runner.run(script, &printed);
  out << printed << std::flush;
  return errors == 0 ? 0 : 1;
}

}  // namespace mgraph::node

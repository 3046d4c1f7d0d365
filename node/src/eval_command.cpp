#include "eval_command.hpp"

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/graph/schema/script.hpp"
#include "mgraph/node/persistent_session.hpp"

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

/// The command of a line that only a persistent session runs (checkpoint, history,
/// audit), or "" for every other line.
std::string_view session_command(std::string_view line) {
  const std::size_t b = line.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  line.remove_prefix(b);
  for (const std::string_view cmd : {"checkpoint", "history", "audit"}) {
    if (!line.starts_with(cmd)) continue;
    const std::string_view after = line.substr(cmd.size());
    if (after.empty() || after[0] == ' ' || after[0] == '\t' || after[0] == '\r' ||
        after[0] == '#') {
      return cmd;
    }
  }
  return {};
}

/// Runs lines through the runner, and through the persistent session when there is one.
class LineRunner {
 public:
  LineRunner(schema::ScriptRunner& runner, PersistentSession* session, std::ostream& err)
      : runner_(runner), session_(session), err_(err) {}

  /// Runs one line; false when the session must stop (an epoch could not be logged).
  bool run(std::string_view line, std::size_t line_no, std::string* printed) {
    bool ok = true;
    if (const std::string_view cmd = session_command(line); session_ == nullptr && !cmd.empty()) {
      *printed += "{\"error\":\"" + std::string(cmd) +
                  " needs a data directory (--data DIR)\",\"code\":\"failed precondition\","
                  "\"line\":" + std::to_string(line_no) + "}\n";
      ok = false;
    } else if (session_ == nullptr) {
      ok = runner_.run_line(line, line_no, printed);
    } else if (Status s = session_->run_line(line, line_no, printed, &ok); !s.is_ok()) {
      err_ << s.message() << "\n";
      fatal_ = true;
      return false;
    }
    if (!ok) ++errors_;
    return true;
  }

  int exit_code() const { return fatal_ ? 2 : errors_ == 0 ? 0 : 1; }

 private:
  schema::ScriptRunner& runner_;
  PersistentSession* session_;
  std::ostream& err_;
  std::size_t errors_ = 0;
  bool fatal_ = false;
};

// The REPL: `history` lists earlier lines, `!N` runs line N again.
int repl(LineRunner& runner, std::istream& in, std::ostream& out) {
  std::vector<std::string> history;
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
    const bool go_on = runner.run(line, n, &printed);
    out << printed;
    if (!go_on) break;
  }
  out << "\n";
  return runner.exit_code();
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
  std::unique_ptr<PersistentSession> session;
  if (!options.data_dir.empty()) {
    auto opened =
        PersistentSession::open(options.data_dir, options.schema_path, file.text, runner,
                                SessionOptions{options.checkpoint_every, options.compact_log});
    if (!opened.is_ok()) {
      err << opened.status().message() << "\n";
      return 2;
    }
    session = std::move(opened).value();
  }
  LineRunner lines(runner, session.get(), err);
  if (options.interactive) return repl(lines, in, out);
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
  // Line by line, as ScriptRunner::run does, so that a failed log write stops the run.
  std::string printed;
  std::size_t line_no = 0, start = 0;
  while (start <= script.size()) {
    std::size_t end = script.find('\n', start);
    if (end == std::string::npos) end = script.size();
    ++line_no;
    const bool go_on =
        lines.run(std::string_view(script).substr(start, end - start), line_no, &printed);
    if (!go_on) break;
    start = end + 1;
  }
  out << printed << std::flush;
  return lines.exit_code();
}

}  // namespace mgraph::node

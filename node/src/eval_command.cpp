#include "eval_command.hpp"

#include <editline/readline.h>
#include <unistd.h>

#include <cstdlib>
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

/// Where a terminal REPL keeps its line history between runs: $MGRAPH_HISTORY, else
/// ~/.mgraph_history, else nowhere.
std::string history_file() {
  if (const char* f = std::getenv("MGRAPH_HISTORY"); f != nullptr) return f;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::string(home) + "/.mgraph_history";
  return {};
}

/// Reads REPL lines: with line editing (libedit: arrow keys, search, history kept in
/// history_file()) when both ends are a terminal, else plain lines from `in` with a
/// prompt on `out` (pipes, tests).
class LineReader {
 public:
  LineReader(std::istream& in, std::ostream& out, bool terminal)
      : in_(in), out_(out), terminal_(terminal) {
    if (!terminal_) return;
    file_ = history_file();
    using_history();
    stifle_history(static_cast<int>(kHistoryMax));
    if (!file_.empty()) read_history(file_.c_str());
  }
  ~LineReader() {
    if (terminal_ && !file_.empty()) write_history(file_.c_str());
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// The next line; false at end of input.
  bool next(std::string* line) {
    if (!terminal_) {
      out_ << "mgraph> " << std::flush;
      return static_cast<bool>(std::getline(in_, *line));
    }
    out_ << std::flush;
    char* got = readline("mgraph> ");
    if (got == nullptr) return false;
    line->assign(got);
    std::free(got);
    if (!line->empty()) add_history(line->c_str());
    return true;
  }

 private:
  std::istream& in_;
  std::ostream& out_;
  bool terminal_;
  std::string file_;
};

// The REPL: `history` lists earlier lines, `!N` runs line N again.
int repl(LineRunner& runner, std::istream& in, std::ostream& out, bool terminal) {
  std::vector<std::string> history;
  std::string line;
  LineReader reader(in, out, terminal);
  for (std::size_t n = 1;; ++n) {
    if (!reader.next(&line)) break;
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
  if (options.interactive) {
    // Line editing only between terminals: a REPL fed by a pipe reads plain lines.
    const bool terminal = &in == &std::cin && &out == &std::cout && ::isatty(STDIN_FILENO) == 1 &&
                          ::isatty(STDOUT_FILENO) == 1;
    return repl(lines, in, out, terminal);
  }
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

#include "eval_command.hpp"

#include <editline/readline.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

#include "client_login.hpp"
#include "command_line.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/codec/resending_backend.hpp"
#include "mgraph/graph/json.hpp"
#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/classifier.hpp"
#include "mgraph/session/script_runner.hpp"
#include "mgraph/session/persistent_session.hpp"
#include "mgraph/session/version_ledger.hpp"

namespace mgraph::node {
namespace {

/// How long connecting to a cluster may take.
constexpr std::chrono::milliseconds kConnectTimeout{5000};

/// Lines of REPL history kept; older ones are dropped.
constexpr std::size_t kHistoryMax = 1000;

/// Bytes LineSource reads from its stream at a time.
constexpr std::size_t kReadChunkBytes = std::size_t{64} << 10;
/// Bytes of one line LineSource keeps: one more than a script line may have, so that the
/// runner still sees (and refuses) a longer one.
constexpr std::size_t kLineKept = session::kScriptLineMax + 1;

/// Opens `path` (a schema or a script: `what`) for reading. A directory opens on Linux and
/// then reads as empty, so it is refused here, as is anything that cannot be opened.
Status open_input(const std::string& path, const char* what, std::ifstream* f) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status(StatusCode::not_found,
                  path + ": cannot read the " + what + " file: " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return Status(StatusCode::invalid_argument,
                  path + ": cannot read the " + what + " file: is a directory");
  }
  f->open(path, std::ios::binary);
  if (!*f) {
    return Status(StatusCode::io_error,
                  path + ": cannot read the " + what + " file: " + std::strerror(errno));
  }
  return Status::ok();
}

/// Reads the schema file, at most one byte more than the parser accepts (it then reports
/// the file as too large), so that a huge file or a device is never read whole.
Status read_schema(const std::string& path, std::string* text) {
  std::ifstream f;
  if (Status s = open_input(path, "schema", &f); !s.is_ok()) return s;
  text->resize(schema::kSourceBytesMax + 1);
  f.read(text->data(), static_cast<std::streamsize>(text->size()));
  text->resize(static_cast<std::size_t>(f.gcount()));
  if (f.bad()) return Status(StatusCode::io_error, path + ": cannot read the schema file");
  return Status::ok();
}

/// Splits a stream into lines with bounded memory: it reads what the stream has (never
/// waiting for more than one byte), and keeps at most kLineKept bytes of a line.
/// Before it waits for input, it flushes `flush`, so that every answer is out before the
/// next question is read.
class LineSource {
 public:
  LineSource(std::istream& in, std::ostream* flush) : sb_(*in.rdbuf()), flush_(flush) {}

  /// The next line, without its '\n'; false at the end of the input.
  bool next(std::string* line) {
    line->clear();
    bool any = false;
    // Each iteration consumes buffered bytes or reads more; the input is finite.
    for (;;) {
      if (pos_ == len_ && !fill()) return any;
      any = true;
      const char* begin = buf_.data() + pos_;
      const char* end = buf_.data() + len_;
      const char* nl = std::find(begin, end, '\n');
      // line->size() <= kLineKept always: what is beyond it is dropped.
      line->append(begin, std::min(static_cast<std::size_t>(nl - begin), kLineKept - line->size()));
      pos_ = static_cast<std::size_t>(nl - buf_.data());
      if (nl != end) {
        ++pos_;
        return true;
      }
    }
  }

 private:
  /// Reads at least one byte; false at the end of the input.
  bool fill() {
    if (flush_ != nullptr) *flush_ << std::flush;
    pos_ = len_ = 0;
    std::streamsize avail = sb_.in_avail();
    if (avail <= 0) {
      if (std::char_traits<char>::eq_int_type(sb_.sgetc(), std::char_traits<char>::eof()))
        return false;
      avail = sb_.in_avail();
    }
    if (avail <= 0) {  // an unbuffered stream (stdin synced with stdio): one byte
      buf_[0] = std::char_traits<char>::to_char_type(sb_.sbumpc());
      len_ = 1;
      return true;
    }
    const auto want = std::min(static_cast<std::size_t>(avail), buf_.size());
    len_ = static_cast<std::size_t>(sb_.sgetn(buf_.data(), static_cast<std::streamsize>(want)));
    return len_ > 0;
  }

  std::streambuf& sb_;
  std::ostream* flush_;
  std::vector<char> buf_ = std::vector<char>(kReadChunkBytes);
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
};

/// The persistent-session command a line starts with (checkpoint, history, audit), or "".
std::string_view session_command(std::string_view line) {
  const std::string_view word = session::command_word(line);
  return session::is_session_command(word) ? word : std::string_view();
}

/// Where the lines of a script go: an embedded session, or a cluster.
class Lines {
 public:
  virtual ~Lines() = default;
  /// Runs one line; false when the session must stop (an epoch could not be logged, the
  /// cluster is gone).
  virtual bool run(std::string_view line, std::size_t line_no, std::string* printed) = 0;
  /// The end of the input: what is still held is sent; false as for run().
  virtual bool finish(std::string* printed) = 0;
  /// 0 when every line succeeded, 1 when any failed, 2 or 3 when the session stopped.
  virtual int exit_code() const = 0;
};

/// Runs lines through the embedded runner, and through the persistent session when there
/// is one.
class LocalLines final : public Lines {
 public:
  LocalLines(session::ScriptRunner& runner, session::PersistentSession* session,
             std::ostream& err)
      : runner_(runner), session_(session), err_(err) {}

  bool run(std::string_view line, std::size_t line_no, std::string* printed) override {
    bool ok = true;
    if (const std::string_view cmd = session_command(line); session_ == nullptr && !cmd.empty()) {
      *printed += json::Object()
                      .str("error", std::string(cmd) + " needs a data directory (--data DIR)")
                      .str("code", status_code_name(StatusCode::failed_precondition))
                      .unum("line", line_no)
                      .line();
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
  bool finish(std::string*) override { return true; }
  int exit_code() const override { return fatal_ ? 2 : errors_ == 0 ? 0 : 1; }

 private:
  session::ScriptRunner& runner_;
  session::PersistentSession* session_;
  std::ostream& err_;
  std::size_t errors_ = 0;
  bool fatal_ = false;
};

/// Runs lines on a cluster: the lines of a transaction travel as one batch when it
/// commits or rejects (session/client.hpp), so answers to them print then.
class ConnectedLines final : public Lines {
 public:
  ConnectedLines(session::Backend& backend, session::PrintOptions print, bool token_given,
                 std::ostream& err)
      : client_(backend, {.batch_transactions = true, .print = print}), err_(err),
        token_given_(token_given) {}

  bool run(std::string_view line, std::size_t line_no, std::string* printed) override {
    if (const std::string_view cmd = session_command(line); cmd == "history" || cmd == "audit") {
      if (Status s = read_ledger(line, printed); !s.is_ok()) {
        *printed += session::error_line(s, line_no);
        ++errors_;
      }
      return check();
    } else if (!cmd.empty()) {
      // Not sent: the cluster keeps its own log and checkpoints (mgraphctl).
      *printed += json::Object()
                      .str("error", std::string(cmd) + " is not available on a cluster")
                      .str("code", status_code_name(StatusCode::failed_precondition))
                      .unum("line", line_no)
                      .line();
      ++errors_;
      return true;
    }
    errors_ += client_.run_line(line, line_no, printed);
    return check();
  }
  bool finish(std::string* printed) override {
    errors_ += client_.finish(printed);
    return check();
  }
  int exit_code() const override {
    if (!client_.failure().is_ok()) return refused(client_.failure()) ? kExitRefused : 3;
    return errors_ == 0 ? 0 : 1;
  }

 private:
  /// `history` and `audit`: what the cluster's history and ledger hold, printed as an
  /// embedded persistent session prints it.
  Status read_ledger(std::string_view line, std::string* printed) {
    if (client_.holding()) {
      // Its lines are sent when it ends: this answer would print before theirs.
      return Status(StatusCode::failed_precondition, std::string(session::command_word(line)) +
                                                         " inside an open transaction is not available on a "
                                                         "cluster: commit or reject it first");
    }
    Result<session::LedgerQuery> query = session::parse_ledger_query(line);
    if (!query.is_ok()) return query.status();
    Result<std::pair<session::RecordId, std::string_view>> ref = client_.field_ref(query->ref);
    if (!ref.is_ok()) return ref.status();
    Result<std::string> answer =
        client_.backend().ledger(ref->first, std::string(ref->second), query->cmd, query->ref, query->at);
    if (!answer.is_ok()) return answer.status();
    *printed += session::ledger_line(*query, *answer);
    return Status::ok();
  }

  bool check() {
    if (client_.failure().is_ok()) return true;
    err_ << "mgraph: " << client_failure(client_.failure(), token_given_) << "\n";
    return false;
  }

  session::ScriptClient client_;
  std::ostream& err_;
  const bool token_given_;
  std::size_t errors_ = 0;
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
/// history_file()) when both ends are a terminal, else plain lines from `in` (bounded as
/// LineSource bounds them) with a prompt on `out` (pipes, tests).
class LineReader {
 public:
  LineReader(std::istream& in, std::ostream& out, bool terminal)
      : lines_(in, &out), out_(out), terminal_(terminal) {
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
      return lines_.next(line);
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
  LineSource lines_;
  std::ostream& out_;
  bool terminal_;
  std::string file_;
};

// The REPL: `history` lists earlier lines, `!N` runs line N again.
int repl(Lines& runner, std::istream& in, std::ostream& out, bool terminal) {
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
        out << json::Object()
                   .str("error", "no history entry " + line.substr(1))
                   .unum("line", n)
                   .line();
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
    if (!go_on) return runner.exit_code();
  }
  std::string printed;
  runner.finish(&printed);
  out << printed << "\n" << std::flush;
  return runner.exit_code();
}

/// Runs the script (or the REPL) through `lines`.
int run_lines(const EvalOptions& options, Lines& lines, std::istream& in, std::istream& script,
              std::ostream& out) {
  if (options.interactive) {
    // Line editing only between terminals: a REPL fed by a pipe reads plain lines.
    const bool terminal = &in == &std::cin && &out == &std::cout && ::isatty(STDIN_FILENO) == 1 &&
                          ::isatty(STDOUT_FILENO) == 1;
    return repl(lines, in, out, terminal);
  }
  // Line by line, so that a failed log write stops the run; each line's output goes out
  // before the next input is awaited (LineSource flushes).
  LineSource source(script, &out);
  std::string line, printed;
  for (std::size_t line_no = 1; source.next(&line); ++line_no) {
    printed.clear();
    const bool go_on = lines.run(line, line_no, &printed);
    out << printed;
    if (!go_on) return lines.exit_code();
  }
  printed.clear();
  lines.finish(&printed);
  out << printed << std::flush;
  return lines.exit_code();
}

/// `mgraph eval --connect HOST:PORT`: the same script language against a cluster.
int run_connected(const EvalOptions& options, std::istream& in, std::istream& script,
                  std::ostream& out, std::ostream& err) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(options.connect, &host, &port)) {
    err << "mgraph: --connect " << options.connect << ": expected HOST:PORT with a port in 1..65535\n";
    return 2;
  }
  if (Status s = check_token(options.token); !s.is_ok()) {
    err << "mgraph: " << s.message() << "\n";
    return 2;
  }
  // A batch whose answer is lost (the coordinator restarting, a connection dropped) is
  // sent again with the same transaction id: the cluster answers an id it has seen with
  // its first outcome, so the script goes on and nothing runs twice.
  codec::ResendOptions resend;
  resend.patience = options.resend_patience;
  resend.on_resend = [&err](const Status& why, std::chrono::milliseconds pause) {
    err << "mgraph: no answer from the cluster (" << why.message() << "); sending again in "
        << pause.count() << " ms\n";
  };
  codec::ResendingBackend backend(
      [host, port, token = options.token] {
        return codec::ClientConnection::connect(host, port, kConnectTimeout, token);
      },
      std::move(resend));
  // The first connection fails the run at once: a wrong address is not waited for.
  if (Status s = backend.open(); !s.is_ok()) {
    if (refused(s)) {
      err << "mgraph: " << options.connect << ": " << client_failure(s, !options.token.empty())
          << "\n";
      return kExitRefused;
    }
    err << "mgraph: cannot reach the cluster at " << options.connect << ": " << s.message()
        << "\n";
    return 3;
  }
  ConnectedLines lines(backend, {.echo_transitions = options.interactive || options.echo_commits},
                       !options.token.empty(), err);
  return run_lines(options, lines, in, script, out);
}

}  // namespace

int run_eval(const EvalOptions& options, std::istream& in, std::ostream& out, std::ostream& err) {
  std::ifstream script_file;
  if (!options.interactive && !options.script_path.empty()) {
    if (Status s = open_input(options.script_path, "script", &script_file); !s.is_ok()) {
      err << s.message() << "\n";
      return 2;
    }
  }
  std::istream& script = options.script_path.empty() ? in : script_file;
  if (!options.connect.empty()) return run_connected(options, in, script, out, err);
  schema::SourceFile file;
  file.name = options.schema_path;
  if (Status s = read_schema(options.schema_path, &file.text); !s.is_ok()) {
    err << s.message() << "\n";
    return 2;
  }
  auto compiled = schema::compile_schema(file);
  if (!compiled.is_ok()) {
    err << compiled.status().message() << "\n";
    return 2;
  }
  session::ScriptRunner runner(
      std::move(compiled).value(), schema::StoreOptions{},
      {.echo_transitions = options.interactive || options.echo_commits});
  std::unique_ptr<session::PersistentSession> session;
  if (!options.data_dir.empty()) {
    auto opened =
        session::PersistentSession::open(options.data_dir, options.schema_path, file.text,
                                         runner,
                                         session::SessionOptions{.checkpoint_every = options.checkpoint_every,
                                                                 .compact_log = options.compact_log});
    if (!opened.is_ok()) {
      err << opened.status().message() << "\n";
      return 2;
    }
    session = std::move(opened).value();
  }
  LocalLines lines(runner, session.get(), err);
  return run_lines(options, lines, in, script, out);
}

}  // namespace mgraph::node

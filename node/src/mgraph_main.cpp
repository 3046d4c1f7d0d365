// mgraph: the client command line. Subcommands so far: eval (a script on a schema, embedded
// or on a cluster).

#include <CLI/CLI.hpp>
#include <iostream>

#include "command_line.hpp"
#include "eval_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mgraph: reactive computation engine"};
  app.require_subcommand(1);
  mgraph::node::EvalOptions eval;
  CLI::App* eval_cmd =
      app.add_subcommand("eval", "Run a script on a schema: embedded, or on a cluster (--connect)");
  CLI::Option* schema =
      eval_cmd->add_option("schema", eval.schema_path, "Schema file (*.mgs), for the embedded engine");
  CLI::Option* connect = eval_cmd->add_option(
      "--connect", eval.connect,
      "HOST:PORT of a cluster node's client port: run the script on the cluster");
  schema->excludes(connect);
  eval_cmd->add_flag("--echo-commits", eval.echo_commits,
                     "Answer commit, undo and redo with {\"commit\":REVISION,\"changed\":N} "
                     "(the REPL always does)");
  eval_cmd->add_option("--script", eval.script_path,
                       "Script file, one command per line (default: stdin)");
  eval_cmd->add_flag("--interactive,-i", eval.interactive, "Read-eval-print loop with history");
  eval_cmd->add_option("--data", eval.data_dir,
                       "Data directory (LMDB store): loads its newest checkpoint and replays "
                       "the log after it, then logs every commit");
  eval_cmd
      ->add_option("--checkpoint-every", eval.checkpoint_every,
                   "With --data: store a checkpoint every N epochs (0: only on the "
                   "`checkpoint` command)")
      ->default_val(1000)
      ->check(CLI::NonNegativeNumber);
  eval_cmd->add_flag("--compact-log", eval.compact_log,
                     "With --data: after each checkpoint, delete the log entries it covers");
  // CLI11 reports usage errors by exception; they stop here, at the program boundary.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  if (eval.schema_path.empty() == eval.connect.empty()) {
    std::cerr << "error: give a schema file or --connect HOST:PORT\n\n" << eval_cmd->help();
    return 2;
  }
  if (!eval.connect.empty() && !eval.data_dir.empty()) {
    std::cerr << "error: --data is for the embedded engine; a cluster keeps its own log\n";
    return 2;
  }
  // Unsynced streams buffer stdin, so that eval reads what a pipe holds in one call
  // instead of a byte at a time; eval flushes its output itself.
  std::ios::sync_with_stdio(false);
  return mgraph::node::run_eval(eval, std::cin, std::cout, std::cerr);
}

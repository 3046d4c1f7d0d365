// mgraph: the client command line. Subcommands so far: eval (the embedded engine).

#include <CLI/CLI.hpp>
#include <iostream>

#include "command_line.hpp"
#include "eval_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mgraph: reactive computation engine"};
  app.require_subcommand(1);
  mgraph::node::EvalOptions eval;
  CLI::App* eval_cmd = app.add_subcommand("eval", "Run a schema in the embedded engine");
  eval_cmd->add_option("schema", eval.schema_path, "Schema file (*.mgs)")->required();
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
  // Unsynced streams buffer stdin, so that eval reads what a pipe holds in one call
  // instead of a byte at a time; eval flushes its output itself.
  std::ios::sync_with_stdio(false);
  return mgraph::node::run_eval(eval, std::cin, std::cout, std::cerr);
}

// mgraph: the client command line. Subcommands: eval (a script on a schema, embedded or on
// a cluster), bench (load on a cluster from concurrent clients), effects consume, watch
// (a subscription to a cluster's epochs) and token (client tokens for a cluster's
// configuration).

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "bench_command.hpp"
#include "effects_command.hpp"
#include "command_line.hpp"
#include "huge_pages.hpp"
#include "eval_command.hpp"
#include "token_command.hpp"
#include "watch_command.hpp"

namespace {

/// --token TOKEN on `cmd`, also read from MGRAPH_TOKEN (the command line shows in `ps`; the
/// environment does not).
void add_token_option(CLI::App* cmd, std::string& token) {
  cmd->add_option("--token", token,
                  "Client token to log in with (a node with [[clients.token]] entries requires "
                  "one); default: $MGRAPH_TOKEN")
      ->envname("MGRAPH_TOKEN");
}

/// --retry-ms of a command that keeps trying while the cluster is out of reach
/// (client_retry.hpp): `what` says from where it goes on.
void add_retry_option(CLI::App* cmd, std::int64_t& retry_ms, const std::string& what) {
  cmd->add_option("--retry-ms", retry_ms,
                  "How long to keep trying, " + what +
                      ", when the cluster is out of reach (a node restarting) before giving up with exit "
                      "code 4, ms (0: never)")
      ->default_val(60'000)
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{86'400'000}));
}

/// Set by SIGINT or SIGTERM while `mgraph watch` runs: it stops after its current poll.
volatile std::sig_atomic_t watch_stop = 0;
extern "C" void on_watch_signal(int) { watch_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  // Checkpoints load into fresh memory: on huge pages (huge_pages.hpp).
  mgraph::node::use_huge_pages(argv);
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
  add_token_option(eval_cmd, eval.token);
  eval_cmd->add_flag("--echo-commits", eval.echo_commits,
                     "Answer commit, undo and redo with {\"commit\":REVISION,\"changed\":N} "
                     "(the REPL always does)");
  eval_cmd
      ->add_option_function<double>(
          "--resend-patience",
          [&eval](double seconds) {
            eval.resend_patience = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
          },
          "With --connect: seconds a batch whose answer was lost (a coordinator restarting, a "
          "dropped connection) is sent again with the same transaction id before the run "
          "stops (default 30; 0: never)")
      ->check(CLI::Range(0.0, 86400.0));
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
  mgraph::node::BenchOptions bench;
  CLI::App* bench_cmd = app.add_subcommand(
      "bench",
      "Load a cluster: concurrent clients write random state fields of the schema it serves "
      "(each client its own records, linked along the schema's relations) and commit; prints "
      "throughput and latency percentiles");
  bench_cmd->add_option("--connect", bench.connect, "HOST:PORT of a node's client port")->required();
  add_token_option(bench_cmd, bench.token);
  bench_cmd->add_option("--clients", bench.clients, "Concurrent clients, one connection each")
      ->default_val(4)
      ->check(CLI::Range(1u, 1024u));
  bench_cmd
      ->add_option("--transactions", bench.transactions, "Timed transactions per client")
      ->default_val(1000)
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000}));
  bench_cmd
      ->add_option("--warmup", bench.warmup, "Transactions per client run first, not timed")
      ->default_val(20)
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1'000'000'000}));
  bench_cmd->add_option("--writes", bench.writes, "Field writes per transaction")
      ->default_val(1)
      ->check(CLI::Range(1u, 10'000u));
  bench_cmd->add_option("--records", bench.records, "Records of each entity per client")
      ->default_val(4)
      ->check(CLI::Range(1u, 100'000u));
  bench_cmd->add_option("--seed", bench.seed, "Seed of the workload's random choices")->default_val(1);
  bench_cmd
      ->add_option("--timeout-ms", bench.timeout_ms, "Bound on connecting and on each transaction, ms")
      ->default_val(5000)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  bench_cmd->add_flag("--json", bench.json, "Print one line of JSON instead of text");
  bool progress = false, no_progress = false;
  bench_cmd->add_flag("--progress", progress, "A progress line on stderr every second (default: when stderr is a terminal)");
  bench_cmd->add_flag("--no-progress", no_progress, "No progress lines")->excludes("--progress");
  mgraph::node::EffectsConsumeOptions consume;
  CLI::App* effects_cmd = app.add_subcommand("effects", "Effect deliveries of a cluster");
  effects_cmd->require_subcommand(1);
  CLI::App* consume_cmd = effects_cmd->add_subcommand(
      "consume",
      "Print each delivery of the named effects as one JSON line and acknowledge it "
      "(docs/CLUSTER.md, \"Effects\")");
  consume_cmd->add_option("effects", consume.effects, "Effects to consume (Entity.effect)")
      ->required();
  consume_cmd->add_option("--connect", consume.connect, "HOST:PORT of a node's client port")
      ->required();
  add_token_option(consume_cmd, consume.token);
  consume_cmd->add_option("--group", consume.group,
                          "Consume as a member of this consumer group: its consumers share the "
                          "deliveries, and one group consumes an effect at a time");
  consume_cmd->add_flag("--manual-ack", consume.manual_ack,
                        "Print deliveries without acknowledging them (they come again per @retry)");
  consume_cmd->add_option("--max", consume.max, "Stop after N deliveries (default: never)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000}));
  consume_cmd
      ->add_option("--wait-ms", consume.wait_ms,
                   "Stop after this long with nothing delivered (default: never)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{86'400'000}));
  consume_cmd->add_option("--poll-ms", consume.poll_ms, "Pause between polls that found nothing")
      ->default_val(100)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{60'000}));
  consume_cmd
      ->add_option("--timeout-ms", consume.timeout_ms, "Bound on connecting and on each call, ms")
      ->default_val(5000)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  add_retry_option(consume_cmd, consume.retry_ms, "polling on");
  mgraph::node::EffectsResolveOptions resolve;
  CLI::App* resolve_cmd = effects_cmd->add_subcommand(
      "resolve",
      "Send VALUE as the result of an async field's request, delivery KEY (FIELD:VERSION as "
      "consume prints it); print the outcome (docs/SCHEMA.md, \"Async fields\")");
  resolve_cmd->add_option("key", resolve.key, "The delivery's key, FIELD:VERSION")->required();
  resolve_cmd->add_option("value", resolve.value, "The result, a script literal: 0.75, \"high\", null")
      ->required();
  resolve_cmd->add_option("--connect", resolve.connect, "HOST:PORT of a node's client port")->required();
  add_token_option(resolve_cmd, resolve.token);
  resolve_cmd
      ->add_option("--timeout-ms", resolve.timeout_ms, "Bound on connecting and on the call, ms")
      ->default_val(5000)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  mgraph::node::WatchOptions watch;
  std::uint64_t watch_from = 0;
  CLI::App* watch_cmd = app.add_subcommand(
      "watch",
      "Print each committed epoch that changed the named fields or entities as one JSON line "
      "(docs/CLUSTER.md, \"Subscriptions\")");
  watch_cmd
      ->add_option("targets", watch.targets,
                   "What to watch: a record's field (Order#1.total) or every field of an entity (Order)")
      ->required();
  watch_cmd->add_option("--connect", watch.connect, "HOST:PORT of a node's client port")->required();
  add_token_option(watch_cmd, watch.token);
  CLI::Option* from_opt = watch_cmd->add_option(
      "--from", watch_from,
      "Go on after this epoch (default: print the current values first and go on after them)");
  watch_cmd->add_option("--cursor", watch.cursor,
                        "Keep the cursor in FILE, rewritten after every line printed; when FILE exists, go on "
                        "after the epoch it names (instead of --from or the current values): started again, the "
                        "subscriber prints every epoch at least once");
  watch_cmd->add_option("--count", watch.count, "Stop after N lines (default: at Ctrl-C)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000}));
  watch_cmd
      ->add_option("--wait-ms", watch.wait_ms,
                   "How long one poll waits at the cluster for an epoch (and Ctrl-C for it), ms")
      ->default_val(1000)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000}));
  watch_cmd
      ->add_option("--timeout-ms", watch.timeout_ms, "Bound on connecting and on each call beyond --wait-ms, ms")
      ->default_val(5000)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  add_retry_option(watch_cmd, watch.retry_ms, "from the same epoch");
  mgraph::node::TokenOptions token;
  CLI::App* token_cmd = app.add_subcommand("token", "Client tokens for a cluster's configuration");
  token_cmd->require_subcommand(1);
  CLI::App* token_new = token_cmd->add_subcommand(
      "new", "Make a random token; print it and the [[clients.token]] entry (its SHA-256) to "
             "paste into the configuration");
  token_new->add_option("--name", token.name, "The entry's name (who holds the token)")
      ->default_val("client");
  token_new->add_option("--role", token.role, "What the token may do: read, write or admin")
      ->default_val("write");
  CLI::App* token_hash = token_cmd->add_subcommand(
      "hash", "Read a token from stdin (one line) and print its SHA-256, the entry's sha256");
  // CLI11 reports usage errors by exception; they stop here, at the program boundary.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return mgraph::node::usage_exit(app, e);
  }
  if (consume_cmd->parsed()) {
    std::signal(SIGPIPE, SIG_IGN);
    return mgraph::node::run_effects_consume(consume, std::cout, std::cerr);
  }
  if (resolve_cmd->parsed()) {
    std::signal(SIGPIPE, SIG_IGN);
    return mgraph::node::run_effects_resolve(resolve, std::cout, std::cerr);
  }
  if (watch_cmd->parsed()) {
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGINT, on_watch_signal);
    std::signal(SIGTERM, on_watch_signal);
    if (from_opt->count() > 0) watch.from = watch_from;
    watch.stop = [] { return watch_stop != 0; };
    return mgraph::node::run_watch(watch, std::cout, std::cerr);
  }
  if (token_new->parsed()) return mgraph::node::run_token_new(token, std::cout, std::cerr);
  if (token_hash->parsed()) return mgraph::node::run_token_hash(std::cin, std::cout, std::cerr);
  if (bench_cmd->parsed()) {
    std::signal(SIGPIPE, SIG_IGN);
    bench.progress = progress || (!no_progress && ::isatty(STDERR_FILENO) == 1);
    return mgraph::node::run_bench(bench, std::cout, std::cerr);
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

#pragma once
// `mgraph eval SCHEMA.mgs [--script FILE] [--interactive] [--echo-commits] [--data DIR
// [--checkpoint-every N] [--compact-log]]`: loads a schema into an embedded Store and runs
// script commands (docs/SCRIPTS.md); with --data the session is persistent
// (session/persistent_session.hpp). `mgraph eval --connect HOST:PORT [--script FILE] [-i]`
// runs the same commands on a cluster, which prints the same bytes.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace mgraph::node {

struct EvalOptions {
  std::string schema_path;
  std::string script_path;  ///< empty: read commands from stdin
  bool interactive = false;
  std::string data_dir;  ///< empty: in memory only; else the LMDB store to reopen and log to
  std::uint64_t checkpoint_every = 1000;  ///< with data_dir: epochs between checkpoints (0: none)
  bool compact_log = false;  ///< with data_dir: delete log entries a checkpoint covers
  /// HOST:PORT of a cluster node: run the script there (the schema is the cluster's).
  std::string connect;
  /// With connect: the client token to log in with (empty: none; unused embedded).
  std::string token;
  /// With connect: how long a batch whose answer was lost is sent again (same transaction
  /// id) before the run stops with exit code 3 (0: never sent again).
  std::chrono::milliseconds resend_patience{30'000};
  /// Answer commit, undo and redo with a line (the REPL always does).
  bool echo_commits = false;
};

/// Returns the process exit code: 0 when every command succeeded, 1 when any failed,
/// 2 when the schema, the script or the data directory could not be loaded, or an epoch
/// could not be logged (the run stops there), 3 when the cluster could not be reached or
/// was lost (--connect), 4 when the node refused the token or the role (--connect).
int run_eval(const EvalOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace mgraph::node

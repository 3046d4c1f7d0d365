#pragma once
// `mgraph eval SCHEMA.mgs [--script FILE] [--interactive]`: loads a schema into an
// embedded Store and runs script commands (docs/SCRIPTS.md).

#include <iosfwd>
#include <string>

namespace mgraph::node {

struct EvalOptions {
  std::string schema_path;
  std::string script_path;  ///< empty: read commands from stdin
  bool interactive = false;
};

/// Returns the process exit code: 0 when every command succeeded, 1 when any failed,
/// 2 when the schema or the script could not be loaded.
int run_eval(const EvalOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace mgraph::node

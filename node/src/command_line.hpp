#pragma once
// The command-line boundary of mgraph, mgraphd and mgraphctl. CLI11 reports a usage error
// with an exit code of its own (105 to 115); the tools document 2 for bad arguments.

#include <CLI/CLI.hpp>
#include <iostream>

namespace mgraph::node {

/// The exit code for the parse error `e` of `app`, after printing: for --help, the help on
/// stdout (0); otherwise the error and the usage on stderr (2, bad arguments).
inline int usage_exit(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  std::cerr << "error: " << e.what() << "\n\n" << app.help() << std::flush;
  return 2;
}

}  // namespace mgraph::node

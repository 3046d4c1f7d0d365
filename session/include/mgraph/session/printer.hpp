#pragma once
// What `mgraph eval` prints for an operation's result: one JSON object per line for
// errors and `get`, the text of `explain` and `dot`, and, when asked, one line for each
// commit, undo and redo. Embedded and connected sessions print through this alone, so their
// output is the same bytes.

#include <cstddef>
#include <string>

#include "mgraph/session/operation.hpp"

namespace mgraph::session {

struct PrintOptions {
  /// Answer commit, undo and redo with {"commit":REVISION,"changed":N} (and "undo",
  /// "redo"): the REPL does, scripts do with --echo-commits.
  bool echo_transitions = false;
};

/// Appends what the result of `op` (from script line `line_no`) prints to `out`. Returns
/// false when the op failed.
bool print_result(const Op& op, const OpResult& result, std::size_t line_no,
                  const PrintOptions& options, std::string* out);

/// The JSON error line: {"error":MESSAGE,"code":CODE,"line":N}.
std::string error_line(const Status& status, std::size_t line_no);

}  // namespace mgraph::session

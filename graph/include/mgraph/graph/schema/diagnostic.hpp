#pragma once
// Source positions and the user-facing error format of the schema language:
//
//   shop.mgs:4:30: error: unknown field 'prise' in entity Item
//     total: float = sum(items[*].prise)
//                                 ^

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mgraph::schema {

/// A position in a source file; line and column count from 1 (0 means unknown).
struct SourceLoc {
  std::uint32_t line = 0;
  std::uint32_t col = 0;
};

/// The text of one schema file and the name it is reported under.
struct SourceFile {
  std::string name;
  std::string text;

  /// The text of line `line` (1-based) without its newline; empty when out of range.
  std::string_view line_text(std::uint32_t line) const;
};

/// One error found in a source file.
struct Diagnostic {
  SourceLoc loc;
  std::string message;
};

/// "file:line:col: error: message", then the offending line and a caret under the column.
std::string format_diagnostic(const SourceFile& file, const Diagnostic& d);

/// All diagnostics, formatted and joined by newlines.
std::string format_diagnostics(const SourceFile& file, const std::vector<Diagnostic>& ds);

}  // namespace mgraph::schema

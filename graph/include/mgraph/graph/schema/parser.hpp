#pragma once
// Parser of the schema language: text to syntax tree. Stops at the first syntax error.

#include "mgraph/graph/schema/ast.hpp"
#include "mgraph/graph/schema/diagnostic.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::schema {

/// Nesting depth of expressions the parser accepts; bounds its recursion.
inline constexpr std::size_t kExprDepthMax = 200;
/// Bytes of schema text accepted in one file.
inline constexpr std::size_t kSourceBytesMax = std::size_t{16} << 20;

/// Parses a whole schema file. On error the Status (invalid_argument) carries the
/// formatted diagnostic: file:line:col, the offending line and a caret.
Result<ast::Schema> parse_schema(const SourceFile& file);

/// Parses one expression (a formula), for tests and the script's ad-hoc checks.
Result<std::unique_ptr<ast::Expr>> parse_expression(const SourceFile& file);

}  // namespace mgraph::schema

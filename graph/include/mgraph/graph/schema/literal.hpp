#pragma once
// Value literals of the script language: 1, -2.5, 1e3, "text" (backslash escapes the next
// byte), true, false, null, vectors [1, 2] and matrices [[1, 2], [3, 4]] (nested lists of
// equal shape stack into a tensor).

#include <cstddef>
#include <string_view>

#include "mgraph/graph/status.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph::schema {

/// Deepest list nesting a literal may have.
inline constexpr std::size_t kLiteralDepthMax = 8;

/// Parses the literal at the start of `text` (after blanks); `*consumed` gets the bytes
/// read, blanks included. Errors are invalid_argument, worded for a script line.
Result<Value> parse_literal_prefix(std::string_view text, std::size_t* consumed);

}  // namespace mgraph::schema

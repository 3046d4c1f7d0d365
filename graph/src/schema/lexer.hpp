#pragma once
// Tokens of the schema language. Newlines are insignificant; `#` and `//` start comments.

#include <string>
#include <vector>

#include "mgraph/graph/schema/diagnostic.hpp"

namespace mgraph::schema {

enum class Tok : std::uint8_t { ident, integer, real, string, punct, end };

struct Token {
  Tok kind = Tok::end;
  std::string text;  ///< identifier, punctuation, or the decoded string literal
  SourceLoc loc;
};

/// Splits `text` into tokens ending with one Tok::end. On a malformed token (an
/// unterminated string, a stray character) returns false and fills `error`.
bool lex(std::string_view text, std::vector<Token>* out, Diagnostic* error);

}  // namespace mgraph::schema

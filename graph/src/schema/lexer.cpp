#include "lexer.hpp"

#include <cctype>

namespace mgraph::schema {
namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Two-character operators first so that "<=" is not read as "<" then "=".
constexpr const char* kPunct2[] = {"==", "!=", "<=", ">=", "&&", "||"};
constexpr std::string_view kPunct1 = "+-*/%<>=!()[]{},.:;@?";

}  // namespace

bool lex(std::string_view text, std::vector<Token>* out, Diagnostic* error) {
  std::uint32_t line = 1, col = 1;
  std::size_t i = 0;
  auto advance = [&](std::size_t n) {
    for (std::size_t k = 0; k < n && i < text.size(); ++k, ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
  };
  // Each iteration consumes at least one character, so the loop is bounded by the text.
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      advance(1);
      continue;
    }
    if (c == '#' || (c == '/' && i + 1 < text.size() && text[i + 1] == '/')) {
      while (i < text.size() && text[i] != '\n') advance(1);
      continue;
    }
    Token t;
    t.loc = {line, col};
    if (ident_start(c)) {
      std::size_t j = i;
      while (j < text.size() && ident_char(text[j])) ++j;
      t.kind = Tok::ident;
      t.text = std::string(text.substr(i, j - i));
      advance(j - i);
    } else if (digit(c)) {
      std::size_t j = i;
      while (j < text.size() && digit(text[j])) ++j;
      bool real = false;
      if (j + 1 < text.size() && text[j] == '.' && digit(text[j + 1])) {
        real = true;
        ++j;
        while (j < text.size() && digit(text[j])) ++j;
      }
      if (j < text.size() && (text[j] == 'e' || text[j] == 'E')) {
        std::size_t k = j + 1;
        if (k < text.size() && (text[k] == '+' || text[k] == '-')) ++k;
        if (k < text.size() && digit(text[k])) {
          real = true;
          j = k;
          while (j < text.size() && digit(text[j])) ++j;
        }
      }
      t.kind = real ? Tok::real : Tok::integer;
      t.text = std::string(text.substr(i, j - i));
      advance(j - i);
    } else if (c == '"') {
      std::size_t j = i + 1;
      std::string s;
      bool closed = false;
      while (j < text.size() && text[j] != '\n') {
        if (text[j] == '"') {
          closed = true;
          break;
        }
        if (text[j] == '\\' && j + 1 < text.size()) {
          const char e = text[j + 1];
          s.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
          j += 2;
          continue;
        }
        s.push_back(text[j++]);
      }
      if (!closed) {
        *error = {t.loc, "unterminated string literal"};
        return false;
      }
      t.kind = Tok::string;
      t.text = std::move(s);
      advance(j + 1 - i);
    } else {
      t.kind = Tok::punct;
      for (const char* p : kPunct2) {
        if (text.substr(i, 2) == p) t.text = p;
      }
      if (t.text.empty() && kPunct1.find(c) != std::string_view::npos) t.text = std::string(1, c);
      if (t.text.empty()) {
        *error = {t.loc, std::string("unexpected character '") + c + "'"};
        return false;
      }
      advance(t.text.size());
    }
    out->push_back(std::move(t));
  }
  out->push_back(Token{Tok::end, "", {line, col}});
  return true;
}

}  // namespace mgraph::schema

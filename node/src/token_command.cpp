#include "token_command.hpp"

#include <iostream>

#include "client_tokens.hpp"
#include "mgraph/codec/client_rpc.hpp"

namespace mgraph::node {

int run_token_new(const TokenOptions& o, std::ostream& out, std::ostream& err) {
  if (!valid_token_name(o.name)) {
    err << "mgraph token new: --name " << o.name << ": expected 1 to " << kTokenNameBytesMax
        << " of A-Z a-z 0-9 _ . -\n";
    return 2;
  }
  if (!session::parse_role(o.role)) {
    err << "mgraph token new: --role " << o.role << ": expected read, write or admin\n";
    return 2;
  }
  Result<std::string> token = new_token();
  if (!token.is_ok()) {
    err << "mgraph token new: " << token.status().message() << "\n";
    return 3;
  }
  out << "# token (give it to the client; it is not stored anywhere): " << *token << "\n"
      << "[[clients.token]]\n"
      << "name = \"" << o.name << "\"\n"
      << "role = \"" << o.role << "\"\n"
      << "sha256 = \"" << to_hex(sha256(*token)) << "\"\n";
  return 0;
}

int run_token_hash(std::istream& in, std::ostream& out, std::ostream& err) {
  std::string token;
  // One line, bounded as a login bounds it (one byte more tells a longer one apart).
  char c = 0;
  while (token.size() <= codec::kTokenBytesMax && in.get(c) && c != '\n') token += c;
  if (!token.empty() && token.back() == '\r') token.pop_back();
  if (token.size() > codec::kTokenBytesMax) {
    err << "mgraph token hash: the token is longer than " << codec::kTokenBytesMax
        << " bytes\n";
    return 2;
  }
  if (token.size() < kTokenBytesMin) {
    err << "mgraph token hash: expected a token of at least " << kTokenBytesMin
        << " bytes on stdin (got " << token.size()
        << "); shorter ones can be guessed. `mgraph token new` makes one\n";
    return 2;
  }
  out << to_hex(sha256(token)) << "\n";
  return 0;
}

}  // namespace mgraph::node

#pragma once
// `mgraph token new [--name NAME] [--role ROLE]`: makes a client token and prints it with
// the [[clients.token]] entry that lets it in (its SHA-256, never the token itself).
// `mgraph token hash`: reads a token from stdin (one line) and prints its SHA-256, for an
// entry written by hand. The token never appears on a command line, where `ps` shows it.

#include <iosfwd>
#include <string>

namespace mgraph::node {

struct TokenOptions {
  std::string name = "client";  ///< the entry's name
  std::string role = "write";   ///< the entry's role
};

/// `mgraph token new`. Exit codes: 0 printed, 2 bad arguments, 3 no random bytes.
int run_token_new(const TokenOptions& options, std::ostream& out, std::ostream& err);

/// `mgraph token hash`. Exit codes: 0 printed, 2 no token on stdin or one too short.
int run_token_hash(std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace mgraph::node

#pragma once
// The command-line boundary of mgraph, mgraphd and mgraphctl. CLI11 reports a usage error
// with an exit code of its own (105 to 115); the tools document 2 for bad arguments.

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>

namespace mgraph::node {

/// The exit code for the parse error `e` of `app`, after printing: for --help, the help on
/// stdout (0); otherwise the error and the usage on stderr (2, bad arguments).
inline int usage_exit(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  std::cerr << "error: " << e.what() << "\n\n" << app.help() << std::flush;
  return 2;
}

/// A TCP port: digits only, 1 to 65535.
inline bool parse_port(std::string_view text, std::uint16_t* port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return false;
  *port = static_cast<std::uint16_t>(value);
  return true;
}

/// HOST:PORT (split at the last colon) with a non-empty host and a port in 1..65535.
inline bool split_address(const std::string& address, std::string* host, std::uint16_t* port) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || !parse_port(std::string_view(address).substr(colon + 1), port))
    return false;
  *host = address.substr(0, colon);
  return true;
}

}  // namespace mgraph::node

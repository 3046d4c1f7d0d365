#pragma once
// Client tokens: the secrets clients log in with (codec/client_rpc.hpp, login), each giving a
// role (session/access.hpp). The configuration keeps only each token's SHA-256
// ([[clients.token]] sha256 = "64 hex digits"), so a copy of the file lets nobody log in;
// `mgraph token new` makes a token and the entry to paste, `mgraph token hash` hashes one.
//
// Thread-safety: a TokenTable is immutable once built; check() may run on any thread.

#include <array>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "mgraph/session/access.hpp"

namespace mgraph::node {

/// A SHA-256 digest.
using TokenDigest = std::array<std::uint8_t, 32>;

/// Random bytes in a token `mgraph token new` makes (printed as 64 hex digits): guessing
/// one takes 2^255 tries on average.
inline constexpr std::size_t kTokenRandomBytes = 32;
/// Shortest token `mgraph token hash` accepts: shorter secrets can be guessed over the
/// network (the node cannot check, since it never sees them).
inline constexpr std::size_t kTokenBytesMin = 16;
/// Most tokens in a configuration: a login compares with each.
inline constexpr std::size_t kTokensMax = 1024;
/// Longest token name: a label for people, as long as a node name.
inline constexpr std::size_t kTokenNameBytesMax = 64;

/// True for a usable token name: 1 to kTokenNameBytesMax of [A-Za-z0-9_.-].
bool valid_token_name(std::string_view name);

/// One configured token.
struct TokenEntry {
  std::string name;  ///< for people: who holds it (never sent)
  TokenDigest sha256{};
  session::Role role = session::Role::read;
  friend bool operator==(const TokenEntry&, const TokenEntry&) = default;
};

/// SHA-256 of `token` (OpenSSL's libcrypto).
TokenDigest sha256(std::string_view token);

/// 64 lowercase hex digits.
std::string to_hex(const TokenDigest& digest);

/// The digest written as 64 hex digits (either case); none for anything else.
std::optional<TokenDigest> parse_digest(std::string_view hex);

/// A new token: kTokenRandomBytes from the operating system's generator, as hex.
Result<std::string> new_token();

/// The configured tokens.
class TokenTable {
 public:
  TokenTable() = default;
  explicit TokenTable(std::vector<TokenEntry> entries) : entries_(std::move(entries)) {}

  /// The role `token` gives, or unauthenticated. Every entry is compared, each in constant
  /// time, so the time taken says nothing about which digest came close.
  Result<session::Role> check(std::string_view token) const;
  bool empty() const { return entries_.empty(); }
  const std::vector<TokenEntry>& entries() const { return entries_; }

 private:
  std::vector<TokenEntry> entries_;
};

}  // namespace mgraph::node

#include "client_tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mgraph/graph/assert.hpp"

namespace mgraph::node {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hex(const std::uint8_t* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace

bool valid_token_name(std::string_view name) {
  if (name.empty() || name.size() > kTokenNameBytesMax) return false;
  for (const char ch : name) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

TokenDigest sha256(std::string_view token) {
  TokenDigest digest{};
  unsigned int length = 0;
  // EVP_Digest with SHA-256 fails only when libcrypto cannot allocate its context.
  const int ok = EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(),
                            nullptr);
  MG_ASSERT_MSG(ok == 1 && length == digest.size(), "SHA-256 failed (libcrypto)");
  return digest;
}

std::string to_hex(const TokenDigest& digest) { return hex(digest.data(), digest.size()); }

std::optional<TokenDigest> parse_digest(std::string_view text) {
  TokenDigest digest{};
  if (text.size() != 2 * digest.size()) return std::nullopt;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    digest[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return digest;
}

Result<std::string> new_token() {
  std::uint8_t bytes[kTokenRandomBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return Status(StatusCode::io_error, "the system's random generator failed (libcrypto)");
  }
  return hex(bytes, sizeof bytes);
}

Result<session::Role> TokenTable::check(std::string_view token) const {
  const TokenDigest digest = sha256(token);
  const TokenEntry* found = nullptr;
  for (const TokenEntry& e : entries_) {
    if (CRYPTO_memcmp(e.sha256.data(), digest.data(), digest.size()) == 0) found = &e;
  }
  if (found == nullptr) {
    return Status(StatusCode::unauthenticated, "the token is not one this node accepts");
  }
  return found->role;
}

}  // namespace mgraph::node

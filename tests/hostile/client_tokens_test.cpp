// Client tokens as a node holds them (node/src/client_tokens.hpp): SHA-256 from libcrypto
// (known answers), digests parsed in either case and nothing else, a table that gives each
// token its role and refuses every other token, however close.

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "client_tokens.hpp"

namespace mgraph::node {
namespace {

TEST(ClientTokens, Sha256GivesTheKnownAnswers) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ClientTokens, DigestsParseInEitherCaseAndNothingElse) {
  const std::string hex = to_hex(sha256("abc"));
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(parse_digest(hex), sha256("abc"));
  EXPECT_EQ(parse_digest(upper), sha256("abc"));
  std::vector<std::string> bad{std::string(), hex.substr(1), hex, hex, hex};
  bad[2].push_back('0');          // one digit too many
  bad[3].back() = 'g';            // not a hex digit
  bad[4].front() = ' ';           // nor is a space
  for (const std::string& b : bad) {
    EXPECT_EQ(parse_digest(b), std::nullopt) << b;
  }
}

TEST(ClientTokens, ATableGivesEachTokenItsRoleAndRefusesEveryOther) {
  const TokenTable table({{"r", sha256("reader-token-0123"), session::Role::read},
                          {"w", sha256("writer-token-0123"), session::Role::write}});
  EXPECT_EQ(table.check("reader-token-0123").value(), session::Role::read);
  EXPECT_EQ(table.check("writer-token-0123").value(), session::Role::write);
  for (const char* other : {"", "reader-token-012", "reader-token-01234", "Reader-token-0123",
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}) {
    const Result<session::Role> r = table.check(other);
    ASSERT_FALSE(r.is_ok()) << other;
    EXPECT_EQ(r.status().to_string(), "unauthenticated: the token is not one this node accepts");
  }
  EXPECT_FALSE(TokenTable().check("reader-token-0123").is_ok());
}

TEST(ClientTokens, NewTokensAreRandomHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    Result<std::string> t = new_token();
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    EXPECT_EQ(t->size(), 2 * kTokenRandomBytes);
    EXPECT_TRUE(parse_digest(*t).has_value()) << *t;  // 64 hex digits
    seen.insert(*t);
  }
  EXPECT_EQ(seen.size(), 16u);
}

}  // namespace
}  // namespace mgraph::node

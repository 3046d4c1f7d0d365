// The one JSON writer (mgraph/graph/json.hpp): every string escaped and valid UTF-8,
// numbers exactly as the expected outputs of the examples were recorded.

#include "mgraph/graph/json.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <memory>

#include <nlohmann/json.hpp>

#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/script_runner.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph {
namespace {

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80           ? 1
                            : (c >> 5) == 0x6  ? 2
                            : (c >> 4) == 0xE  ? 3
                            : (c >> 3) == 0x1E ? 4
                                               : 0;
    if (len == 0 || i + len > s.size()) return false;
    std::uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

TEST(Json, QuotesEscapesAndReplacesInvalidUtf8) {
  EXPECT_EQ(json::quote("plain"), "\"plain\"");
  EXPECT_EQ(json::quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json::quote("\n\t\r\x01"), "\"\\n\\t\\r\\u0001\"");
  EXPECT_EQ(json::quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // valid UTF-8 is kept as is
  // Each invalid byte becomes U+FFFD: a lone continuation byte, a truncated sequence, an
  // overlong encoding, a surrogate, a byte that never occurs in UTF-8.
  for (const std::string bad : {"\x80", "\xc3", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\xff"}) {
    const std::string q = json::quote("a" + bad + "b");
    EXPECT_TRUE(valid_utf8(q)) << q;
    EXPECT_NE(q.find("\xEF\xBF\xBD"), std::string::npos) << q;
    EXPECT_EQ(q.front(), '"');
    EXPECT_EQ(q.back(), '"');
  }
}

TEST(Json, EveryByteIsQuotedAsNlohmannJsonQuotesIt) {
  // Plain text is written as it is; anything else goes through nlohmann-json: the two must
  // agree on every byte, alone and between others.
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    for (const std::string& text : {one, "k" + one + "v", one + one}) {
      const std::string want =
          nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      EXPECT_EQ(json::quote(text), want) << "byte " << b;
      EXPECT_EQ(json::Object().str(text, text).done(), "{" + want + ":" + want + "}") << "byte " << b;
    }
  }
}

TEST(Json, NumbersKeepSeventeenDigits) {
  EXPECT_EQ(json::number(2.5), "2.5");
  EXPECT_EQ(json::number(3.0), "3");
  EXPECT_EQ(json::number(-0.0), "0");  // -0 equals 0: the cutoff does not tell them apart
  EXPECT_EQ(json::number(-1e-300 * 1e-300), "0");
  EXPECT_EQ(json::number(0.1), "0.10000000000000001");
  EXPECT_EQ(json::number(28.8), "28.800000000000001");
  EXPECT_EQ(json::number(1e300), "1.0000000000000001e+300");
  EXPECT_EQ(json::number(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(json::number(-std::numeric_limits<double>::infinity()), "null");
}

TEST(Json, ObjectsKeepTheirMembersInOrder) {
  EXPECT_EQ(json::Object().done(), "{}");
  EXPECT_EQ(json::Object()
                .str("z", "x\xff")
                .raw("a", "[1,2]")
                .num("n", -3)
                .unum("u", 4)
                .boolean("b", true)
                .line(),
            "{\"z\":\"x\xEF\xBF\xBD\",\"a\":[1,2],\"n\":-3,\"u\":4,\"b\":true}\n");
  EXPECT_EQ(json::Object().str("k\"\xfe", "v").done(), "{\"k\\\"\xEF\xBF\xBD\":\"v\"}");
}

TEST(Json, ValuesOfAnyBytesRenderAsValidJson) {
  EXPECT_EQ(Value("a\xff").to_json(), "\"a\xEF\xBF\xBD\"");
  EXPECT_EQ(Value("\b\f").to_json(), "\"\\b\\f\"");
  EXPECT_EQ(Value(0.1).to_json(), "0.10000000000000001");
  EXPECT_EQ(Value(Tensor::make({2}, {0.5, std::numeric_limits<double>::infinity()}).value())
                .to_json(),
            "{\"shape\":[2],\"data\":[0.5,null]}");
}

TEST(Json, ScriptOutputIsValidUtf8WhateverTheInput) {
  auto schema = schema::compile_schema({"t.mgs", "entity P { name: string }"});
  ASSERT_TRUE(schema.is_ok()) << schema.status().message();
  session::ScriptRunner runner(std::move(schema).value());
  std::string out;
  const std::string script = "create P p name=\"a\xff\xc3\"\ncommit\nget p.name\nget p.name \xfe\n";
  EXPECT_EQ(runner.run(script, &out), 1u);
  EXPECT_TRUE(valid_utf8(out)) << out;
  EXPECT_NE(out.find("{\"get\":\"p.name\",\"value\":\"a\xEF\xBF\xBD\xEF\xBF\xBD\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"error\":\"unexpected '\xEF\xBF\xBD'\""), std::string::npos) << out;
}

}  // namespace
}  // namespace mgraph

// Applied batches (a persistent session's log epochs) as bytes: operations, their results
// and aliases round-trip; counts that do not match and bad bytes give errors.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/codec/session_codec.hpp"

namespace mgraph::codec {
namespace {

session::AppliedBatch sample() {
  session::AppliedBatch b;
  b.ops.resize(5);
  b.ops[0].kind = session::OpKind::create;
  b.ops[0].entity = "Order";
  b.ops[0].values = {{"note", Value("a")}, {"n", Value(3)}};
  b.ops[1].kind = session::OpKind::link;
  b.ops[1].refs = {session::RecordRef{1, {}, "o1"}, session::RecordRef{2, {0}, "#2"}};
  b.ops[1].name = "items";
  b.ops[2].kind = session::OpKind::invalid;
  b.ops[2].error = Status(StatusCode::not_found, "unknown record 'x'");
  b.ops[3].kind = session::OpKind::commit;
  b.ops[4].kind = session::OpKind::update;
  b.ops[4].refs = {session::RecordRef{3, {}, "t"}};
  b.ops[4].values = {{"end", Value(20.0)}};
  b.ops[4].keep = {"start", "duration"};
  b.results.resize(5);
  b.results[0].created = 1;
  b.results[2].status = b.ops[2].error;
  b.results[3].revision = 7;
  b.results[3].changed = 2;
  b.aliases = {"o1", "", "", "", ""};
  return b;
}

TEST(AppliedBatchCodec, RoundTrips) {
  const session::AppliedBatch b = sample();
  Result<std::string> bytes = encode_applied_batch(b);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  EXPECT_EQ(bytes->substr(0, 4), "MGOA");
  Result<session::AppliedBatch> back = decode_applied_batch(*bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(*back, b);

  Result<std::string> empty = encode_applied_batch({});
  ASSERT_TRUE(empty.is_ok());
  Result<session::AppliedBatch> none = decode_applied_batch(*empty);
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
}

TEST(AppliedBatchCodec, CountsMustMatch) {
  session::AppliedBatch b = sample();
  b.aliases.pop_back();
  EXPECT_EQ(encode_applied_batch(b).status().code(), StatusCode::invalid_argument);
  b = sample();
  b.results.pop_back();
  EXPECT_EQ(encode_applied_batch(b).status().code(), StatusCode::invalid_argument);
}

TEST(AppliedBatchCodec, BadBytesGiveErrors) {
  Result<std::string> bytes = encode_applied_batch(sample());
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_FALSE(decode_applied_batch("").is_ok());
  EXPECT_FALSE(decode_applied_batch(bytes->substr(0, bytes->size() / 2)).is_ok());
  // An operation batch is not an applied batch.
  Result<std::string> ops = encode_batch(sample().ops);
  ASSERT_TRUE(ops.is_ok());
  EXPECT_FALSE(decode_applied_batch(*ops).is_ok());
}

}  // namespace
}  // namespace mgraph::codec

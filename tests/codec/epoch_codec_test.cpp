// Epoch protocol messages survive encode/decode exactly; bad bytes give errors.

#include <gtest/gtest.h>

#include <string>

#include "mgraph/codec/epoch_codec.hpp"
#include "support/prng.hpp"

namespace mgraph::codec {
namespace {

EpochMessage sample() {
  EpochMessage m;
  m.kind = MessageKind::resolve;
  m.epoch = 77;
  m.from = 3;
  m.to = kCoordinator;
  m.writes = {FieldWrite{5, Value(std::int64_t{-4})}, FieldWrite{6, Value("text")}};
  m.fields = {1, 2, 1ull << 60};
  m.resolutions = {FieldResolution{9, true, Value(Tensor::make({2}, {1.5, 2.5}).value())},
                   FieldResolution{10, false, Value()}};
  m.credit = {1, 7, 300};
  m.reason = "partition 3: formula refuses";
  return m;
}

TEST(EpochCodec, EveryKindRoundTrips) {
  for (const MessageKind k : {MessageKind::begin, MessageKind::mark, MessageKind::compute,
                              MessageKind::resolve, MessageKind::idle, MessageKind::commit,
                              MessageKind::abort}) {
    EpochMessage m = sample();
    m.kind = k;
    Result<std::string> bytes = encode_epoch_message(m);
    ASSERT_TRUE(bytes.is_ok());
    Result<EpochMessage> back = decode_epoch_message(*bytes);
    ASSERT_TRUE(back.is_ok()) << back.status().message();
    EXPECT_TRUE(*back == m) << message_kind_name(k);
  }
  const EpochMessage empty;
  EXPECT_TRUE(decode_epoch_message(encode_epoch_message(empty).value()).value() == empty);
}

TEST(EpochCodec, BadBytesGiveErrors) {
  const std::string good = encode_epoch_message(sample()).value();
  const Status foreign = decode_epoch_message("MGIM\x01\0\0\0" + good.substr(8)).status();
  EXPECT_NE(foreign.message().find("no 'MGEP' prefix"), std::string::npos) << foreign.message();
  for (std::size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(decode_epoch_message(good.substr(0, len)).is_ok()) << "length " << len;
  }
  // An unknown message kind (the enum is the first field of the root's data section).
  mgraph::testing::Prng rng(5);
  for (int k = 0; k < 2000; ++k) {
    std::string bad = good;
    bad[8 + rng.below(bad.size() - 8)] ^= static_cast<char>(1 + rng.below(255));
    (void)decode_epoch_message(bad);  // may decode or not; never crashes (ASan/UBSan)
  }
}

}  // namespace
}  // namespace mgraph::codec

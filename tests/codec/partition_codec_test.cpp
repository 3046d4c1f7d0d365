// The requests of the documents' driver to a partition and the partition's replies as
// bytes (codec/partition_codec.hpp): every kind of request and a reply with every member
// set round-trip exactly; bad bytes give a Status, never a crash; a request of an unknown
// kind, and ops naming a record created by a later op of their batch, are refused.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "mgraph/codec/partition_codec.hpp"
#include "support/prng.hpp"

namespace mgraph::codec {
namespace {

constexpr PartitionRequestKind kEveryKind[] = {
    PartitionRequestKind::apply,   PartitionRequestKind::check_link, PartitionRequestKind::begin,
    PartitionRequestKind::mark,    PartitionRequestKind::deliver,    PartitionRequestKind::compute,
    PartitionRequestKind::pending, PartitionRequestKind::reject,     PartitionRequestKind::probe,
    PartitionRequestKind::dot,     PartitionRequestKind::reset, PartitionRequestKind::add_revision,
    PartitionRequestKind::checkpoint, PartitionRequestKind::restore, PartitionRequestKind::records,
};

Value tensor() { return Value(Tensor::make({2, 2}, {1.5, -2.5, 0.0, 1e300}).value()); }

/// Ops 7.. of a batch: the update names the record of op 7 (this request's create) and
/// the link one of op 3 (a create earlier in the batch, sent in another request).
session::Batch sample_ops() {
  session::Batch ops(6);
  ops[0].kind = session::OpKind::create;
  ops[0].entity = "Order";
  ops[0].values = {{"note", Value("a \"quoted\" note")}, {"n", Value(3)}, {"f", Value(0.25)},
                   {"ok", Value(true)}, {"m", tensor()}, {"none", Value()}};
  ops[1].kind = session::OpKind::update;
  ops[1].refs = {session::RecordRef{0, {7}, "o1"}};
  ops[1].values = {{"n", Value(std::int64_t{-9})}};
  ops[2].kind = session::OpKind::link;
  ops[2].refs = {session::RecordRef{0, {7, 3}, "o1"}, session::RecordRef{42, {}, "#42"}};
  ops[2].name = "items";
  ops[3].kind = session::OpKind::set;
  ops[3].refs = {session::RecordRef{42, {}, "#42"}};
  ops[3].name = "price";
  ops[3].value = Value("text value");
  ops[4].kind = session::OpKind::get;
  ops[4].refs = {session::RecordRef{0, {3}, "i"}};
  ops[4].name = "price";
  ops[4].text = "i.price";
  ops[5].kind = session::OpKind::invalid;
  ops[5].refs = {session::RecordRef{5, {}, "x"}};
  ops[5].error = Status(StatusCode::not_found, "unknown record 'y'");
  return ops;
}

PartitionRequest sample_request(PartitionRequestKind kind) {
  PartitionRequest q;
  q.kind = kind;
  q.batch = (std::uint64_t{1} << 40) + 3;
  q.first = 7;
  q.ops = sample_ops();
  q.messages = {PartitionMessage{false, 12, false, Value(), {}},
                PartitionMessage{true, 13, true, Value(std::int64_t{-5}), {}},
                PartitionMessage{true, 14, true, Value("text"), {FieldState::failed, 14, "division by zero"}},
                PartitionMessage{true, 15, false, Value(), {}},
                PartitionMessage{true, 16, true, tensor(), {FieldState::blocked, 14, "division by zero"}},
                PartitionMessage{true, kNoNode, true, Value(2.75), {}},
                PartitionMessage{true, 0, true, Value(false), {}}};
  q.record = ~std::uint64_t{0};
  q.name = "items";
  q.other = 99;
  q.mark_after = true;
  q.compute_after = true;
  q.preview = true;
  q.reporter = 2;
  return q;
}

EffectTrigger sample_trigger() {
  EffectTrigger t;
  t.node = 17;
  t.version = 4;
  t.record = 9;
  t.effect = "Order.big";
  t.value = Value(std::int64_t{3});
  t.policy.initial = std::chrono::milliseconds(50);
  t.policy.multiplier = 1.5;
  t.policy.max_delay = std::chrono::milliseconds(400);
  t.policy.max_attempts = 4;
  t.policy.mode = schema::DeliveryMode::counted;
  return t;
}

/// Changes of an effect (a queue's trigger with its payload) and of a @versioned field.
std::vector<session::RecordedChange> sample_recorded() {
  return {session::RecordedChange{9, 2, Value(std::int64_t{2}), true, R"({"value":2,"values":{},"time":null})"},
          session::RecordedChange{10, 7, Value("seven"), false, ""},
          session::RecordedChange{kNoNode - 1, 1, Value(true), true, ""}};
}

PartitionReply sample_reply() {
  PartitionReply a;
  a.status = Status(StatusCode::cycle, "dependency cycle across partitions among o.total");
  a.results.resize(5);
  a.results[0].created = 17;
  a.results[1].status = Status(StatusCode::not_found, "no record #3");
  a.results[2].value = Value("a text");
  a.results[2].version = 4;
  a.results[2].revision = 9;
  a.results[3].revision = 10;
  a.results[3].changed = 6;
  a.results[4].status = Status(StatusCode::rejected, "price refused");
  a.results[4].text = "digraph {}";
  a.results[4].value = tensor();
  a.stale = {0, 3, 7, kNoNode - 1};
  a.resolved = {PartitionMessage{true, 3, true, Value(1.5), {FieldState::failed, 3, "Item.unit: infinite"}},
                PartitionMessage{true, 4, false, Value(), {}},
                PartitionMessage{true, 5, true, Value("resolved text"), {FieldState::blocked, 3, ""}},
                PartitionMessage{true, 6, true, Value(std::int64_t{1} << 50), {}},
                PartitionMessage{true, 8, true, Value(true), {}}};
  a.pending = {{3, "o.total", {4, 9}}, {9, "i.price", {}}, {10, "", {3}}};
  a.in_transaction = true;
  a.revision = 123456789012ull;
  a.owned_changed = 77;
  a.computed = true;
  a.dot_nodes = {"n0 [label=\"o.total\"];", "", "n2 [label=\"i.price\"];"};
  a.dot_edges = {"", "n0 -> n1;", "n1 -> n2;\nn0 -> n2;"};
  a.effects = {sample_trigger()};
  a.checkpoint_bytes = 123456789;
  a.changes = {FieldChange{7, "Order", "total", Value(std::int64_t{12}), 3},
               FieldChange{8, "Customer", "name", Value("Ada"), 0},
               FieldChange{8, "Customer", "exists", Value(true), 1}};
  a.recorded = sample_recorded();
  a.request_results = {session::RequestResult{11, 2, Value(0.75), "written"},
                       session::RequestResult{12, 9, Value(), "superseded"}};
  a.results_count = 4096;
  a.results_digest = 0xfedcba9876543210ull;
  a.previewed = true;
  a.preview_revision = 0x0123456789abcdefull;
  a.preview_owned_changed = 77;
  a.confined = true;
  a.written_owners = {0, 2, 4294967295u};
  return a;
}

/// The bytes of `good` with byte `at` replaced.
std::string with_byte(std::string good, std::size_t at, char byte) {
  good[at] = byte;
  return good;
}

/// The one byte where `a` and `b` (of the same size) differ; SIZE_MAX when not exactly one.
std::size_t only_difference(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return SIZE_MAX;
  std::size_t at = SIZE_MAX;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (at != SIZE_MAX) return SIZE_MAX;
    at = i;
  }
  return at;
}

TEST(PartitionCodec, EveryRequestKindRoundTrips) {
  for (const PartitionRequestKind kind : kEveryKind) {
    SCOPED_TRACE(partition_request_kind_name(kind));
    EXPECT_STRNE(partition_request_kind_name(kind), "unknown");
    const PartitionRequest q = sample_request(kind);
    Result<std::string> bytes = encode_partition_request(q);
    ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
    EXPECT_EQ(bytes->substr(0, 4), "MGPQ");
    Result<PartitionRequest> back = decode_partition_request(*bytes);
    ASSERT_TRUE(back.is_ok()) << back.status().message();
    EXPECT_TRUE(*back == q);
    EXPECT_EQ(back->kind, kind);
    EXPECT_EQ(back->ops.size(), q.ops.size());
    EXPECT_EQ(back->messages.size(), q.messages.size());

    // The same kind with nothing else set: empty lists and texts read back empty.
    PartitionRequest bare;
    bare.kind = kind;
    Result<std::string> bare_bytes = encode_partition_request(bare);
    ASSERT_TRUE(bare_bytes.is_ok());
    Result<PartitionRequest> bare_back = decode_partition_request(*bare_bytes);
    ASSERT_TRUE(bare_back.is_ok()) << bare_back.status().message();
    EXPECT_TRUE(*bare_back == bare);
  }
}

TEST(PartitionCodec, AReplyWithEveryMemberSetRoundTrips) {
  const PartitionReply a = sample_reply();
  Result<std::string> bytes = encode_partition_reply(a);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  EXPECT_EQ(bytes->substr(0, 4), "MGPR");
  Result<PartitionReply> back = decode_partition_reply(*bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_TRUE(*back == a);
  // Member by member, so that a failure says which.
  EXPECT_EQ(back->status, a.status);
  EXPECT_EQ(back->results, a.results);
  EXPECT_EQ(back->stale, a.stale);
  EXPECT_EQ(back->resolved, a.resolved);
  EXPECT_EQ(back->pending, a.pending);
  EXPECT_EQ(back->in_transaction, a.in_transaction);
  EXPECT_EQ(back->revision, a.revision);
  EXPECT_EQ(back->owned_changed, a.owned_changed);
  EXPECT_EQ(back->computed, a.computed);
  EXPECT_EQ(back->dot_nodes, a.dot_nodes);
  EXPECT_EQ(back->dot_edges, a.dot_edges);
  EXPECT_EQ(back->effects, a.effects);
  EXPECT_EQ(back->checkpoint_bytes, a.checkpoint_bytes);
  EXPECT_EQ(back->changes, a.changes);

  // An ok reply, and the default one.
  PartitionReply ok = a;
  ok.status = Status::ok();
  Result<PartitionReply> ok_back = decode_partition_reply(encode_partition_reply(ok).value());
  ASSERT_TRUE(ok_back.is_ok()) << ok_back.status().message();
  EXPECT_TRUE(*ok_back == ok);
  const PartitionReply empty;
  Result<PartitionReply> empty_back = decode_partition_reply(encode_partition_reply(empty).value());
  ASSERT_TRUE(empty_back.is_ok()) << empty_back.status().message();
  EXPECT_TRUE(*empty_back == empty);
}

TEST(PartitionCodec, AnEffectReportRoundTripsAndBadBytesAreRefused) {
  EffectReport r;
  r.triggers = {sample_trigger(), sample_trigger()};
  r.triggers[1].value = Value(true);
  // A queue's trigger with what it carries.
  r.triggers[0].queue = true;
  r.triggers[0].values = {{"total", Value(std::int64_t{150})}, {"note", Value()}};
  r.triggers[0].time = Value(std::int64_t{5000});
  r.acked = {{17, 3}, {2, 1}};
  r.unkeyed = {{4, "big"}, {9, "notify"}};
  r.recorded = sample_recorded();
  r.request_results = {session::RequestResult{11, 2, Value("high"), "written"}};
  Result<std::string> bytes = encode_effect_report(r);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  Result<EffectReport> back = decode_effect_report(*bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(decode_effect_report(bytes->substr(0, bytes->size() - 3)).is_ok());
  EXPECT_FALSE(decode_effect_report("MGPR").is_ok());
  Result<EffectReport> empty = decode_effect_report(encode_effect_report({}).value());
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
  // A report of script acks alone is not empty.
  EffectReport unkeyed;
  unkeyed.unkeyed = {{4, "big"}};
  EXPECT_FALSE(unkeyed.empty());
  // So is one of recorded versions alone (an epoch that raised and acked nothing).
  EffectReport recorded;
  recorded.recorded = {sample_recorded()[1]};
  EXPECT_FALSE(recorded.empty());
}

TEST(PartitionCodec, AnEpochsFieldChangesRoundTripAndBadBytesAreRefused) {
  const std::vector<FieldChange> changes = {FieldChange{7, "Order", "total", Value(std::int64_t{12}), 3},
                                            FieldChange{8, "Customer", "name", Value("Ada"), 0},
                                            FieldChange{8, "Customer", "score", Value(2.5), 4}};
  Result<std::string> bytes = encode_field_changes(changes);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  Result<std::vector<FieldChange>> back = decode_field_changes(*bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(*back, changes);
  for (std::size_t len = 0; len < bytes->size(); ++len) {
    EXPECT_FALSE(decode_field_changes(bytes->substr(0, len)).is_ok()) << "cut to " << len;
  }
  // Other kinds of bytes are told apart by their magic.
  EXPECT_FALSE(decode_field_changes(encode_effect_report({}).value()).is_ok());
  Result<std::vector<FieldChange>> none = decode_field_changes(encode_field_changes({}).value());
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
}

TEST(PartitionCodec, EmptyForeignAndOtherVersionBytesAreRefused) {
  const std::string request = encode_partition_request(sample_request(PartitionRequestKind::apply)).value();
  const std::string reply = encode_partition_reply(sample_reply()).value();

  EXPECT_FALSE(decode_partition_request("").is_ok());
  EXPECT_FALSE(decode_partition_reply("").is_ok());
  EXPECT_FALSE(decode_partition_request(std::string_view()).is_ok());

  // A request is no reply and a reply no request.
  EXPECT_FALSE(decode_partition_reply(request).is_ok());
  EXPECT_FALSE(decode_partition_request(reply).is_ok());

  // Wrong magic: each byte of it.
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE("magic byte " + std::to_string(i));
    const Result<PartitionRequest> q = decode_partition_request(with_byte(request, i, 'x'));
    ASSERT_FALSE(q.is_ok());
    EXPECT_NE(q.status().code(), StatusCode::ok);
    EXPECT_FALSE(decode_partition_reply(with_byte(reply, i, 'x')).is_ok());
  }
  // Other format versions (little-endian u32 after the magic): older, newer, far off.
  ASSERT_EQ(kPartitionFormatVersion, 2u);
  for (const std::uint32_t version : {0u, 1u, 3u, 256u, 0x01000001u, 0xffffffffu}) {
    SCOPED_TRACE("version " + std::to_string(version));
    std::string q = request, a = reply;
    for (int i = 0; i < 4; ++i) {
      q[4 + static_cast<std::size_t>(i)] = static_cast<char>((version >> (8 * i)) & 0xff);
      a[4 + static_cast<std::size_t>(i)] = static_cast<char>((version >> (8 * i)) & 0xff);
    }
    EXPECT_FALSE(decode_partition_request(q).is_ok());
    EXPECT_FALSE(decode_partition_reply(a).is_ok());
  }
  // The prefix alone.
  EXPECT_FALSE(decode_partition_request(request.substr(0, 8)).is_ok());
  EXPECT_FALSE(decode_partition_reply(reply.substr(0, 8)).is_ok());
  // Trailing bytes after a whole message.
  EXPECT_FALSE(decode_partition_request(request + std::string(8, '\0')).is_ok());
  EXPECT_FALSE(decode_partition_reply(reply + std::string(8, '\0')).is_ok());
}

TEST(PartitionCodec, EveryTruncationIsRefused) {
  const std::string request = encode_partition_request(sample_request(PartitionRequestKind::deliver)).value();
  const std::string reply = encode_partition_reply(sample_reply()).value();
  ASSERT_GT(request.size(), 64u);
  ASSERT_GT(reply.size(), 64u);
  for (std::size_t len = 0; len < request.size(); ++len) {
    const Result<PartitionRequest> q = decode_partition_request(std::string_view(request).substr(0, len));
    EXPECT_FALSE(q.is_ok()) << "request cut to " << len << " of " << request.size() << " bytes";
  }
  for (std::size_t len = 0; len < reply.size(); ++len) {
    const Result<PartitionReply> a = decode_partition_reply(std::string_view(reply).substr(0, len));
    EXPECT_FALSE(a.is_ok()) << "reply cut to " << len << " of " << reply.size() << " bytes";
  }
}

TEST(PartitionCodec, RandomBytesAreRefusedWithoutACrash) {
  mgraph::testing::Prng rng(20240611);
  const std::string request_prefix = encode_partition_request(PartitionRequest{}).value().substr(0, 8);
  const std::string reply_prefix = encode_partition_reply(PartitionReply{}).value().substr(0, 8);
  for (int k = 0; k < 3000; ++k) {
    std::string noise(rng.below(300), '\0');
    for (char& c : noise) c = static_cast<char>(rng.below(256));
    SCOPED_TRACE("sample " + std::to_string(k) + " of " + std::to_string(noise.size()) + " bytes");
    // Raw noise, and noise behind a valid prefix (reaching Cap'n Proto's reader).
    EXPECT_FALSE(decode_partition_request(noise).is_ok());
    EXPECT_FALSE(decode_partition_reply(noise).is_ok());
    EXPECT_FALSE(decode_partition_request(request_prefix + noise).is_ok());
    EXPECT_FALSE(decode_partition_reply(reply_prefix + noise).is_ok());
  }
}

TEST(PartitionCodec, FlippedBytesOfValidMessagesNeverCrash) {
  // A flipped byte may still decode (a value or a count changes); what decodes must then
  // be a message that encodes and decodes to itself.
  const std::string request = encode_partition_request(sample_request(PartitionRequestKind::apply)).value();
  const std::string reply = encode_partition_reply(sample_reply()).value();
  mgraph::testing::Prng rng(77);
  std::size_t refused = 0;
  for (int k = 0; k < 4000; ++k) {
    std::string q = request, a = reply;
    const int flips = 1 + static_cast<int>(rng.below(3));
    for (int f = 0; f < flips; ++f) {
      q[8 + rng.below(q.size() - 8)] ^= static_cast<char>(1 + rng.below(255));
      a[8 + rng.below(a.size() - 8)] ^= static_cast<char>(1 + rng.below(255));
    }
    const Result<PartitionRequest> dq = decode_partition_request(q);
    if (dq.is_ok()) {
      Result<std::string> again = encode_partition_request(*dq);
      ASSERT_TRUE(again.is_ok()) << "sample " << k << ": " << again.status().message();
      Result<PartitionRequest> twice = decode_partition_request(*again);
      ASSERT_TRUE(twice.is_ok()) << "sample " << k << ": " << twice.status().message();
      EXPECT_TRUE(*twice == *dq) << "sample " << k;
    } else {
      EXPECT_NE(dq.status().code(), StatusCode::ok);
      ++refused;
    }
    const Result<PartitionReply> da = decode_partition_reply(a);
    if (da.is_ok()) {
      Result<std::string> again = encode_partition_reply(*da);
      ASSERT_TRUE(again.is_ok()) << "sample " << k << ": " << again.status().message();
      Result<PartitionReply> twice = decode_partition_reply(*again);
      ASSERT_TRUE(twice.is_ok()) << "sample " << k << ": " << twice.status().message();
      EXPECT_TRUE(*twice == *da) << "sample " << k;
    } else {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0u);  // the checks are exercised, not only the happy path
}

TEST(PartitionCodec, AnUnknownRequestKindIsRefused) {
  // Two requests that differ only in their kind differ in one byte: the kind's.
  PartitionRequest q = sample_request(PartitionRequestKind::apply);
  const std::string apply = encode_partition_request(q).value();
  q.kind = PartitionRequestKind::records;
  const std::string last = encode_partition_request(q).value();
  const std::size_t at = only_difference(apply, last);
  ASSERT_NE(at, SIZE_MAX);
  ASSERT_EQ(last[at], static_cast<char>(PartitionRequestKind::records));
  // The last kind is accepted; every value after it is refused.
  ASSERT_TRUE(decode_partition_request(last).is_ok());
  for (const int kind : {15, 16, 100, 255}) {
    SCOPED_TRACE("kind " + std::to_string(kind));
    const Result<PartitionRequest> bad = decode_partition_request(with_byte(apply, at, static_cast<char>(kind)));
    ASSERT_FALSE(bad.is_ok());
    EXPECT_NE(bad.status().message().find("unknown request kind"), std::string::npos)
        << bad.status().message();
  }
  // The kind is 16 bits wide: its high byte set is refused too.
  const Result<PartitionRequest> high = decode_partition_request(with_byte(apply, at + 1, '\x01'));
  EXPECT_FALSE(high.is_ok());
}

TEST(PartitionCodec, AReplysUnknownStatusCodeIsRefused) {
  PartitionReply a = sample_reply();
  a.status = Status(StatusCode::invalid_argument, "same message");
  const std::string invalid = encode_partition_reply(a).value();
  a.status = Status(StatusCode::internal, "same message");
  const std::string internal = encode_partition_reply(a).value();
  const std::size_t at = only_difference(invalid, internal);
  ASSERT_NE(at, SIZE_MAX);
  ASSERT_TRUE(decode_partition_reply(internal).is_ok());
  EXPECT_FALSE(decode_partition_reply(with_byte(invalid, at, static_cast<char>(200))).is_ok());
  // An ok code carrying a message is no status either.
  EXPECT_FALSE(decode_partition_reply(with_byte(invalid, at, '\0')).is_ok());
}

TEST(PartitionCodec, AResolvesUnknownFieldStateIsRefused) {
  PartitionReply a = sample_reply();
  a.resolved = {PartitionMessage{true, 3, true, Value(1.5), {FieldState::failed, 3, "why"}}};
  const std::string failed = encode_partition_reply(a).value();
  a.resolved[0].condition.state = FieldState::blocked;
  const std::string blocked = encode_partition_reply(a).value();
  const std::size_t at = only_difference(failed, blocked);
  ASSERT_NE(at, SIZE_MAX);
  ASSERT_EQ(decode_partition_reply(blocked).value().resolved, a.resolved);
  const Result<PartitionReply> bad = decode_partition_reply(with_byte(failed, at, '\x03'));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("unknown field state 3"), std::string::npos) << bad.status().message();
}

/// An apply request of two ops starting at index `first` of its batch: a create, then an
/// update of the record that op `by` of the batch created.
PartitionRequest apply_naming(std::uint32_t first, std::uint32_t position, std::uint32_t by) {
  PartitionRequest q;
  q.kind = PartitionRequestKind::apply;
  q.batch = 1;
  q.first = first;
  q.ops.resize(2);
  q.ops[0].kind = session::OpKind::create;
  q.ops[0].entity = "Item";
  q.ops[1].kind = session::OpKind::update;
  q.ops[1].refs = {session::RecordRef{0, {}, "i"}};
  q.ops[1].values = {{"price", Value(1)}};
  if (position == 0) {  // the create is replaced by an update naming op `by`
    q.ops[0] = q.ops[1];
  }
  q.ops[position].refs[0].created_by = {by};
  return q;
}

TEST(PartitionCodec, OpsMayNameOnlyRecordsOfEarlierOpsOfTheirBatch) {
  struct Case {
    std::uint32_t first, position, by;
    bool accepted;
  };
  const Case cases[] = {
      {5, 1, 5, true},    // the create just before it, in this request
      {5, 1, 4, true},    // an op of the batch before this request
      {5, 1, 0, true},    // the batch's first op
      {5, 0, 4, true},    // the first op of the request names one before the request
      {5, 1, 6, false},   // itself
      {5, 1, 7, false},   // an op after it
      {5, 0, 5, false},   // the first op of the request naming itself
      {0, 0, 0, false},   // the batch's first op naming itself
      {5, 1, 0xffffffffu, false},
      {0xfffffff0u, 1, 0xfffffff0u, true},  // large indices do not wrap
      {0xfffffff0u, 1, 0xfffffff1u, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("first " + std::to_string(c.first) + ", op " + std::to_string(c.position) +
                 " names op " + std::to_string(c.by));
    const PartitionRequest q = apply_naming(c.first, c.position, c.by);
    Result<std::string> bytes = encode_partition_request(q);
    ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
    const Result<PartitionRequest> back = decode_partition_request(*bytes);
    EXPECT_EQ(back.is_ok(), c.accepted) << (back.is_ok() ? "" : back.status().message());
    if (back.is_ok()) {
      EXPECT_TRUE(*back == q);
    } else {
      EXPECT_NE(back.status().message().find("not an earlier one"), std::string::npos)
          << back.status().message();
    }
  }
  // The same references in a request of another kind are checked alike: ops travel only
  // with apply, but a decoder takes no ops it could not apply.
  PartitionRequest probe = apply_naming(5, 1, 6);
  probe.kind = PartitionRequestKind::probe;
  EXPECT_FALSE(decode_partition_request(encode_partition_request(probe).value()).is_ok());
}

TEST(EpochCheckpointCodec, RoundTripsOwedDeliveriesAndAnswersAndIsToldFromOtherEntries) {
  EpochCheckpoint c;
  c.epoch = 1234;
  c.image_bytes = 99999;
  const EffectTrigger t = sample_trigger();
  session::Delivery d;
  d.key = session::DeliveryKey{t.node, t.version};
  d.epoch = 1200;
  // A queue's delivery keeps the values its trigger carried and the clock then.
  d.payload = session::EffectPayload{t.record, t.effect, t.value, true,
                                     {{"total", Value(std::int64_t{150})}, {"status", Value(std::string("open"))}},
                                     Value(std::int64_t{5000})};
  d.policy = t.policy;
  d.attempts = 2;
  c.owed.pending = {d};
  d.key.version += 1;
  d.attempts = 5;
  d.covered = {{t.node, 1}, {t.node, 2}};  // a counted delivery's earlier triggers
  c.owed.dead = {d};
  c.owed.settled = {{7, 1}, {7, 3}};
  c.answers = {{session::TxnId{0xabc, 9}, std::string("answer\0bytes", 12)}};
  Result<std::string> bytes = encode_epoch_checkpoint(c);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  EXPECT_TRUE(is_epoch_checkpoint(*bytes));
  Result<EpochCheckpoint> back = decode_epoch_checkpoint(*bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->epoch, c.epoch);
  EXPECT_EQ(back->image_bytes, c.image_bytes);
  for (session::Delivery* x : {&c.owed.pending[0], &c.owed.dead[0]}) x->next_due = {};
  EXPECT_EQ(back->owed, c.owed);
  EXPECT_EQ(back->answers, c.answers);
  // Other log entries are not checkpoints, and a checkpoint's bytes are no other entry.
  Result<std::string> report = encode_effect_report(EffectReport{});
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(is_epoch_checkpoint(*report));
  EXPECT_FALSE(decode_epoch_checkpoint(*report).is_ok());
  EXPECT_FALSE(decode_epoch_checkpoint(bytes->substr(0, bytes->size() / 2)).is_ok());
}

}  // namespace
}  // namespace mgraph::codec

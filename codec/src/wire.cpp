#include "wire.hpp"

#include <kj/io.h>

#include "mgraph/graph/assert.hpp"

namespace mgraph::codec::detail {

unsigned n(std::size_t size) {
  if (size > kListMax) {
    throw EncodeError{"a list of " + std::to_string(size) + " elements exceeds the format's " +
                      std::to_string(kListMax)};
  }
  return static_cast<unsigned>(size);
}

void put_value(wire::Value::Builder b, const Value& v) {
  switch (v.type()) {
    case ValueType::null:
      b.setNull();
      return;
    case ValueType::boolean:
      b.setBoolean(v.as_bool());
      return;
    case ValueType::int64:
      b.setInt64(v.as_int());
      return;
    case ValueType::float64:
      b.setFloat64(v.as_double());
      return;
    case ValueType::string: {
      const std::string_view s = v.as_string();
      b.setText(capnp::Text::Reader(s.data(), s.size()));
      return;
    }
    case ValueType::tensor: {
      const Tensor t = v.as_tensor();
      auto tb = b.initTensor();
      auto shape = tb.initShape(static_cast<unsigned>(t.rank()));
      for (std::size_t i = 0; i < t.rank(); ++i) shape.set(static_cast<unsigned>(i), t.dim(i));
      const std::span<const double> data = t.data();
      auto db = tb.initData(n(data.size()));
      for (std::size_t i = 0; i < data.size(); ++i) db.set(static_cast<unsigned>(i), data[i]);
      return;
    }
  }
}

Value get_value(wire::Value::Reader r) {
  switch (r.which()) {
    case wire::Value::NULL_:
      return Value();
    case wire::Value::BOOLEAN:
      return Value(r.getBoolean());
    case wire::Value::INT64:
      return Value(static_cast<std::int64_t>(r.getInt64()));
    case wire::Value::FLOAT64:
      return Value(r.getFloat64());
    case wire::Value::TEXT: {
      const capnp::Text::Reader t = r.getText();
      return Value(std::string_view(t.cStr(), t.size()));
    }
    case wire::Value::TENSOR: {
      const auto t = r.getTensor();
      std::vector<std::size_t> shape;
      for (const std::uint64_t d : t.getShape()) shape.push_back(static_cast<std::size_t>(d));
      std::vector<double> data;
      data.reserve(t.getData().size());
      for (const double x : t.getData()) data.push_back(x);
      Result<Tensor> made = Tensor::make(shape, data);
      if (!made.is_ok()) throw DecodeError{"bad tensor: " + made.status().message()};
      return Value(*made);
    }
  }
  throw DecodeError{"value of an unknown kind"};
}

std::string finish(capnp::MallocMessageBuilder& message, const char (&magic)[4],
                   std::uint32_t version) {
  // Straight into the output: no intermediate flat array of the whole message.
  const std::size_t body = capnp::computeSerializedSizeInWords(message) * sizeof(capnp::word);
  std::string out(kPrefixBytes + body, '\0');
  std::memcpy(out.data(), magic, 4);
  put_le32(out.data() + 4, version);
  kj::ArrayOutputStream stream(kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()) + kPrefixBytes, body));
  capnp::writeMessage(stream, message);
  MG_ASSERT(stream.getArray().size() == body);
  return out;
}

std::uint32_t version_of(std::string_view bytes, const char (&magic)[4]) {
  if (bytes.size() < kPrefixBytes || std::memcmp(bytes.data(), magic, 4) != 0) return 0;
  return get_le32(bytes.data() + 4);
}

void SinkStream::write(const void* buffer, size_t size) {
  if (failed_) return;
  Status s = sink_(std::string_view(static_cast<const char*>(buffer), size));
  if (s.is_ok()) return;
  failed_ = true;
  throw SinkError{std::move(s)};
}

Status unframe(std::string_view bytes, const char* what, const char (&magic)[4],
               std::uint32_t version, kj::Array<capnp::word>* words) {
  auto fail = [what](const std::string& why) {
    return Status(StatusCode::corruption, std::string(what) + ": " + why);
  };
  if (bytes.size() < kPrefixBytes || std::memcmp(bytes.data(), magic, 4) != 0) {
    return fail(std::string("not an mgraph ") + what + " (no '" + std::string(magic, 4) +
                "' prefix)");
  }
  const std::uint32_t found = get_le32(bytes.data() + 4);
  if (found != version) {
    return Status(StatusCode::failed_precondition,
                  std::string(what) + ": format version " + std::to_string(found) +
                      ", this build reads version " + std::to_string(version));
  }
  const std::string_view body = bytes.substr(kPrefixBytes);
  if (body.size() % sizeof(capnp::word) != 0)
    return fail("message length " + std::to_string(body.size()) + " is not a whole number of words");
  // Cap'n Proto reads 8-byte-aligned words: copy out of the (unaligned) byte buffer.
  *words = kj::heapArray<capnp::word>(body.size() / sizeof(capnp::word));
  if (!body.empty()) std::memcpy(words->begin(), body.data(), body.size());
  return Status::ok();
}

Status unframe_packed(std::string_view bytes, const char* what, const char (&magic)[4],
                      std::uint32_t version, kj::Array<capnp::word>* words) {
  auto fail = [what](const std::string& why) {
    return Status(StatusCode::corruption, std::string(what) + ": " + why);
  };
  if (bytes.size() < kPrefixBytes || std::memcmp(bytes.data(), magic, 4) != 0) {
    return fail(std::string("not an mgraph ") + what + " (no '" + std::string(magic, 4) +
                "' prefix)");
  }
  if (const std::uint32_t found = version_of(bytes, magic); found != version) {
    return Status(StatusCode::failed_precondition,
                  std::string(what) + ": format version " + std::to_string(found) +
                      ", this build reads version " + std::to_string(version));
  }
  const auto packed = kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()) + kPrefixBytes,
                                   bytes.size() - kPrefixBytes);
  try {
    // Counted first without unpacking, so that the words are allocated once, at their
    // size; then the message is read as a plain one is (read_words), with its bounds.
    const std::size_t count = capnp::computeUnpackedSizeInWords(packed);
    *words = kj::heapArray<capnp::word>(count);
    kj::ArrayInputStream input(packed);
    capnp::_::PackedInputStream unpacked(input);
    unpacked.read(words->begin(), count * sizeof(capnp::word));
    if (input.tryGetReadBuffer().size() != 0) return fail("trailing bytes after the message");
  } catch (const kj::Exception& e) {
    return fail(std::string(e.getDescription().cStr()));
  }
  return Status::ok();
}

}  // namespace mgraph::codec::detail

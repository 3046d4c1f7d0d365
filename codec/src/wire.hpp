#pragma once
// What every mgraph Cap'n Proto message shares (internal to codec/): the 8-byte prefix
// (4-byte magic, u32 format version, little-endian), values, list lengths, and bounded,
// validating decoding. A decoder throws DecodeError for bad content; decode() turns it,
// and every Cap'n Proto error, into a Status.

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <cstdint>
#include <functional>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/codec/wire/image.capnp.h"
#include "mgraph/graph/little_endian.hpp"
#include "mgraph/graph/status.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph::codec::detail {

inline constexpr std::size_t kPrefixBytes = 8;
/// Deepest nesting a decoder follows (history records hold records).
inline constexpr int kNestingLimit = 128;
/// Elements in one Cap'n Proto list at most.
inline constexpr std::size_t kListMax = (std::size_t{1} << 29) - 1;

/// Thrown while decoding a message whose content (not its framing) is bad.
struct DecodeError {
  std::string what;
};

/// Thrown while encoding a list longer than a Cap'n Proto list can be.
struct EncodeError {
  std::string what;
};

/// A list length for init*(); throws EncodeError beyond kListMax.
unsigned n(std::size_t size);

void put_value(wire::Value::Builder b, const Value& v);
/// Throws DecodeError for a value the engine cannot hold (a bad tensor).
Value get_value(wire::Value::Reader r);

template <typename T, typename ListReader>
std::vector<T> get_list(ListReader r) {
  std::vector<T> out;
  out.reserve(r.size());
  for (const auto x : r) out.push_back(static_cast<T>(x));
  return out;
}

/// The prefix and the message, in one string.
std::string finish(capnp::MallocMessageBuilder& message, const char (&magic)[4],
                   std::uint32_t version);

/// Builds a message with `build(MallocMessageBuilder&)`; errors name `what`.
template <typename Fn>
Result<std::string> encode(const char* what, const char (&magic)[4], std::uint32_t version,
                           Fn build) {
  try {
    capnp::MallocMessageBuilder message;
    build(message);
    return finish(message, magic, version);
  } catch (const EncodeError& e) {
    return Status(StatusCode::out_of_range, std::string(what) + ": " + e.what);
  } catch (const kj::Exception& e) {
    return Status(StatusCode::internal, std::string(what) + ": " + e.getDescription().cStr());
  }
}

/// Checks the prefix of `bytes` against `magic` and `version`; the message's words,
/// copied into aligned storage, in *words.
Status unframe(std::string_view bytes, const char* what, const char (&magic)[4],
               std::uint32_t version, kj::Array<capnp::word>* words);

/// The format version in the prefix of `bytes` (0 when there is no prefix with `magic`).
std::uint32_t version_of(std::string_view bytes, const char (&magic)[4]);

/// Thrown by a SinkStream when its sink fails; carries the sink's Status out of Cap'n Proto.
struct SinkError {
  Status status;
};

/// A kj::OutputStream that hands every piece written to it to a callback.
class SinkStream final : public kj::OutputStream {
 public:
  explicit SinkStream(const std::function<Status(std::string_view)>& sink) : sink_(sink) {}
  /// Throws SinkError when the sink fails; ignores what is written after that (a
  /// buffered stream flushes again while the error unwinds).
  void write(const void* buffer, size_t size) override;

 private:
  const std::function<Status(std::string_view)>& sink_;
  bool failed_ = false;
};

/// Builds a message with `build`, then writes the prefix (`magic`, `version`) and the
/// message in Cap'n Proto's packed encoding to `sink`, piece by piece: the encoding is
/// never held whole. Returns the sink's first failure, or an error naming `what`.
template <typename Fn>
Status write_packed(const char* what, const char (&magic)[4], std::uint32_t version,
                    const std::function<Status(std::string_view)>& sink, Fn build) {
  try {
    capnp::MallocMessageBuilder message;
    build(message);
    char prefix[kPrefixBytes];
    std::memcpy(prefix, magic, 4);
    put_le32(prefix + 4, version);
    if (Status s = sink(std::string_view(prefix, sizeof prefix)); !s.is_ok()) return s;
    SinkStream stream(sink);
    kj::BufferedOutputStreamWrapper buffered(stream);
    capnp::writePackedMessage(buffered, message);
    buffered.flush();
    return Status::ok();
  } catch (const SinkError& e) {
    return e.status;
  } catch (const EncodeError& e) {
    return Status(StatusCode::out_of_range, std::string(what) + ": " + e.what);
  } catch (const kj::Exception& e) {
    return Status(StatusCode::internal, std::string(what) + ": " + e.getDescription().cStr());
  }
}

/// Runs `read` on the root of type `Root` of the message in `words`; every failure becomes
/// a Status naming `what`.
template <typename Root, typename Fn>
auto read_words(const kj::Array<capnp::word>& words, const char* what, Fn read)
    -> Result<decltype(read(std::declval<typename Root::Reader>()))> {
  auto fail = [what](const std::string& why) {
    return Status(StatusCode::corruption, std::string(what) + ": " + why);
  };
  capnp::ReaderOptions options;
  // Every word is read about once; history lists are read once more by their checks.
  options.traversalLimitInWords = 4 * words.size() + 1024;
  options.nestingLimit = kNestingLimit;
  try {
    capnp::FlatArrayMessageReader reader(words.asPtr(), options);
    if (reader.getEnd() != words.end()) return fail("trailing bytes after the message");
    return read(reader.getRoot<Root>());
  } catch (const DecodeError& e) {
    return fail(e.what);
  } catch (const kj::Exception& e) {
    return fail(std::string(e.getDescription().cStr()));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

/// Decodes `bytes` and runs `read` on the root of type `Root`; every failure becomes a
/// Status naming `what`.
template <typename Root, typename Fn>
auto decode(std::string_view bytes, const char* what, const char (&magic)[4],
            std::uint32_t version, Fn read)
    -> Result<decltype(read(std::declval<typename Root::Reader>()))> {
  kj::Array<capnp::word> words;
  if (Status s = unframe(bytes, what, magic, version, &words); !s.is_ok()) return s;
  return read_words<Root>(words, what, read);
}

/// As unframe(), for a message in the packed encoding (write_packed): checks the prefix,
/// then unpacks the message into *words.
Status unframe_packed(std::string_view bytes, const char* what, const char (&magic)[4],
                      std::uint32_t version, kj::Array<capnp::word>* words);

/// As decode(), for a message in the packed encoding (write_packed).
template <typename Root, typename Fn>
auto decode_packed(std::string_view bytes, const char* what, const char (&magic)[4],
                   std::uint32_t version, Fn read)
    -> Result<decltype(read(std::declval<typename Root::Reader>()))> {
  kj::Array<capnp::word> words;
  if (Status s = unframe_packed(bytes, what, magic, version, &words); !s.is_ok()) return s;
  return read_words<Root>(words, what, read);
}

}  // namespace mgraph::codec::detail

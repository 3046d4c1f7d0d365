// libFuzzer target for checkpoint images: the Cap'n Proto decoders (decode_runner_image,
// decode_value) and the imports that take a decoded session image back into a Store
// and its Graph (Store::import_image, Graph::import_image).
//
// Input: bytes as a checkpoint stores them (image_codec.hpp). Every input goes through
// both decoders. A session image that decodes is imported into a fresh ScriptRunner of
// the one schema in image_fuzz_schema.hpp; an image the import accepts must be a state
// the engine can live with.
//
// Oracles checked here, beyond "no crash, leak, hang or sanitizer report":
//   1. Every failure carries a message.
//   2. What decodes encodes again, and decoding that encoding and encoding once more
//      gives the same bytes (values and session images alike).
//   3. An image that import_image accepts satisfies Graph::check_invariants().
//   4. Its state exports, and the export imports into another fresh runner and exports
//      there to the same bytes: a checkpoint of a restored session is a checkpoint.
//
// Bytes alone rarely get past the shape fingerprint, so LLVMFuzzerCustomMutator also
// mutates decoded images as data (image_mutator.hpp): half of the mutations change
// heights, flags, stamps, edges, history, members and aliases of an image and encode it
// again; the other half are libFuzzer's own byte mutations, which reach the decoder.
//
// Work per input is bounded by kInputBytesMax: the decoder's traversal limit is a
// multiple of the message size, and every record of an image costs at least a word.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "image_fuzz_schema.hpp"
#include "image_mutator.hpp"
#include "mgraph/codec/image_codec.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/script_runner.hpp"

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

using namespace mgraph;
using namespace mgraph::schema;
using mgraph::session::ScriptRunner;

/// Larger inputs are refused (scripts/fuzz.sh also passes -max_len with this value).
constexpr std::size_t kInputBytesMax = std::size_t{64} << 10;
/// Image mutations applied per structured mutation, at most.
constexpr std::uint64_t kMutationsPerInputMax = 3;

/// Stops the run: libFuzzer reports the input as a crash.
[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "image_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void check_error(const Status& s, const char* stage) {
  if (s.message().empty()) violated("an error without a message from", stage);
}

/// The fuzz schema, compiled once; a failure to compile it is a bug in the target.
const std::shared_ptr<const Schema>& fuzz_schema() {
  static const std::shared_ptr<const Schema> schema = [] {
    Result<std::shared_ptr<const Schema>> r = compile_schema(
        SourceFile{std::string(fuzz::kImageSchemaName), std::string(fuzz::kImageSchema)});
    if (!r.is_ok()) violated("the fuzz schema does not compile", r.status().message());
    return std::move(r).value();
  }();
  return schema;
}

template <typename T>
T value_or_die(Result<T> r, const char* what) {
  if (!r.is_ok()) violated(what, r.status().message());
  return std::move(r).value();
}

/// Oracle 2 for values.
void fuzz_value(std::string_view bytes) {
  Result<Value> v = codec::decode_value(bytes);
  if (!v.is_ok()) {
    check_error(v.status(), "decode_value");
    return;
  }
  const std::string once = value_or_die(codec::encode_value(*v), "a decoded value does not encode");
  const Value back = value_or_die(codec::decode_value(once), "an encoded value does not decode");
  const std::string twice = value_or_die(codec::encode_value(back), "a value does not re-encode");
  if (once != twice) violated("value encoding is not a fixpoint", back.to_json());
}

/// The runner's state, exported and encoded (oracle 4).
std::string checkpoint(ScriptRunner& runner, const char* what) {
  RunnerImage im = value_or_die(runner.export_image(), what);
  return value_or_die(codec::encode_runner_image(im), "an exported image does not encode");
}

/// Oracles 2-4 for session images.
void fuzz_runner_image(std::string_view bytes) {
  Result<RunnerImage> decoded = codec::decode_runner_image(bytes);
  if (!decoded.is_ok()) {
    check_error(decoded.status(), "decode_runner_image");
    return;
  }
  const std::string once =
      value_or_die(codec::encode_runner_image(*decoded), "a decoded image does not encode");
  const std::string twice =
      value_or_die(codec::encode_runner_image(value_or_die(codec::decode_runner_image(once),
                                                           "an encoded image does not decode")),
                   "a re-decoded image does not encode");
  if (once != twice) violated("image encoding is not a fixpoint", "");

  ScriptRunner runner(fuzz_schema(), StoreOptions{.history_limit = fuzz::kImageHistoryLimit, .placement = {}});
  if (Status s = runner.import_image(std::move(decoded).value()); !s.is_ok()) {
    check_error(s, "ScriptRunner::import_image");
    return;
  }
  if (Status s = runner.store().graph().check_invariants(); !s.is_ok()) {
    violated("import_image accepted an image that breaks an invariant", s.message());
  }
  const std::string exported = checkpoint(runner, "an imported session does not export");
  ScriptRunner again(fuzz_schema(), StoreOptions{.history_limit = fuzz::kImageHistoryLimit, .placement = {}});
  RunnerImage im = value_or_die(codec::decode_runner_image(exported), "an export does not decode");
  if (Status s = again.import_image(std::move(im)); !s.is_ok()) {
    violated("an export of an imported session is refused", s.message());
  }
  if (checkpoint(again, "a re-imported session does not export") != exported) {
    violated("export, import, export changes the image", "");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kInputBytesMax) return -1;  // -1: not added to the corpus
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fuzz_value(bytes);
  fuzz_runner_image(bytes);
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned int seed) {
  fuzz::Rng rng(seed);
  if (rng.below(2) == 0) return LLVMFuzzerMutate(data, size, max_size);
  Result<RunnerImage> im =
      codec::decode_runner_image(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!im.is_ok()) return LLVMFuzzerMutate(data, size, max_size);
  const std::uint64_t n = 1 + rng.below(kMutationsPerInputMax);
  for (std::uint64_t i = 0; i < n; ++i) fuzz::mutate_image(&*im, rng);
  Result<std::string> bytes = codec::encode_runner_image(*im);
  if (!bytes.is_ok() || bytes->size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, bytes->data(), bytes->size());
  return bytes->size();
}

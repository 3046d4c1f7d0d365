// Writes the seed corpus of the image fuzz target (image_fuzz.cpp): checkpoint images of
// sessions over its schema (image_fuzz_schema.hpp), each taken after a script of
// `mgraph eval` lines, and a few encoded values for decode_value.
//
// Usage: mgraph_image_seeds DIR   (writes DIR/<seed>.img; DIR must exist)
// scripts/fuzz.sh runs it into each run's corpus, so that the seeds match the engine as
// built even when the committed ones in tests/fuzz/image_corpus/ are older than it: a
// change of layout changes the shape fingerprint, and an old seed would stop there.
// Regenerate the committed ones with: build-fuzz/tests/fuzz/mgraph_image_seeds
// tests/fuzz/image_corpus

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "image_fuzz_schema.hpp"
#include "mgraph/codec/image_codec.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/script_runner.hpp"

namespace {

using namespace mgraph;

/// Seeds larger than the fuzz target's input limit would never run.
constexpr std::size_t kSeedBytesMax = std::size_t{64} << 10;

struct Seed {
  std::string name;
  std::string script;  ///< ends outside a transaction, so that an image can be taken
};

/// An order with `items` items, two tags, and a history of price changes.
std::string many_items_script(int items) {
  std::string s = "create Order o\ncreate Tag t\ncreate Tag u\nlink o.tags t\nlink o.tags u\n";
  for (int i = 0; i < items; ++i) {
    s += "create Item i" + std::to_string(i) + " price=" + std::to_string(i * 7 % 50) + "\n";
    s += "link o.items i" + std::to_string(i) + "\n";
  }
  s += "commit\n";
  for (int i = 0; i < items; i += 5) {
    s += "update i" + std::to_string(i) + " price=" + std::to_string(i + 1) + "\ncommit\n";
  }
  return s + "get o.label\nundo\n";
}

std::vector<Seed> seeds() {
  return {
      {"empty", ""},
      {"committed_nothing", "commit\n"},
      {"one_order", "create Order o\ncommit\n"},
      {"order_items",
       "create Order o discount=0.1\ncreate Item a price=30 qty=2\ncreate Item b price=45\n"
       "create Item c price=5 qty=4\nlink o.items a\nlink o.items b\nlink o.items c\ncommit\n"},
      {"lazy_read",
       "create Order o\ncreate Item a price=150\nlink o.items a\ncommit\nget o.label\n"
       "get o.doubled\n"},
      {"lazy_stale",
       "create Order o\ncreate Item a price=150\nlink o.items a\ncommit\nget o.label\n"
       "update a price=10\ncommit\n"},
      {"undo_redo",
       "create Order o\ncreate Item a price=1\nlink o.items a\ncommit\nupdate a price=2\n"
       "commit\nupdate a price=3\ncommit\ncreate Item b price=7\nlink o.items b\ncommit\n"
       "undo\nundo\n"},
      {"cycle_group",
       "create Item t\ncommit\nupdate t start=5 duration=3\ncommit\nset t.end 30\ncommit\n"
       "update t duration=1\ncommit\nundo\n"},
      {"effects",
       "create Order o\ncreate Item a price=600\nlink o.items a\ncommit\nack o.shipped\n"
       "commit\nupdate a price=50\ncommit\nupdate a price=700\ncommit\nack o.alert\ncommit\n"},
      {"tags",
       "create Order o\ncreate Order p\ncreate Tag t\ncreate Tag u weight=2\n"
       "create Item a price=20\ncreate Item b price=90\nlink o.items a\nlink p.items b\n"
       "link o.tags t\nlink p.tags t\nlink p.tags u\ncommit\nunlink o.tags t\ncommit\n"},
      {"deleted",
       "create Order o\ncreate Item a price=3\ncreate Item b price=4\nlink o.items a\n"
       "link o.items b\ncommit\ndelete a\ncommit\ndelete o\ncommit\nundo\n"},
      {"rejected_and_trimmed",
       "create Order o\ncreate Item a\nlink o.items a\ncommit\nupdate a price=1\ncommit\n"
       "update a price=2\ncommit\nupdate a price=3\ncommit\nupdate a price=4\ncommit\n"
       "update a price=5\ncommit\nupdate a price=6\ncommit\nupdate a price=7\ncommit\n"
       "update a price=8\ncommit\nupdate a price=9\ncommit\nupdate a price=99\nreject\n"
       "update a qty=-2\ncommit\nget o.label\n"},
      {"many_items", many_items_script(24)},
  };
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

/// Runs the seed's script and returns its session's encoded image, or an error.
Result<std::string> image_of(const std::shared_ptr<const schema::Schema>& schema,
                             const Seed& seed) {
  session::ScriptRunner runner(schema, schema::StoreOptions{.history_limit = fuzz::kImageHistoryLimit, .placement = {}});
  std::string out;
  if (const std::size_t failed = runner.run(seed.script, &out); failed != 0) {
    return Status(StatusCode::internal, std::to_string(failed) + " script lines failed:\n" + out);
  }
  Result<schema::RunnerImage> im = runner.export_image();
  if (!im.is_ok()) return im.status();
  return codec::encode_runner_image(*im);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  Result<std::shared_ptr<const schema::Schema>> schema = schema::compile_schema(
      schema::SourceFile{std::string(fuzz::kImageSchemaName), std::string(fuzz::kImageSchema)});
  if (!schema.is_ok()) {
    std::fprintf(stderr, "image seeds: %s\n", schema.status().message().c_str());
    return 1;
  }
  std::vector<std::pair<std::string, Result<std::string>>> files;
  for (const Seed& seed : seeds()) files.emplace_back(seed.name, image_of(*schema, seed));
  const Value values[] = {Value(std::int64_t{-42}), Value("text"),
                          Value(Tensor::make({2, 2}, {1, 2, 3, 4}).value())};
  for (std::size_t i = 0; i < std::size(values); ++i)
    files.emplace_back("value_" + std::to_string(i), codec::encode_value(values[i]));

  for (const auto& [name, bytes] : files) {
    if (!bytes.is_ok()) {
      std::fprintf(stderr, "image seeds: %s: %s\n", name.c_str(), bytes.status().message().c_str());
      return 1;
    }
    if (bytes->size() > kSeedBytesMax) {
      std::fprintf(stderr, "image seeds: %s: %zu bytes, over the fuzz input limit of %zu\n",
                   name.c_str(), bytes->size(), kSeedBytesMax);
      return 1;
    }
    if (!write_file(dir + "/" + name + ".img", *bytes)) {
      std::fprintf(stderr, "image seeds: cannot write %s/%s.img\n", dir.c_str(), name.c_str());
      return 1;
    }
  }
  std::printf("image seeds: %zu files in %s\n", files.size(), dir.c_str());
  return 0;
}

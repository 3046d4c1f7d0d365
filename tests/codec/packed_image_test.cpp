// Session images of format 2: Cap'n Proto's packed encoding, list lengths instead of
// offsets, written to a sink piece by piece. Images of format 1 (format1_images/: fuzz
// seeds written by the build before) still decode, and come back the same.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mgraph/codec/image_codec.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/script_runner.hpp"

namespace mgraph::codec {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The format version in an image's prefix (u32, little-endian, after "MGIM").
std::uint32_t version_of(const std::string& bytes) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[4 + i])) << (8 * i);
  }
  return v;
}

std::vector<fs::path> format_1_images() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(MGRAPH_FORMAT1_IMAGES_DIR)) {
    out.push_back(entry.path());
  }
  return out;
}

TEST(PackedImage, FormatOneImagesDecodeAndShrinkWhenWrittenAgain) {
  const std::vector<fs::path> images = format_1_images();
  ASSERT_GE(images.size(), 8u);
  std::size_t plain = 0, packed = 0;
  for (const fs::path& path : images) {
    const std::string v1 = read_file(path);
    ASSERT_EQ(version_of(v1), 1u) << path;
    Result<schema::RunnerImage> image = decode_runner_image(v1);
    ASSERT_TRUE(image.is_ok()) << path << ": " << image.status().message();
    const std::string v2 = encode_runner_image(*image).value();
    EXPECT_EQ(version_of(v2), kRunnerImageFormatVersion);
    // Decoding the new bytes gives the same image: it encodes to the same bytes again.
    Result<schema::RunnerImage> back = decode_runner_image(v2);
    ASSERT_TRUE(back.is_ok()) << path << ": " << back.status().message();
    EXPECT_EQ(encode_runner_image(*back).value(), v2) << path;
    EXPECT_EQ(back->store.graph.dep_offsets, image->store.graph.dep_offsets) << path;
    EXPECT_EQ(back->store.graph.rdep_offsets, image->store.graph.rdep_offsets) << path;
    EXPECT_EQ(back->store.records.size(), image->store.records.size()) << path;
    plain += v1.size();
    packed += v2.size();
  }
  EXPECT_LT(3 * packed, plain) << packed << " bytes packed, " << plain << " plain";
}

schema::RunnerImage small_session_image() {
  auto schema = schema::compile_schema(
      {"t.mgs", "entity O { items: many I via o\n total: int = sum(items[*].v) }\n"
                "entity I { v: int }"});
  EXPECT_TRUE(schema.is_ok());
  session::ScriptRunner runner(std::move(schema).value());
  std::string out;
  runner.run("create O o\ncreate I a v=1\ncreate I b v=2\nlink o.items a\nlink o.items b\n"
             "commit\nupdate a v=5\ncommit\n",
             &out);
  return runner.export_image().value();
}

TEST(PackedImage, TheSinkGetsTheSameBytesInPiecesAndItsFailureStopsIt) {
  const schema::RunnerImage image = small_session_image();
  const std::string whole = encode_runner_image(image).value();
  std::string pieces;
  std::size_t calls = 0;
  ASSERT_TRUE(write_runner_image(image, [&](std::string_view piece) {
                ++calls;
                pieces.append(piece);
                return Status::ok();
              }).is_ok());
  EXPECT_EQ(pieces, whole);
  EXPECT_GE(calls, 2u);  // the prefix, then the message
  calls = 0;
  const Status s = write_runner_image(image, [&](std::string_view) {
    ++calls;
    return calls == 2 ? Status(StatusCode::io_error, "disk full") : Status::ok();
  });
  EXPECT_EQ(s.code(), StatusCode::io_error);
  EXPECT_EQ(s.message(), "disk full");
  EXPECT_EQ(calls, 2u);  // nothing more after the failure
}

TEST(PackedImage, OffsetsThatAreNotListLengthsAreKeptAsTheyAre) {
  schema::RunnerImage image = small_session_image();
  std::vector<std::uint64_t>& offsets = image.store.graph.dep_offsets;
  ASSERT_GE(offsets.size(), 3u);
  offsets[1] = offsets.back() + 5;  // past the ids: no list lengths can say that
  Result<schema::RunnerImage> back = decode_runner_image(encode_runner_image(image).value());
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->store.graph.dep_offsets, offsets);
  EXPECT_EQ(back->store.graph.rdep_offsets, image.store.graph.rdep_offsets);
}

TEST(PackedImage, DamagedPackedBytesAreErrors) {
  const std::string good = encode_runner_image(small_session_image()).value();
  for (std::size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(decode_runner_image(good.substr(0, len)).is_ok()) << "length " << len;
  }
  EXPECT_FALSE(decode_runner_image(good + std::string(1, '\0')).is_ok());
  std::string future = good;
  future[4] = 3;
  EXPECT_EQ(decode_runner_image(future).status().code(), StatusCode::failed_precondition);
  // A zero run that unpacks to far more than it is: bounded like a plain message.
  std::string runs = good.substr(0, 8);
  for (int i = 0; i < 4096; ++i) runs += std::string("\0\xff", 2);
  EXPECT_FALSE(decode_runner_image(runs).is_ok());
}

}  // namespace
}  // namespace mgraph::codec

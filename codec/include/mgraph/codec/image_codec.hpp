#pragma once
// Bytes of checkpoint images (graph/image.hpp, graph/schema/store_image.hpp): a Cap'n
// Proto message (codec/schema/image.capnp) after an 8-byte prefix, "MGIM" and the
// format version (u32, little-endian); session images use the packed encoding.
// Decoding checks the prefix, bounds the reader (traversal and nesting limits) and
// validates every value; a bad input gives a Status, never a crash. Whether the image
// fits its graph is Graph::import_image's check, not the codec's.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "mgraph/graph/image.hpp"
#include "mgraph/graph/schema/store_image.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::codec {

/// Graph images and values: a plain Cap'n Proto message after the prefix.
inline constexpr std::uint32_t kImageFormatVersion = 1;
/// Session images (`mgraph eval` checkpoints): the message in Cap'n Proto's packed
/// encoding, which drops the zero bytes that small numbers, null pointers and unused
/// union members fill most words with (a third to a fifth of the plain size). Decoding
/// also reads version 1 (plain) session images.
inline constexpr std::uint32_t kRunnerImageFormatVersion = 2;

Result<std::string> encode_graph_image(const GraphImage& image);
Result<GraphImage> decode_graph_image(std::string_view bytes);

/// Writes the encoding of a session image to `sink` in pieces as they are produced (the
/// bytes encode_runner_image returns, never held whole here); the first failure of the
/// sink stops it and is returned. The image is taken by value and freed part by part as
/// it goes into the message (move it in), so that memory holds one of the two, not both.
Status write_runner_image(schema::RunnerImage image,
                          const std::function<Status(std::string_view)>& sink);
Result<std::string> encode_runner_image(const schema::RunnerImage& image);
Result<schema::RunnerImage> decode_runner_image(std::string_view bytes);

/// Encoders fail (out_of_range) only on a list longer than the format holds (2^29 - 1).
/// One value alone (tests, history entries).
Result<std::string> encode_value(const Value& value);
Result<Value> decode_value(std::string_view bytes);

}  // namespace mgraph::codec

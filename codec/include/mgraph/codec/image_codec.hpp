#pragma once
// Bytes of checkpoint images (graph/image.hpp, graph/schema/store_image.hpp): a Cap'n
// Proto message (codec/schema/image.capnp) after an 8-byte prefix, "MGIM" and the
// format version (u32, little-endian). Decoding checks the prefix, bounds the reader
// (traversal and nesting limits) and validates every value; a bad input gives a
// Status, never a crash. Whether the image fits its graph is Graph::import_image's
// check, not the codec's.

#include <cstdint>
#include <string>
#include <string_view>

#include "mgraph/graph/image.hpp"
#include "mgraph/graph/schema/store_image.hpp"
#include "mgraph/graph/status.hpp"

namespace mgraph::codec {

inline constexpr std::uint32_t kImageFormatVersion = 1;

Result<std::string> encode_graph_image(const GraphImage& image);
Result<GraphImage> decode_graph_image(std::string_view bytes);

Result<std::string> encode_runner_image(const schema::RunnerImage& image);
Result<schema::RunnerImage> decode_runner_image(std::string_view bytes);

/// Encoders fail (out_of_range) only on a list longer than the format holds (2^29 - 1).
/// One value alone (tests, history entries).
Result<std::string> encode_value(const Value& value);
Result<Value> decode_value(std::string_view bytes);

}  // namespace mgraph::codec

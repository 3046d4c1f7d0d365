#pragma once
// A partition's documents as the admin socket sees them (`mgraphctl explain` and `dot`):
// what a node is, its committed value, version and inputs, read with Store::describe, which
// computes nothing, so a partition answers between any two of the driver's requests, in
// the middle of an epoch too, without disturbing it. Answers are JSON text (graph/json.hpp)
// for the node's admin commands to assemble (node/src/field_trace.hpp).
//
//   admin ──(inspect_atom, record, field)──▶ partition  ──▶ {"node":N,...} | {"error":...}
//   admin ──(inspect_atom, packed node ids)──▶ partition ──▶ {"nodes":COUNT,"views":[...]}
//
// Node ids travel packed in a string (pack_node_ids): a partition on another node is
// asked through CAF's serialization, which carries strings but not vectors of 32-bit ids.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/schema/store.hpp"

namespace mgraph::actors {

/// Node ids one inspect_nodes request may name: a reply stays a few hundred kilobytes, and
/// the admin command walking a neighbourhood asks level by level within this.
inline constexpr std::size_t kInspectNodesMax = 4096;

/// `{"node":N,"entity":"Order","nodes":COUNT}`: the node holding field (or relation)
/// `field` of record `record`, the record's entity, and how many nodes the partition's
/// graph has; `{"error":MESSAGE}` when the record does not exist, and with its "entity"
/// when the field does not.
std::string inspect_field(const schema::Store& store, schema::RecordId record,
                          std::string_view field);

/// `{"nodes":COUNT,"views":[VIEW,...]}`, one VIEW per id in `nodes`, in order:
/// `{"node":N,"name":"Order#1.total","record":1,"kind":"derived","value":V,"version":K,
/// "mirror":false,"lazy":false,"line":L,"inputs":[N,...]}` (Store::NodeView), followed
/// for a failed or blocked field by `"state":"failed"|"blocked"`, `"blocked_by":NAME`
/// (blocked) and `"reason":TEXT`, or
/// `{"node":N,"error":"no node N"}` for an id the graph does not have. More than
/// kInspectNodesMax ids: `{"error":...}`.
std::string inspect_nodes(const schema::Store& store, std::span<const std::uint32_t> nodes);

/// Node ids as 4 little-endian bytes each, and back (nullopt: a length not a multiple of 4).
std::string pack_node_ids(std::span<const std::uint32_t> nodes);
std::optional<std::vector<std::uint32_t>> unpack_node_ids(std::string_view packed);

}  // namespace mgraph::actors

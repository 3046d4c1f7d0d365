#pragma once
// `mgraphctl explain` and `mgraphctl dot`: a field's dependency trace, and the graph (or a
// field's neighbourhood) in Graphviz dot, as far as this node's partitions see it.
//
// Every partition holds every record at the same node ids (actors/partitioned.hpp): the
// inputs (state fields, relations, memberships, accumulators the Store writes) everywhere
// alike, what formulas compute only at the record's owner, as a mirror elsewhere. So a
// node asks any partition it hosts (the *home*, its first) what each node is, and asks
// again the owner of a node the home only mirrors — on this node, or on another node
// through the partition actors the coordinator sent (`reaches`). A node whose owner cannot
// be asked (not known yet, or it did not answer) is shown as a *remote* reference — its
// partition and node, without value or inputs (a mirror's value here may be older than
// its owner's: only mirrors a partition reads are kept up to date): `mgraphctl explain`
// on that node continues the trace. Values are the committed ones (Store::describe
// computes nothing).
//
// Bounded: depth at most trace_depth_max, at most trace_inputs_max inputs shown per
// field and trace_fields_max fields per trace; `dot` of the whole graph refuses a graph
// of more than dot_nodes_max nodes, naming the bound and suggesting a field.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// Levels of inputs `explain` and `dot REF` show without --depth.
inline constexpr std::uint32_t trace_depth_default = 3;
/// Deepest trace: beyond, a trace of a wide graph is unreadable and dot of it unusable.
inline constexpr std::uint32_t trace_depth_max = 16;
/// Inputs shown per field (an aggregate over many members has as many inputs): the rest
/// are counted in "inputs_not_shown".
inline constexpr std::size_t trace_inputs_max = 32;
/// Fields in one trace (explain) or neighbourhood (dot REF), whatever the depth.
inline constexpr std::size_t trace_fields_max = 512;
/// Nodes `dot` without a field draws: a graph larger than this is unreadable as a picture
/// and its answer would approach admin_answer_max.
inline constexpr std::size_t dot_nodes_max = 2000;

/// How the admin commands reach this node's partitions. service.cpp asks the partition
/// actors (actors/inspect.hpp); tests call Stores in their process.
struct PartitionAccess {
  std::uint32_t partitions = 1;           ///< the cluster's partition count
  std::vector<std::uint32_t> hosted;      ///< partitions on this node; hosted[0] is home
  std::map<std::uint32_t, std::string> hosts;  ///< every partition's node name
  std::vector<std::string> schema_lines;  ///< the schema's text, line by line (definitions)
  /// inspect_field's JSON from partition p.
  std::function<Result<nlohmann::json>(std::uint32_t p, std::uint64_t record,
                                       const std::string& field)> field;
  /// inspect_nodes' JSON from partition p.
  std::function<Result<nlohmann::json>(std::uint32_t p, const std::vector<std::uint32_t>& nodes)>
      nodes;
  /// Whether partition p, hosted elsewhere, can be asked too (none: only hosted ones).
  std::function<bool(std::uint32_t p)> reaches;
};

/// A field named as `get REF.field` names it (docs/SCRIPTS.md) by id: `#N.field` or
/// `Entity#N.field`. Aliases belong to a client's script, which the node does not know.
struct FieldRef {
  std::string entity;  ///< empty: any
  std::uint64_t record = 0;
  std::string field;
};
Result<FieldRef> parse_field_ref(const std::string& text);

/// `explain REF.field [--depth N]`: {"explain":NAME,"depth":N,"field":FIELD} where FIELD is
/// {"name","kind","value","version","partition","node","definition","inputs":[FIELD...]}
/// (see docs/CLUSTER.md for every member).
Result<nlohmann::ordered_json> explain_field(const PartitionAccess& access, const FieldRef& ref,
                                             std::uint32_t depth);

/// `dot [REF.field] [--depth N]`: a digraph of the whole graph (without `ref`) or of the
/// field and its inputs down to `depth`.
Result<std::string> dot_graph(const PartitionAccess& access, const FieldRef* ref,
                              std::uint32_t depth);

}  // namespace mgraph::node

#include "mgraph/actors/inspect.hpp"

#include "mgraph/graph/json.hpp"
#include "mgraph/graph/little_endian.hpp"

namespace mgraph::actors {
namespace {

std::string error_json(const std::string& message) {
  return json::Object().str("error", message).done();
}

std::string view_json(const schema::Store& store, std::uint32_t node) {
  if (node >= store.graph().node_count()) {
    return json::Object().unum("node", node).str("error", "no node " + std::to_string(node)).done();
  }
  const schema::Store::NodeView v = store.describe(node);
  std::string inputs = "[";
  for (const NodeId in : v.inputs) {
    if (inputs.size() > 1) inputs += ',';
    inputs += std::to_string(in);
  }
  json::Object out;
  out.unum("node", node)
      .str("name", v.name)
      .unum("record", v.record)
      .str("kind", v.kind)
      .raw("value", v.value.to_json())
      .unum("version", v.version)
      .boolean("mirror", v.mirror)
      .boolean("lazy", v.lazy)
      .unum("line", v.line)
      .raw("inputs", inputs + "]");
  if (v.state != FieldState::ok) {
    out.str("state", field_state_name(v.state));
    if (v.state == FieldState::blocked) out.str("blocked_by", v.blocked_by);
    out.str("reason", v.reason);
  }
  return out.done();
}

}  // namespace

std::string inspect_field(const schema::Store& store, schema::RecordId record,
                          std::string_view field) {
  const Result<std::uint32_t> entity = store.entity_of(record);
  if (!entity.is_ok()) return error_json(entity.status().message());
  const std::string& name = store.schema().entities[*entity].name;
  const Result<NodeId> node = store.node_of(record, field);
  if (!node.is_ok()) return json::Object().str("error", node.status().message()).str("entity", name).done();
  return json::Object()
      .unum("node", *node)
      .str("entity", name)
      .unum("nodes", store.graph().node_count())
      .done();
}

std::string inspect_nodes(const schema::Store& store, std::span<const std::uint32_t> nodes) {
  if (nodes.size() > kInspectNodesMax) {
    return error_json(std::to_string(nodes.size()) + " nodes asked for at once, more than " +
                      std::to_string(kInspectNodesMax));
  }
  std::string views = "[";
  for (const std::uint32_t n : nodes) {
    if (views.size() > 1) views += ',';
    views += view_json(store, n);
  }
  return json::Object()
      .unum("nodes", store.graph().node_count())
      .raw("views", views + "]")
      .done();
}

std::string pack_node_ids(std::span<const std::uint32_t> nodes) {
  std::string packed(nodes.size() * 4, '\0');
  for (std::size_t k = 0; k < nodes.size(); ++k) put_le32(packed.data() + 4 * k, nodes[k]);
  return packed;
}

std::optional<std::vector<std::uint32_t>> unpack_node_ids(std::string_view packed) {
  if (packed.size() % 4 != 0) return std::nullopt;
  std::vector<std::uint32_t> nodes(packed.size() / 4);
  for (std::size_t k = 0; k < nodes.size(); ++k) nodes[k] = get_le32(packed.data() + 4 * k);
  return nodes;
}

}  // namespace mgraph::actors

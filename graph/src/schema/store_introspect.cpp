// Store::explain and Store::dot: why a field has its value, and the graph as Graphviz.

#include "mgraph/graph/schema/store.hpp"

#include "mgraph/graph/assert.hpp"
#include "mgraph/graph/json.hpp"

namespace mgraph::schema {
namespace {

/// A Graphviz quoted ID: quotes and backslashes escaped, control characters as spaces.
std::string dot_id(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string Store::display_name(NodeId n) const {
  if (n >= owner_.size() || owner_[n] == 0 || !graph_.is_variable(n)) return graph_.name(n);
  const RecordId id = owner_[n];
  const Record& r = records_[id - 1];
  if (r.base == kNoNode) return graph_.name(n);
  const EntityDef& e = schema_->entities[r.entity];
  std::uint32_t local = 0;
  while (local < e.local_count && node(r, local) != n) ++local;
  if (local == EntityDef::exists_local) return node_name(id, "exists");
  if (local < e.relation_local(0)) return node_name(id, e.fields[local - 1].name);
  if (local < e.relation_local(0) + e.relations.size())
    return node_name(id, e.relations[local - e.relation_local(0)].name);
  for (const AggregateDef& a : e.aggregates) {
    if (local == a.local) return node_name(id, a.name);
  }
  return graph_.name(n);
}

Store::NodeField Store::field_at(NodeId n) const {
  NodeField out;
  if (n >= owner_.size() || owner_[n] == 0) return out;
  out.record = owner_[n];
  const Record& r = records_[out.record - 1];
  out.entity = r.entity;
  if (r.base == kNoNode) return out;
  const EntityDef& e = schema_->entities[r.entity];
  for (std::uint32_t f = 0; f < e.fields.size(); ++f) {
    if (node(r, e.field_local(f)) == n) {
      out.field = &e.fields[f];
      break;
    }
  }
  return out;
}

Store::NodeView Store::describe(NodeId n) const {
  MG_ASSERT(n < graph_.node_count());
  NodeView out;
  const NodeField f = field_at(n);
  out.name = display_name(n);
  out.record = f.record;
  out.value = graph_.committed(n);
  out.version = version(n);
  out.mirror = graph_.is_mirror(n);
  out.lazy = graph_.is_lazy(n);
  const std::span<const NodeId> inputs = graph_.dependencies(n);
  out.inputs.assign(inputs.begin(), inputs.end());
  if (f.field != nullptr) {
    out.kind = field_kind_name(f.field->kind);
    out.line = f.field->loc.line;
  } else {
    // A mirror of a computed node holds no formula here: what the owner computes.
    out.kind = graph_.is_variable(n) && !out.mirror ? "input" : "computed";
  }
  FieldCondition c = graph_.condition(n);
  out.state = c.state;
  if (c.state == FieldState::blocked) out.blocked_by = display_name(c.cause);
  out.reason = std::move(c.reason);
  return out;
}

void Store::add_condition(json::Object& out, NodeId n) const {
  const FieldCondition c = graph_.condition(n);
  if (c.state == FieldState::ok) return;
  out.str("state", field_state_name(c.state));
  if (c.state == FieldState::blocked) out.str("blocked_by", display_name(c.cause));
  out.str("reason", c.reason);
}

Result<std::string> Store::explain(RecordId id, std::string_view field) {
  Result<Value> v = get(id, field);
  if (!v.is_ok()) return v.status();
  const NodeId n = node_of(id, field).value();
  std::string inputs = "[";
  for (NodeId d : graph_.dependencies(n)) {
    if (inputs.size() > 1) inputs += ',';
    json::Object input;
    input.str("name", display_name(d)).raw("value", graph_.read(d).to_json());
    add_condition(input, d);
    inputs += input.done();
  }
  json::Object out;
  out.str("explain", display_name(n))
      .raw("value", v->to_json())
      .str("kind", graph_.is_variable(n) ? "state" : "derived");
  add_condition(out, n);  // why the value is not newer, when it is not
  return out.raw("inputs", inputs + "]").done();
}

std::size_t Store::owned_count(std::span<const NodeId> nodes) const {
  std::size_t n = 0;
  for (NodeId x : nodes) {
    if (x < owner_.size() && owner_[x] != 0 && owns(owner_[x]) && !graph_.is_lazy(x)) ++n;
  }
  return n;
}

std::size_t Store::owned_changed() const { return owned_count(graph_.last_changed()); }

std::optional<Store::CommitPreview> Store::preview_commit() const {
  const std::optional<mgraph::CommitPreview> p = graph_.preview_commit();
  if (!p) return std::nullopt;
  return CommitPreview{p->revision, owned_count(p->changed)};
}

Store::DotParts Store::dot_parts() {
  DotParts out;
  const std::size_t count = graph_.node_count();
  out.nodes.resize(count);
  out.edges.resize(count);
  for (NodeId n = 0; n < count; ++n) {
    if (n < owner_.size() && owner_[n] != 0 && !owns(owner_[n])) continue;
    out.nodes[n] = "  n" + std::to_string(n) + " [label=" + dot_id(display_name(n)) +
                   (graph_.is_variable(n) ? ", shape=box" : "") + "];\n";
    for (NodeId d : graph_.dependencies(n))
      out.edges[n] += "  n" + std::to_string(d) + " -> n" + std::to_string(n) + ";\n";
  }
  return out;
}

std::string Store::merge_dot(const std::vector<DotParts>& parts) {
  std::string out = "digraph mgraph {\n  rankdir=LR;\n";
  std::size_t count = 0;
  for (const DotParts& p : parts) count = std::max(count, p.nodes.size());
  for (int edges = 0; edges < 2; ++edges) {
    for (std::size_t n = 0; n < count; ++n) {
      for (const DotParts& p : parts) {
        const auto& lines = edges ? p.edges : p.nodes;
        if (n < lines.size() && !lines[n].empty()) {
          out += lines[n];
          break;
        }
      }
    }
  }
  return out + "}";
}

std::string Store::dot() {
  std::string out = "digraph mgraph {\n  rankdir=LR;\n";
  for (NodeId n = 0; n < graph_.node_count(); ++n) {
    out += "  n" + std::to_string(n) + " [label=" + dot_id(display_name(n)) +
           (graph_.is_variable(n) ? ", shape=box" : "") + "];\n";
  }
  for (NodeId n = 0; n < graph_.node_count(); ++n) {
    for (NodeId d : graph_.dependencies(n)) {
      out += "  n" + std::to_string(d) + " -> n" + std::to_string(n) + ";\n";
    }
  }
  return out + "}";
}

}  // namespace mgraph::schema

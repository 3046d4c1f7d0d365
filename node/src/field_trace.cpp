#include "field_trace.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

#include "mgraph/actors/inspect.hpp"
#include "mgraph/graph/schema/store.hpp"

namespace mgraph::node {
namespace {

using Json = nlohmann::json;
using Ordered = nlohmann::ordered_json;

/// What a node is, as this node's partitions see it.
struct View {
  Json raw;  ///< inspect_nodes' view, from the partition that knows it best here
  std::uint32_t partition = 0;
  bool remote = false;  ///< computed by a partition on another node
  std::string unanswered;  ///< remote: why its owner, asked, did not answer
  std::vector<std::uint32_t> inputs;
};

/// The schema line `line` (1-based), without its indentation; "" if there is none.
std::string definition(const PartitionAccess& a, std::uint64_t line) {
  if (line == 0 || line > a.schema_lines.size()) return {};
  const std::string& text = a.schema_lines[line - 1];
  const std::size_t first = text.find_first_not_of(" \t");
  const std::size_t last = text.find_last_not_of(" \t\r");
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

std::string host_of(const PartitionAccess& a, std::uint32_t p) {
  const auto it = a.hosts.find(p);
  return it == a.hosts.end() ? std::string("?") : it->second;
}

bool hosted(const PartitionAccess& a, std::uint32_t p) {
  return std::find(a.hosted.begin(), a.hosted.end(), p) != a.hosted.end();
}

bool reachable(const PartitionAccess& a, std::uint32_t p) {
  return hosted(a, p) || (a.reaches && a.reaches(p));
}

/// The views of `ids` from partition `p`, chunked to the partition's bound.
Status ask(const PartitionAccess& a, std::uint32_t p, const std::vector<std::uint32_t>& ids,
           std::map<std::uint32_t, View>* out) {
  for (std::size_t first = 0; first < ids.size(); first += actors::kInspectNodesMax) {
    const std::size_t last = std::min(ids.size(), first + actors::kInspectNodesMax);
    const std::vector<std::uint32_t> chunk(ids.begin() + static_cast<std::ptrdiff_t>(first),
                                           ids.begin() + static_cast<std::ptrdiff_t>(last));
    Result<Json> reply = a.nodes(p, chunk);
    if (!reply.is_ok()) return reply.status();
    if (reply->contains("error")) {
      return Status(StatusCode::internal, "partition " + std::to_string(p) + ": " +
                                              (*reply)["error"].get<std::string>());
    }
    for (const Json& v : (*reply)["views"]) {
      if (v.contains("error")) {
        return Status(StatusCode::internal,
                      "partition " + std::to_string(p) + ": " + v["error"].get<std::string>());
      }
      View view;
      view.raw = v;
      view.inputs = v["inputs"].get<std::vector<std::uint32_t>>();
      const auto record = v["record"].get<std::uint64_t>();
      view.partition = record == 0 ? p : schema::Placement::partition_of(record, a.partitions);
      (*out)[v["node"].get<std::uint32_t>()] = std::move(view);
    }
  }
  return Status::ok();
}

/// Describes `ids` into *views: asks home, then the owners of what home only mirrors; a
/// mirror whose owner cannot be asked, or did not answer from another node, becomes remote.
Status describe(const PartitionAccess& a, const std::vector<std::uint32_t>& ids,
                std::map<std::uint32_t, View>* views) {
  const std::uint32_t home = a.hosted.front();
  std::map<std::uint32_t, View> got;
  if (Status s = ask(a, home, ids, &got); !s.is_ok()) return s;
  std::map<std::uint32_t, std::vector<std::uint32_t>> again;  // owner -> nodes
  for (auto& [n, v] : got) {
    if (!v.raw["mirror"].get<bool>()) continue;
    if (reachable(a, v.partition) && v.partition != home) {
      again[v.partition].push_back(n);
    } else {
      v.remote = true;
      v.inputs.clear();
    }
  }
  for (const auto& [owner, nodes] : again) {
    std::map<std::uint32_t, View> owned;
    if (Status s = ask(a, owner, nodes, &owned); !s.is_ok()) {
      if (hosted(a, owner)) return s;
      for (const std::uint32_t n : nodes) {
        got[n].remote = true;  // that node did not answer: the reference stands
        got[n].inputs.clear();
        got[n].unanswered = s.message();
      }
      continue;
    }
    for (auto& [n, v] : owned) got[n] = std::move(v);
  }
  for (auto& [n, v] : got) (*views)[n] = std::move(v);
  return Status::ok();
}

/// The node of `ref`, checked against its entity.
Result<std::uint32_t> resolve(const PartitionAccess& a, const FieldRef& ref,
                              std::map<std::uint32_t, View>* views) {
  if (a.hosted.empty()) {
    return Status(StatusCode::failed_precondition,
                  "this node hosts no partition, so it holds no documents; ask a node that "
                  "hosts one (mgraphctl status lists its partitions)");
  }
  Result<Json> found = a.field(a.hosted.front(), ref.record, ref.field);
  if (!found.is_ok()) return found.status();
  if (!ref.entity.empty() && found->contains("entity") && (*found)["entity"] != ref.entity) {
    return Status(StatusCode::not_found, "record #" + std::to_string(ref.record) + " is " +
                                             (*found)["entity"].get<std::string>() + ", not " +
                                             ref.entity);
  }
  if (found->contains("error")) {
    return Status(StatusCode::not_found, (*found)["error"].get<std::string>());
  }
  const auto node = (*found)["node"].get<std::uint32_t>();
  if (Status s = describe(a, {node}, views); !s.is_ok()) return s;
  return node;
}

/// Describes the inputs of `root` level by level, down to `depth`, within the bounds.
Status walk(const PartitionAccess& a, std::uint32_t root, std::uint32_t depth,
            std::map<std::uint32_t, View>* views) {
  std::vector<std::uint32_t> frontier{root};
  for (std::uint32_t d = 0; d < depth && !frontier.empty(); ++d) {
    std::vector<std::uint32_t> next;
    for (const std::uint32_t n : frontier) {
      const View& v = views->at(n);
      for (std::size_t i = 0; i < v.inputs.size() && i < trace_inputs_max; ++i) {
        const std::uint32_t in = v.inputs[i];
        if (views->count(in) != 0 || std::find(next.begin(), next.end(), in) != next.end()) continue;
        if (views->size() + next.size() >= trace_fields_max) break;
        next.push_back(in);
      }
    }
    if (Status s = describe(a, next, views); !s.is_ok()) return s;
    frontier = std::move(next);
  }
  return Status::ok();
}

/// One field of the trace: its view, and its inputs below it while the depth lasts.
Ordered field_json(const PartitionAccess& a, const std::map<std::uint32_t, View>& views,
                   std::uint32_t n, std::uint32_t level, std::uint32_t depth,
                   std::set<std::uint32_t>* expanded) {
  const View& v = views.at(n);
  Ordered j{{"name", v.raw["name"]}, {"kind", v.raw["kind"]}};
  if (!v.remote) {
    j["value"] = v.raw["value"];
    j["version"] = v.raw["version"];
    // A failed or blocked field: its value is the last good one, and why.
    if (v.raw.contains("state")) {
      j["state"] = v.raw["state"];
      if (v.raw.contains("blocked_by")) j["blocked_by"] = v.raw["blocked_by"];
      j["reason"] = v.raw["reason"];
    }
  }
  j["partition"] = v.partition;
  j["node"] = host_of(a, v.partition);
  if (v.remote) {
    j["remote"] = true;  // its value and inputs: on that node
    if (!v.unanswered.empty()) j["unanswered"] = v.unanswered;
    return j;
  }
  if (v.raw["lazy"].get<bool>()) j["lazy"] = true;
  if (const std::string d = definition(a, v.raw["line"].get<std::uint64_t>()); !d.empty()) {
    j["definition"] = d;
  }
  if (v.inputs.empty()) return j;
  if (level == depth || !expanded->insert(n).second) {
    j[level == depth ? "inputs_not_shown" : "inputs_shown_above"] = v.inputs.size();
    return j;
  }
  Ordered inputs = Ordered::array();
  for (std::size_t i = 0; i < v.inputs.size() && i < trace_inputs_max; ++i) {
    if (views.count(v.inputs[i]) == 0) continue;  // beyond trace_fields_max
    inputs.push_back(field_json(a, views, v.inputs[i], level + 1, depth, expanded));
  }
  const std::size_t hidden = v.inputs.size() - inputs.size();
  j["inputs"] = std::move(inputs);
  if (hidden > 0) j["inputs_not_shown"] = hidden;
  return j;
}

/// A Graphviz quoted ID: quotes and backslashes escaped, control characters as spaces.
std::string dot_id(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  return out + "\"";
}

std::string render_dot(const PartitionAccess& a, const std::map<std::uint32_t, View>& views) {
  std::string out = "digraph mgraph {\n  rankdir=LR;\n";
  for (const auto& [n, v] : views) {
    const std::string kind = v.raw["kind"].get<std::string>();
    std::string label = v.raw["name"].get<std::string>();
    if (v.remote) {
      label += " (partition " + std::to_string(v.partition) + ", " + host_of(a, v.partition) + ")";
    }
    out += "  n" + std::to_string(n) + " [label=" + dot_id(label) +
           (kind == "state" || kind == "input" ? ", shape=box" : "") +
           (v.remote ? ", style=dashed" : "") + "];\n";
  }
  for (const auto& [n, v] : views) {
    for (const std::uint32_t in : v.inputs) {
      if (views.count(in) != 0) out += "  n" + std::to_string(in) + " -> n" + std::to_string(n) + ";\n";
    }
  }
  return out + "}";
}

}  // namespace

Result<FieldRef> parse_field_ref(const std::string& text) {
  auto bad = [&] {
    return Status(StatusCode::invalid_argument,
                  "expected REF.field with REF #N or Entity#N (an alias belongs to a client's "
                  "script, which the node does not know), not '" + text + "'");
  };
  const std::size_t hash = text.find('#');
  const std::size_t dot = text.find('.', hash == std::string::npos ? 0 : hash);
  if (hash == std::string::npos || dot == std::string::npos || dot + 1 == text.size()) return bad();
  FieldRef ref;
  ref.entity = text.substr(0, hash);
  ref.field = text.substr(dot + 1);
  const char* first = text.data() + hash + 1;
  const char* last = text.data() + dot;
  const auto [end, ec] = std::from_chars(first, last, ref.record);
  if (ec != std::errc() || end != last || first == last || ref.record == 0) return bad();
  auto word = [](const std::string& w) {
    return std::all_of(w.begin(), w.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
  };
  if (!word(ref.entity) || !word(ref.field)) return bad();
  return ref;
}

Result<nlohmann::ordered_json> explain_field(const PartitionAccess& access, const FieldRef& ref,
                                             std::uint32_t depth) {
  std::map<std::uint32_t, View> views;
  Result<std::uint32_t> root = resolve(access, ref, &views);
  if (!root.is_ok()) return root.status();
  if (Status s = walk(access, *root, depth, &views); !s.is_ok()) return s;
  std::set<std::uint32_t> expanded;
  return Ordered{{"explain", views.at(*root).raw["name"]},
                 {"depth", depth},
                 {"field", field_json(access, views, *root, 0, depth, &expanded)}};
}

Result<std::string> dot_graph(const PartitionAccess& access, const FieldRef* ref,
                              std::uint32_t depth) {
  std::map<std::uint32_t, View> views;
  if (ref != nullptr) {
    Result<std::uint32_t> root = resolve(access, *ref, &views);
    if (!root.is_ok()) return root.status();
    if (Status s = walk(access, *root, depth, &views); !s.is_ok()) return s;
    return render_dot(access, views);
  }
  if (access.hosted.empty()) {
    return Status(StatusCode::failed_precondition,
                  "this node hosts no partition, so it holds no documents; ask a node that "
                  "hosts one (mgraphctl status lists its partitions)");
  }
  Result<Json> size = access.nodes(access.hosted.front(), {});
  if (!size.is_ok()) return size.status();
  const auto count = (*size)["nodes"].get<std::size_t>();
  if (count > dot_nodes_max) {
    return Status(StatusCode::out_of_range,
                  "the graph has " + std::to_string(count) + " nodes, more than dot_nodes_max (" +
                      std::to_string(dot_nodes_max) +
                      "): draw a field's neighbourhood instead, dot REF.field --depth N");
  }
  std::vector<std::uint32_t> ids(count);
  for (std::size_t i = 0; i < count; ++i) ids[i] = static_cast<std::uint32_t>(i);
  if (Status s = describe(access, ids, &views); !s.is_ok()) return s;
  return render_dot(access, views);
}

}  // namespace mgraph::node

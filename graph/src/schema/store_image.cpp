// Store::export_image / import_image: the state of a schema
// session as plain data, for checkpoints (store_image.hpp).

#include <string>
#include <utility>

#include "mgraph/graph/schema/store.hpp"

namespace mgraph::schema {
namespace {

Status bad_image(const std::string& what) {
  return Status(StatusCode::invalid_argument, "store image: " + what);
}

}  // namespace

Result<StoreImage> Store::export_image() {
  if (graph_.in_transaction() || !pending_.empty()) {
    return Status(StatusCode::failed_precondition,
                  "export_image() inside an open transaction: commit or reject it first");
  }
  StoreImage im;
  im.records.reserve(records_.size());
  // A rebuild creates each record's nodes right after the previous record's; a creation
  // that failed part way left nodes no rebuild makes, and such a store cannot be saved.
  std::size_t expected = 0;
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const Record& r = records_[i];
    RecordImage ri;
    ri.entity = r.entity;
    ri.base = r.base;
    if (r.base != kNoNode) {
      if (r.base != expected) {
        return Status(StatusCode::failed_precondition,
                      "record #" + std::to_string(i + 1) +
                          " does not follow the previous record's nodes (a failed creation "
                          "left nodes behind); this store cannot be saved as an image");
      }
      expected = r.base + schema_->entities[r.entity].local_count;
    }
    if (r.extra) {
      ri.has_collections = true;
      ri.members = r.extra->members;
      ri.bags.reserve(r.extra->bags.size());
      for (const auto& bag : r.extra->bags) ri.bags.emplace_back(bag.begin(), bag.end());
    }
    im.records.push_back(std::move(ri));
  }
  if (expected != graph_.node_count()) {
    return Status(StatusCode::failed_precondition,
                  "the graph has nodes that belong to no record (a failed creation left "
                  "them); this store cannot be saved as an image");
  }
  im.versions = versions_;
  im.versions.resize(graph_.node_count(), 0);
  im.undo.assign(undo_.begin(), undo_.end());
  im.redo = redo_;
  Result<GraphImage> g = graph_.export_image();
  if (!g.is_ok()) return g.status();
  im.graph = std::move(g).value();
  return im;
}

Status Store::import_image(StoreImage im) {
  // A new Store: no records but the global one, which it created with itself.
  const std::size_t preset = schema_->global_entity != kNone ? 1 : 0;
  if (records_.size() != preset || (preset == 0 && graph_.node_count() != 0) ||
      graph_.revision() != 0 || graph_.in_transaction()) {
    return Status(StatusCode::failed_precondition,
                  "import_image() needs a new Store; this one already has records");
  }
  if (im.records.size() < preset) return bad_image("the global record is missing");
  const std::size_t n_entities = schema_->entities.size();
  // The records first: their nodes, in the order a live store created them.
  for (std::size_t i = 0; i < im.records.size(); ++i) {
    RecordImage& ri = im.records[i];
    const std::string where = "record #" + std::to_string(i + 1) + ": ";
    if (ri.entity >= n_entities) return bad_image(where + "unknown entity index");
    const EntityDef& e = schema_->entities[ri.entity];
    const RecordId id = i + 1;
    if (i < preset) {
      // The global record, already built: the same entity at the same nodes.
      if (ri.entity != records_[i].entity || ri.base != records_[i].base)
        return bad_image(where + "is not the global record");
    } else {
      records_.push_back(Record{ri.entity, kNoNode, nullptr});
    }
    if (ri.base == kNoNode) {
      if (ri.has_collections) return bad_image(where + "a failed record has collections");
      continue;
    }
    if (i >= preset) {
      if (ri.base != graph_.node_count())
        return bad_image(where + "its nodes are not where expected");
      std::vector<Value> initial;
      initial.reserve(e.fields.size());
      for (const FieldDef& f : e.fields) initial.push_back(f.initial);
      if (Status s = create_nodes(id, initial); !s.is_ok()) {
        return Status(s.code(),
                      "store image: " + where + "cannot rebuild its nodes: " + s.message());
      }
    }
    Record& r = records_[i];
    if (ri.has_collections != (r.extra != nullptr) ||
        (r.extra && (ri.members.size() != r.extra->members.size() ||
                     ri.bags.size() != r.extra->bags.size()))) {
      return bad_image(where + "its collections do not match entity " + e.name);
    }
    if (!r.extra) continue;
    for (std::size_t rel = 0; rel < ri.members.size(); ++rel) {
      const std::vector<RecordId>& ms = ri.members[rel];
      for (std::size_t k = 0; k < ms.size(); ++k) {
        if (ms[k] == 0 || ms[k] > im.records.size() || (k > 0 && ms[k - 1] >= ms[k]))
          return bad_image(where + "members are out of range or not sorted");
      }
      r.extra->members[rel] = std::move(ri.members[rel]);
    }
    for (std::size_t a = 0; a < ri.bags.size(); ++a) {
      r.extra->bags[a] = std::map<double, std::uint32_t>(ri.bags[a].begin(), ri.bags[a].end());
    }
  }
  if (im.versions.size() != graph_.node_count())
    return bad_image("versions do not cover every node");
  versions_ = std::move(im.versions);
  auto ops_in = [&](std::vector<StoreOpImage>& ops, std::vector<Op>* out) {
    for (const StoreOpImage& o : ops) {
      const Record* r = find(o.record);
      if (r == nullptr || !r->extra) return false;
      if (o.membership ? o.index >= r->extra->members.size() ||
                             o.other == 0 || o.other > records_.size()
                       : o.index >= r->extra->bags.size()) {
        return false;
      }
      out->push_back(o);
    }
    return true;
  };
  undo_.clear();
  redo_.clear();
  for (auto& ops : im.undo) {
    undo_.emplace_back();
    if (!ops_in(ops, &undo_.back())) return bad_image("an undo step names a bad collection");
  }
  for (auto& ops : im.redo) {
    redo_.emplace_back();
    if (!ops_in(ops, &redo_.back())) return bad_image("a redo step names a bad collection");
  }
  return graph_.import_image(std::move(im.graph));
}

}  // namespace mgraph::schema

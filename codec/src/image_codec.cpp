#include "mgraph/codec/image_codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "mgraph/codec/wire/image.capnp.h"
#include "wire.hpp"

namespace mgraph::codec {
namespace {

using namespace detail;  // NOLINT: the shared wire helpers (wire.hpp)

constexpr char kImageMagic[4] = {'M', 'G', 'I', 'M'};

// ---- Encoding ----

template <typename ListBuilder, typename Vec>
void put_list(ListBuilder b, const Vec& v) {
  for (std::size_t i = 0; i < v.size(); ++i) b.set(static_cast<unsigned>(i), v[i]);
}

/// How a session image of version 2 is written (a graph image keeps version 1's way).
struct Packing {
  /// List lengths instead of offsets (GraphImage depCounts, rdepCounts), empty member
  /// and bag lists left out.
  bool compact = false;
  /// Each vector of the image is freed once it is in the message, so that the image and
  /// the message are never both whole: set only by write_runner_image, which owns the
  /// (non-const) image it was given; hence the const_cast.
  bool consume = false;

  template <typename V>
  void done(const V& v) const {
    if (consume) V().swap(const_cast<V&>(v));
  }
};

/// The lengths of the lists `offsets` delimits among `ids`; false when the offsets are not
/// well formed (not starting at 0, decreasing, not ending at ids' size, too long a list).
bool counts_of(const std::vector<std::uint64_t>& offsets, std::size_t ids,
               std::vector<std::uint32_t>* counts) {
  if (offsets.empty() || offsets.front() != 0 || offsets.back() != ids) return false;
  counts->resize(offsets.size() - 1);
  for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
    if (offsets[i + 1] < offsets[i] || offsets[i + 1] - offsets[i] > UINT32_MAX) return false;
    (*counts)[i] = static_cast<std::uint32_t>(offsets[i + 1] - offsets[i]);
  }
  return true;
}

/// Offsets from list lengths: 0, then the running sums.
std::vector<std::uint64_t> offsets_of(capnp::List<std::uint32_t>::Reader counts) {
  std::vector<std::uint64_t> offsets;
  offsets.reserve(counts.size() + 1);
  offsets.push_back(0);
  for (const std::uint32_t c : counts) offsets.push_back(offsets.back() + c);
  return offsets;
}

void put_conditions(capnp::List<wire::ConditionEntry>::Builder b, const std::vector<ConditionEntry>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto e = b[static_cast<unsigned>(i)];
    e.setNode(v[i].node);
    e.setState(static_cast<std::uint8_t>(v[i].condition.state));
    e.setCause(v[i].condition.cause);
    e.setReason(capnp::Text::Reader(v[i].condition.reason.data(), v[i].condition.reason.size()));
  }
}

void put_record(wire::RevisionRecord::Builder b, const RevisionRecord& r) {
  b.setBefore(r.before);
  b.setAfter(r.after);
  auto values = b.initValues(n(r.values.size()));
  for (std::size_t i = 0; i < r.values.size(); ++i) {
    auto e = values[static_cast<unsigned>(i)];
    e.setNode(r.values[i].node);
    e.setChangedAt(r.values[i].changed_at);
    put_value(e.initValue(), r.values[i].value);
  }
  auto deps = b.initDeps(n(r.deps.size()));
  for (std::size_t i = 0; i < r.deps.size(); ++i) {
    auto e = deps[static_cast<unsigned>(i)];
    e.setNode(r.deps[i].node);
    put_list(e.initDeps(n(r.deps[i].deps.size())), r.deps[i].deps);
  }
  auto fresh = b.initFreshened(n(r.freshened.size()));
  for (std::size_t i = 0; i < r.freshened.size(); ++i) {
    auto e = fresh[static_cast<unsigned>(i)];
    e.setNode(r.freshened[i].node);
    e.setComputedAt(r.freshened[i].computed_at);
    e.setWasStale(r.freshened[i].was_stale);
  }
  put_list(b.initLeftStale(n(r.left_stale.size())), r.left_stale);
  auto after = b.initAfterPulls(n(r.after_pulls.size()));
  for (std::size_t i = 0; i < r.after_pulls.size(); ++i)
    put_record(after[static_cast<unsigned>(i)], r.after_pulls[i]);
  b.setPullSegment(r.pull_segment);
  if (!r.conditions.empty()) put_conditions(b.initConditions(n(r.conditions.size())), r.conditions);
}

void put_records(capnp::List<wire::RevisionRecord>::Builder b,
                 const std::vector<RevisionRecord>& v) {
  for (std::size_t i = 0; i < v.size(); ++i) put_record(b[static_cast<unsigned>(i)], v[i]);
}

void put_graph(wire::GraphImage::Builder b, const GraphImage& g, Packing packing) {
  b.setShape(g.shape);
  auto values = b.initValues(n(g.values.size()));
  for (std::size_t i = 0; i < g.values.size(); ++i)
    put_value(values[static_cast<unsigned>(i)], g.values[i]);
  packing.done(g.values);
  put_list(b.initMeta(n(g.meta.size())), g.meta);
  packing.done(g.meta);
  put_list(b.initChangedAt(n(g.changed_at.size())), g.changed_at);
  packing.done(g.changed_at);
  put_list(b.initComputedAt(n(g.computed_at.size())), g.computed_at);
  packing.done(g.computed_at);
  std::vector<std::uint32_t> counts;
  if (packing.compact && counts_of(g.dep_offsets, g.dep_ids.size(), &counts)) {
    put_list(b.initDepCounts(n(counts.size())), counts);
  } else {
    put_list(b.initDepOffsets(n(g.dep_offsets.size())), g.dep_offsets);
  }
  packing.done(g.dep_offsets);
  put_list(b.initDepIds(n(g.dep_ids.size())), g.dep_ids);
  packing.done(g.dep_ids);
  if (packing.compact && counts_of(g.rdep_offsets, g.rdep_ids.size(), &counts)) {
    put_list(b.initRdepCounts(n(counts.size())), counts);
  } else {
    put_list(b.initRdepOffsets(n(g.rdep_offsets.size())), g.rdep_offsets);
  }
  packing.done(g.rdep_offsets);
  put_list(b.initRdepIds(n(g.rdep_ids.size())), g.rdep_ids);
  packing.done(g.rdep_ids);
  auto keep = b.initGroupKeep(n(g.group_keep.size()));
  for (std::size_t i = 0; i < g.group_keep.size(); ++i) {
    auto k = keep.init(static_cast<unsigned>(i), n(g.group_keep[i].size()));
    for (std::size_t j = 0; j < g.group_keep[i].size(); ++j)
      k.set(static_cast<unsigned>(j), g.group_keep[i][j]);
  }
  b.setStamp(g.stamp);
  b.setTxnFirstStamp(g.txn_first_stamp);
  b.setStampComputed(g.stamp_computed);
  b.setRevision(g.revision);
  b.setNextRevision(g.next_revision);
  put_list(b.initLastChanged(n(g.last_changed.size())), g.last_changed);
  put_list(b.initPendingNew(n(g.pending_new.size())), g.pending_new);
  put_list(b.initForced(n(g.forced.size())), g.forced);
  put_records(b.initUndo(n(g.undo.size())), g.undo);
  packing.done(g.undo);
  put_records(b.initRedo(n(g.redo.size())), g.redo);
  packing.done(g.redo);
  put_records(b.initAmbient(n(g.ambient.size())), g.ambient);
  packing.done(g.ambient);
  if (!g.conditions.empty()) put_conditions(b.initConditions(n(g.conditions.size())), g.conditions);
}

void put_ops(capnp::List<capnp::List<wire::StoreOp>>::Builder b,
             const std::vector<std::vector<schema::StoreOpImage>>& steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto ops = b.init(static_cast<unsigned>(i), n(steps[i].size()));
    for (std::size_t j = 0; j < steps[i].size(); ++j) {
      const schema::StoreOpImage& o = steps[i][j];
      auto ob = ops[static_cast<unsigned>(j)];
      ob.setMembership(o.membership);
      ob.setInsert(o.insert);
      ob.setRecord(o.record);
      ob.setIndex(o.index);
      ob.setOther(o.other);
      ob.setValue(o.value);
    }
  }
}

void put_store(wire::StoreImage::Builder b, const schema::StoreImage& s, Packing packing) {
  auto records = b.initRecords(n(s.records.size()));
  for (std::size_t i = 0; i < s.records.size(); ++i) {
    const schema::RecordImage& r = s.records[i];
    auto rb = records[static_cast<unsigned>(i)];
    rb.setEntity(r.entity);
    rb.setBase(r.base);
    rb.setHasCollections(r.has_collections);
    if (packing.compact && r.members.empty() && r.bags.empty()) continue;  // null lists
    auto members = rb.initMembers(n(r.members.size()));
    for (std::size_t k = 0; k < r.members.size(); ++k)
      put_list(members.init(static_cast<unsigned>(k), n(r.members[k].size())),
               r.members[k]);
    auto bags = rb.initBags(n(r.bags.size()));
    for (std::size_t k = 0; k < r.bags.size(); ++k) {
      auto bag = bags.init(static_cast<unsigned>(k), n(r.bags[k].size()));
      for (std::size_t j = 0; j < r.bags[k].size(); ++j) {
        bag[static_cast<unsigned>(j)].setValue(r.bags[k][j].first);
        bag[static_cast<unsigned>(j)].setCount(r.bags[k][j].second);
      }
    }
  }
  packing.done(s.records);
  put_list(b.initVersions(n(s.versions.size())), s.versions);
  packing.done(s.versions);
  put_ops(b.initUndo(n(s.undo.size())), s.undo);
  put_ops(b.initRedo(n(s.redo.size())), s.redo);
  put_graph(b.initGraph(), s.graph, packing);
}

// ---- Decoding ----

/// Conditions as stored; Graph::import_image() checks the states and nodes.
std::vector<ConditionEntry> get_conditions(capnp::List<wire::ConditionEntry>::Reader r) {
  std::vector<ConditionEntry> out;
  out.reserve(r.size());
  for (const auto e : r) {
    out.push_back(ConditionEntry{e.getNode(), FieldCondition{static_cast<FieldState>(e.getState()), e.getCause(),
                                                             std::string(e.getReason().cStr(), e.getReason().size())}});
  }
  return out;
}

RevisionRecord get_record(wire::RevisionRecord::Reader r) {
  RevisionRecord out;
  out.before = r.getBefore();
  out.after = r.getAfter();
  for (const auto e : r.getValues())
    out.values.push_back(JournalEntry{e.getNode(), e.getChangedAt(), get_value(e.getValue())});
  for (const auto e : r.getDeps())
    out.deps.push_back(DepsEntry{e.getNode(), get_list<NodeId>(e.getDeps())});
  for (const auto e : r.getFreshened())
    out.freshened.push_back(Freshened{e.getNode(), e.getComputedAt(), e.getWasStale()});
  out.left_stale = get_list<NodeId>(r.getLeftStale());
  for (const auto a : r.getAfterPulls()) out.after_pulls.push_back(get_record(a));
  out.pull_segment = r.getPullSegment();
  out.conditions = get_conditions(r.getConditions());
  return out;
}

std::vector<RevisionRecord> get_records(capnp::List<wire::RevisionRecord>::Reader r) {
  std::vector<RevisionRecord> out;
  out.reserve(r.size());
  for (const auto x : r) out.push_back(get_record(x));
  return out;
}

GraphImage get_graph(wire::GraphImage::Reader r) {
  GraphImage g;
  g.shape = r.getShape();
  g.values.reserve(r.getValues().size());
  for (const auto v : r.getValues()) g.values.push_back(get_value(v));
  g.meta = get_list<std::uint32_t>(r.getMeta());
  g.changed_at = get_list<std::uint32_t>(r.getChangedAt());
  g.computed_at = get_list<std::uint32_t>(r.getComputedAt());
  g.dep_offsets = r.hasDepCounts() ? offsets_of(r.getDepCounts())
                                   : get_list<std::uint64_t>(r.getDepOffsets());
  g.dep_ids = get_list<NodeId>(r.getDepIds());
  g.rdep_offsets = r.hasRdepCounts() ? offsets_of(r.getRdepCounts())
                                     : get_list<std::uint64_t>(r.getRdepOffsets());
  g.rdep_ids = get_list<NodeId>(r.getRdepIds());
  for (const auto k : r.getGroupKeep()) g.group_keep.push_back(get_list<bool>(k));
  g.stamp = r.getStamp();
  g.txn_first_stamp = r.getTxnFirstStamp();
  g.stamp_computed = r.getStampComputed();
  g.revision = r.getRevision();
  g.next_revision = r.getNextRevision();
  g.last_changed = get_list<NodeId>(r.getLastChanged());
  g.pending_new = get_list<NodeId>(r.getPendingNew());
  g.forced = get_list<NodeId>(r.getForced());
  g.undo = get_records(r.getUndo());
  g.redo = get_records(r.getRedo());
  g.ambient = get_records(r.getAmbient());
  g.conditions = get_conditions(r.getConditions());
  return g;
}

std::vector<std::vector<schema::StoreOpImage>> get_ops(
    capnp::List<capnp::List<wire::StoreOp>>::Reader r) {
  std::vector<std::vector<schema::StoreOpImage>> out;
  out.reserve(r.size());
  for (const auto step : r) {
    auto& ops = out.emplace_back();
    ops.reserve(step.size());
    for (const auto o : step) {
      ops.push_back(schema::StoreOpImage{o.getMembership(), o.getInsert(), o.getRecord(),
                                         o.getIndex(), o.getOther(), o.getValue()});
    }
  }
  return out;
}

schema::StoreImage get_store(wire::StoreImage::Reader r) {
  schema::StoreImage s;
  s.records.reserve(r.getRecords().size());
  for (const auto rr : r.getRecords()) {
    schema::RecordImage ri;
    ri.entity = rr.getEntity();
    ri.base = rr.getBase();
    ri.has_collections = rr.getHasCollections();
    for (const auto m : rr.getMembers()) ri.members.push_back(get_list<schema::RecordId>(m));
    for (const auto bag : rr.getBags()) {
      auto& out = ri.bags.emplace_back();
      for (const auto e : bag) out.emplace_back(e.getValue(), e.getCount());
    }
    s.records.push_back(std::move(ri));
  }
  s.versions = get_list<std::uint64_t>(r.getVersions());
  s.undo = get_ops(r.getUndo());
  s.redo = get_ops(r.getRedo());
  s.graph = get_graph(r.getGraph());
  return s;
}

}  // namespace

Result<std::string> encode_graph_image(const GraphImage& image) {
  return encode("graph image", kImageMagic, kImageFormatVersion, [&](capnp::MallocMessageBuilder& m) {
    put_graph(m.initRoot<wire::GraphImage>(), image, Packing{});
  });
}

Result<GraphImage> decode_graph_image(std::string_view bytes) {
  return decode<wire::GraphImage>(bytes, "graph image", kImageMagic, kImageFormatVersion,
                                  [](wire::GraphImage::Reader r) { return get_graph(r); });
}

namespace {

void put_runner(wire::RunnerImage::Builder root, const schema::RunnerImage& image,
                Packing packing) {
  put_store(root.initStore(), image.store, packing);
  auto aliases = root.initAliases(n(image.aliases.size()));
  for (std::size_t i = 0; i < image.aliases.size(); ++i) {
    const auto& [name, id] = image.aliases[i];
    aliases[static_cast<unsigned>(i)].setName(capnp::Text::Reader(name.data(), name.size()));
    aliases[static_cast<unsigned>(i)].setRecord(id);
  }
}

schema::RunnerImage get_runner(wire::RunnerImage::Reader r) {
  schema::RunnerImage im;
  im.store = get_store(r.getStore());
  for (const auto a : r.getAliases()) {
    const capnp::Text::Reader name = a.getName();
    im.aliases.emplace_back(std::string(name.cStr(), name.size()), a.getRecord());
  }
  return im;
}

/// write_runner_image; `consume`: the image may be emptied as it is written.
Status write_runner(const schema::RunnerImage& image, bool consume,
                    const std::function<Status(std::string_view)>& sink) {
  return write_packed("session image", kImageMagic, kRunnerImageFormatVersion, sink,
                      [&](capnp::MallocMessageBuilder& message) {
                        put_runner(message.initRoot<wire::RunnerImage>(), image,
                                   Packing{.compact = true, .consume = consume});
                      });
}

}  // namespace

Status write_runner_image(schema::RunnerImage image,
                          const std::function<Status(std::string_view)>& sink) {
  return write_runner(image, true, sink);
}

Result<std::string> encode_runner_image(const schema::RunnerImage& image) {
  std::string out;
  const Status s = write_runner(image, false, [&](std::string_view piece) {
    out.append(piece);
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<schema::RunnerImage> decode_runner_image(std::string_view bytes) {
  if (version_of(bytes, kImageMagic) == kImageFormatVersion) {  // plain, as written before
    return decode<wire::RunnerImage>(bytes, "session image", kImageMagic, kImageFormatVersion,
                                     get_runner);
  }
  return decode_packed<wire::RunnerImage>(bytes, "session image", kImageMagic,
                                          kRunnerImageFormatVersion, get_runner);
}

Result<std::string> encode_value(const Value& value) {
  return encode("value", kImageMagic, kImageFormatVersion, [&](capnp::MallocMessageBuilder& m) {
    put_value(m.initRoot<wire::Value>(), value);
  });
}

Result<Value> decode_value(std::string_view bytes) {
  return decode<wire::Value>(bytes, "value", kImageMagic, kImageFormatVersion, [](wire::Value::Reader r) { return get_value(r); });
}

}  // namespace mgraph::codec

#include "mgraph/codec/partition_codec.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "mgraph/codec/wire/partition.capnp.h"
#include "session_wire.hpp"
#include "wire.hpp"

namespace mgraph::codec {
namespace {

constexpr char kRequestMagic[4] = {'M', 'G', 'P', 'Q'};
constexpr char kReplyMagic[4] = {'M', 'G', 'P', 'R'};
constexpr auto kKindMax = static_cast<std::uint16_t>(PartitionRequestKind::records);

void put_messages(capnp::List<wire::PartitionMessage>::Builder b,
                  const std::vector<PartitionMessage>& messages) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto m = b[static_cast<unsigned>(i)];
    m.setResolve(messages[i].resolve);
    m.setNode(messages[i].node);
    m.setChanged(messages[i].changed);
    detail::put_value(m.initValue(), messages[i].value);
    const FieldCondition& c = messages[i].condition;
    if (c.state != FieldState::ok) {
      m.setState(static_cast<std::uint8_t>(c.state));
      m.setCause(c.cause);
      m.setReason(detail::text(c.reason));
    }
  }
}

std::vector<PartitionMessage> get_messages(capnp::List<wire::PartitionMessage>::Reader r) {
  std::vector<PartitionMessage> out;
  out.reserve(r.size());
  for (const auto m : r) {
    const std::uint8_t state = m.getState();
    if (state > static_cast<std::uint8_t>(FieldState::blocked))
      throw detail::DecodeError{"unknown field state " + std::to_string(state)};
    FieldCondition condition;  // ok: no cause, no reason (what an encoder writes)
    if (state != 0) {
      condition = FieldCondition{static_cast<FieldState>(state), m.getCause(), std::string(m.getReason().cStr())};
    }
    out.push_back(PartitionMessage{m.getResolve(), m.getNode(), m.getChanged(), detail::get_value(m.getValue()),
                                   std::move(condition)});
  }
  return out;
}

constexpr char kEffectsMagic[4] = {'M', 'G', 'F', 'X'};

void put_trigger(wire::EffectTrigger::Builder t, const EffectTrigger& x) {
  t.setNode(x.node);
  t.setVersion(x.version);
  t.setRecord(x.record);
  t.setEffect(detail::text(x.effect));
  detail::put_value(t.initValue(), x.value);
  t.setInitialMs(static_cast<std::uint64_t>(x.policy.initial.count()));
  t.setMultiplier(x.policy.multiplier);
  t.setMaxDelayMs(static_cast<std::uint64_t>(x.policy.max_delay.count()));
  t.setMaxAttempts(x.policy.max_attempts);
  t.setMode(static_cast<std::uint8_t>(x.policy.mode));
  t.setQueue(x.queue);
  auto names = t.initValueNames(detail::n(x.values.size()));
  auto values = t.initValues(detail::n(x.values.size()));
  for (unsigned i = 0; i < x.values.size(); ++i) {
    names.set(i, detail::text(x.values[i].first));
    detail::put_value(values[i], x.values[i].second);
  }
  detail::put_value(t.initTime(), x.time);
}

void put_triggers(capnp::List<wire::EffectTrigger>::Builder b,
                  const std::vector<EffectTrigger>& triggers) {
  for (std::size_t i = 0; i < triggers.size(); ++i) put_trigger(b[static_cast<unsigned>(i)], triggers[i]);
}

EffectTrigger get_trigger(wire::EffectTrigger::Reader t) {
  EffectTrigger x;
  x.node = t.getNode();
  x.version = t.getVersion();
  x.record = t.getRecord();
  x.effect = detail::get_text(t.getEffect());
  x.value = detail::get_value(t.getValue());
  // Out-of-range numbers are left for RetryPolicy::check where the delivery is offered.
  x.policy.initial = std::chrono::milliseconds(
      static_cast<std::int64_t>(std::min<std::uint64_t>(t.getInitialMs(), INT64_MAX)));
  x.policy.multiplier = t.getMultiplier();
  x.policy.max_delay = std::chrono::milliseconds(
      static_cast<std::int64_t>(std::min<std::uint64_t>(t.getMaxDelayMs(), INT64_MAX)));
  x.policy.max_attempts = t.getMaxAttempts();
  // An unknown mode is left for RetryPolicy::check too.
  x.policy.mode = static_cast<schema::DeliveryMode>(t.getMode());
  x.queue = t.getQueue();
  const auto names = t.getValueNames();
  const auto values = t.getValues();
  if (names.size() != values.size()) {
    throw detail::DecodeError{"effect trigger: " + std::to_string(names.size()) + " names, " +
                              std::to_string(values.size()) + " values"};
  }
  for (unsigned i = 0; i < names.size(); ++i) {
    x.values.emplace_back(detail::get_text(names[i]), detail::get_value(values[i]));
  }
  if (t.hasTime()) x.time = detail::get_value(t.getTime());
  return x;
}

std::vector<EffectTrigger> get_triggers(capnp::List<wire::EffectTrigger>::Reader r) {
  std::vector<EffectTrigger> out;
  out.reserve(r.size());
  for (const auto t : r) out.push_back(get_trigger(t));
  return out;
}

void put_recorded(capnp::List<wire::RecordedChange>::Builder b,
                  const std::vector<session::RecordedChange>& changes) {
  for (unsigned i = 0; i < changes.size(); ++i) {
    const session::RecordedChange& c = changes[i];
    b[i].setNode(static_cast<std::uint32_t>(c.node));
    b[i].setVersion(c.version);
    detail::put_value(b[i].initValue(), c.value);
    b[i].setEffect(c.effect);
    if (!c.queue_trigger.empty()) b[i].setQueueTrigger(detail::text(c.queue_trigger));
  }
}

std::vector<session::RecordedChange> get_recorded(capnp::List<wire::RecordedChange>::Reader r) {
  std::vector<session::RecordedChange> out;
  out.reserve(r.size());
  for (const auto c : r) {
    out.push_back(session::RecordedChange{c.getNode(), c.getVersion(), detail::get_value(c.getValue()),
                                          c.getEffect(), detail::get_text(c.getQueueTrigger())});
  }
  return out;
}

void put_changes(capnp::List<wire::FieldChange>::Builder b, const std::vector<FieldChange>& changes) {
  for (unsigned i = 0; i < changes.size(); ++i) {
    const FieldChange& x = changes[i];
    b[i].setRecord(x.record);
    b[i].setEntity(detail::text(x.entity));
    b[i].setField(detail::text(x.field));
    detail::put_value(b[i].initValue(), x.value);
    b[i].setVersion(x.version);
  }
}

std::vector<FieldChange> get_changes(capnp::List<wire::FieldChange>::Reader r) {
  std::vector<FieldChange> out;
  out.reserve(r.size());
  for (const auto c : r) {
    out.push_back(FieldChange{c.getRecord(), detail::get_text(c.getEntity()), detail::get_text(c.getField()),
                              detail::get_value(c.getValue()), c.getVersion()});
  }
  return out;
}

void put_results(capnp::List<wire::RequestResult>::Builder b, const std::vector<session::RequestResult>& results) {
  for (unsigned i = 0; i < results.size(); ++i) {
    b[i].setNode(static_cast<std::uint32_t>(results[i].node));
    b[i].setVersion(results[i].version);
    detail::put_value(b[i].initValue(), results[i].value);
    b[i].setOutcome(detail::text(results[i].outcome));
  }
}

std::vector<session::RequestResult> get_results(capnp::List<wire::RequestResult>::Reader r) {
  std::vector<session::RequestResult> out;
  out.reserve(r.size());
  for (const auto x : r) {
    out.push_back(session::RequestResult{x.getNode(), x.getVersion(), detail::get_value(x.getValue()),
                                         detail::get_text(x.getOutcome())});
  }
  return out;
}

}  // namespace

const char* partition_request_kind_name(PartitionRequestKind kind) {
  switch (kind) {
    case PartitionRequestKind::apply: return "apply";
    case PartitionRequestKind::check_link: return "check_link";
    case PartitionRequestKind::begin: return "begin";
    case PartitionRequestKind::mark: return "mark";
    case PartitionRequestKind::deliver: return "deliver";
    case PartitionRequestKind::compute: return "compute";
    case PartitionRequestKind::pending: return "pending";
    case PartitionRequestKind::reject: return "reject";
    case PartitionRequestKind::probe: return "probe";
    case PartitionRequestKind::dot: return "dot";
    case PartitionRequestKind::reset: return "reset";
    case PartitionRequestKind::add_revision: return "add_revision";
    case PartitionRequestKind::checkpoint: return "checkpoint";
    case PartitionRequestKind::restore: return "restore";
    case PartitionRequestKind::records: return "records";
  }
  return "unknown";
}

Result<std::string> encode_partition_request(const PartitionRequest& q) {
  return detail::encode(
      "partition request", kRequestMagic, kPartitionFormatVersion,
      [&](capnp::MallocMessageBuilder& m) {
        auto root = m.initRoot<wire::PartitionRequest>();
        root.setKind(static_cast<wire::PartitionRequest::Kind>(q.kind));
        root.setBatch(q.batch);
        root.setFirst(q.first);
        if (!q.ops.empty()) detail::put_batch(root.initOps(), q.ops);
        if (!q.messages.empty()) put_messages(root.initMessages(detail::n(q.messages.size())), q.messages);
        root.setRecord(q.record);
        if (!q.name.empty()) root.setName(detail::text(q.name));
        root.setOther(q.other);
        root.setMarkAfter(q.mark_after);
        root.setReporter(q.reporter);
        root.setComputeAfter(q.compute_after);
        root.setPreview(q.preview);
        root.setConfine(q.confine);
      });
}

namespace {
/// A request's kind, checked (DecodeError for one this version does not know).
PartitionRequestKind request_kind(wire::PartitionRequest::Reader r) {
  const auto kind = static_cast<std::uint16_t>(r.getKind());
  if (kind > kKindMax) throw detail::DecodeError{"unknown request kind " + std::to_string(kind)};
  return static_cast<PartitionRequestKind>(kind);
}
}  // namespace

Result<PartitionRequest> decode_partition_request(std::string_view bytes) {
  return detail::decode<wire::PartitionRequest>(
      bytes, "partition request", kRequestMagic, kPartitionFormatVersion,
      [](wire::PartitionRequest::Reader r) {
        PartitionRequest q;
        q.kind = request_kind(r);
        q.batch = r.getBatch();
        q.first = r.getFirst();
        if (r.hasOps()) q.ops = detail::get_batch(r.getOps(), q.first);
        q.messages = get_messages(r.getMessages());
        q.record = r.getRecord();
        q.name = detail::get_text(r.getName());
        q.other = r.getOther();
        q.mark_after = r.getMarkAfter();
        q.reporter = r.getReporter();
        q.compute_after = r.getComputeAfter();
        q.preview = r.getPreview();
        q.confine = r.getConfine();
        return q;
      });
}

Result<PartitionRequestKind> decode_partition_request_kind(std::string_view bytes) {
  return detail::decode<wire::PartitionRequest>(
      bytes, "partition request", kRequestMagic, kPartitionFormatVersion,
      [](wire::PartitionRequest::Reader r) { return request_kind(r); });
}

Result<std::string> encode_partition_reply(const PartitionReply& a) {
  return detail::encode(
      "partition reply", kReplyMagic, kPartitionFormatVersion,
      [&](capnp::MallocMessageBuilder& m) {
        auto root = m.initRoot<wire::PartitionReply>();
        root.setCode(static_cast<std::uint8_t>(a.status.code()));
        if (!a.status.is_ok()) root.setMessage(detail::text(a.status.message()));
        if (!a.results.empty()) detail::put_batch_result(root.initResults(), a.results);
        if (!a.stale.empty()) {
          auto stale = root.initStale(detail::n(a.stale.size()));
          for (std::size_t i = 0; i < a.stale.size(); ++i) stale.set(static_cast<unsigned>(i), a.stale[i]);
        }
        if (!a.resolved.empty()) put_messages(root.initResolved(detail::n(a.resolved.size())), a.resolved);
        if (!a.pending.empty()) {
          auto pending = root.initPending(detail::n(a.pending.size()));
          for (std::size_t i = 0; i < a.pending.size(); ++i) {
            auto p = pending[static_cast<unsigned>(i)];
            p.setNode(a.pending[i].node);
            p.setName(detail::text(a.pending[i].name));
            const std::vector<NodeId>& waits = a.pending[i].waits_on;
            auto w = p.initWaitsOn(detail::n(waits.size()));
            for (std::size_t k = 0; k < waits.size(); ++k) w.set(static_cast<unsigned>(k), waits[k]);
          }
        }
        root.setInTransaction(a.in_transaction);
        root.setRevision(a.revision);
        root.setWaiting(a.waiting);
        root.setOwnedChanged(a.owned_changed);
        root.setComputed(a.computed);
        if (!a.dot_nodes.empty()) detail::put_texts(root.initDotNodes(detail::n(a.dot_nodes.size())), a.dot_nodes);
        if (!a.dot_edges.empty()) detail::put_texts(root.initDotEdges(detail::n(a.dot_edges.size())), a.dot_edges);
        if (!a.effects.empty()) put_triggers(root.initEffects(detail::n(a.effects.size())), a.effects);
        root.setCheckpointBytes(a.checkpoint_bytes);
        root.setMarked(a.marked);
        if (!a.changes.empty()) put_changes(root.initChanges(detail::n(a.changes.size())), a.changes);
        if (!a.recorded.empty()) put_recorded(root.initRecorded(detail::n(a.recorded.size())), a.recorded);
        if (!a.request_results.empty()) {
          put_results(root.initRequestResults(detail::n(a.request_results.size())), a.request_results);
        }
        root.setResultsCount(a.results_count);
        root.setResultsDigest(a.results_digest);
        root.setPreviewed(a.previewed);
        root.setPreviewRevision(a.preview_revision);
        root.setPreviewOwnedChanged(a.preview_owned_changed);
        root.setConfined(a.confined);
        if (!a.written_owners.empty()) {
          auto owners = root.initWrittenOwners(detail::n(a.written_owners.size()));
          for (std::size_t i = 0; i < a.written_owners.size(); ++i) {
            owners.set(static_cast<unsigned>(i), a.written_owners[i]);
          }
        }
      });
}

Result<PartitionReply> decode_partition_reply(std::string_view bytes) {
  return detail::decode<wire::PartitionReply>(
      bytes, "partition reply", kReplyMagic, kPartitionFormatVersion,
      [](wire::PartitionReply::Reader r) {
        PartitionReply a;
        a.status = detail::get_status(r.getCode(), r.getMessage());
        if (r.hasResults()) a.results = detail::get_batch_result(r.getResults());
        a.stale = detail::get_list<NodeId>(r.getStale());
        a.resolved = get_messages(r.getResolved());
        for (const auto p : r.getPending()) {
          a.pending.push_back(PendingField{p.getNode(), detail::get_text(p.getName()),
                                           detail::get_list<NodeId>(p.getWaitsOn())});
        }
        a.in_transaction = r.getInTransaction();
        a.revision = r.getRevision();
        a.waiting = r.getWaiting();
        a.owned_changed = r.getOwnedChanged();
        a.computed = r.getComputed();
        a.dot_nodes = detail::get_texts(r.getDotNodes());
        a.dot_edges = detail::get_texts(r.getDotEdges());
        a.effects = get_triggers(r.getEffects());
        a.checkpoint_bytes = r.getCheckpointBytes();
        a.marked = r.getMarked();
        a.changes = get_changes(r.getChanges());
        a.recorded = get_recorded(r.getRecorded());
        a.request_results = get_results(r.getRequestResults());
        a.results_count = r.getResultsCount();
        a.results_digest = r.getResultsDigest();
        a.previewed = r.getPreviewed();
        a.preview_revision = r.getPreviewRevision();
        a.preview_owned_changed = r.getPreviewOwnedChanged();
        a.confined = r.getConfined();
        a.written_owners = detail::get_list<std::uint32_t>(r.getWrittenOwners());
        return a;
      });
}

namespace {

constexpr char kCheckpointMagic[4] = {'M', 'G', 'C', 'K'};

EffectTrigger trigger_of(const session::Delivery& d) {
  EffectTrigger t;
  t.node = static_cast<NodeId>(d.key.field);
  t.version = d.key.version;
  t.record = d.payload.record;
  t.effect = d.payload.effect;
  t.value = d.payload.value;
  t.policy = d.policy;
  t.queue = d.payload.queue;
  t.values = d.payload.values;
  t.time = d.payload.time;
  return t;
}

}  // namespace

Result<std::string> encode_epoch_checkpoint(const EpochCheckpoint& c) {
  return detail::encode(
      "epoch checkpoint", kCheckpointMagic, kPartitionFormatVersion, [&](capnp::MallocMessageBuilder& m) {
        auto root = m.initRoot<wire::EpochCheckpoint>();
        root.setEpoch(c.epoch);
        root.setImageBytes(c.image_bytes);
        auto owed = root.initOwed(detail::n(c.owed.pending.size() + c.owed.dead.size()));
        unsigned i = 0;
        for (const bool dead : {false, true}) {
          for (const session::Delivery& d : dead ? c.owed.dead : c.owed.pending) {
            auto o = owed[i++];
            put_trigger(o.initTrigger(), trigger_of(d));
            o.setEpoch(d.epoch);
            o.setAttempts(d.attempts);
            o.setDead(dead);
            auto covered = o.initCovered(detail::n(d.covered.size()));
            for (unsigned k = 0; k < d.covered.size(); ++k) {
              covered[k].setField(d.covered[k].field);
              covered[k].setVersion(d.covered[k].version);
            }
          }
        }
        auto fields = root.initSettledFields(detail::n(c.owed.settled.size()));
        auto versions = root.initSettledVersions(detail::n(c.owed.settled.size()));
        for (unsigned k = 0; k < c.owed.settled.size(); ++k) {
          fields.set(k, c.owed.settled[k].field);
          versions.set(k, c.owed.settled[k].version);
        }
        auto answers = root.initAnswers(detail::n(c.answers.size()));
        for (unsigned k = 0; k < c.answers.size(); ++k) {
          answers[k].setClient(c.answers[k].first.client);
          answers[k].setSeq(c.answers[k].first.seq);
          answers[k].setAnswer(capnp::Data::Reader(
              reinterpret_cast<const kj::byte*>(c.answers[k].second.data()), c.answers[k].second.size()));
        }
      });
}

Result<EpochCheckpoint> decode_epoch_checkpoint(std::string_view bytes) {
  return detail::decode<wire::EpochCheckpoint>(
      bytes, "epoch checkpoint", kCheckpointMagic, kPartitionFormatVersion,
      [](wire::EpochCheckpoint::Reader r) {
        EpochCheckpoint c;
        c.epoch = r.getEpoch();
        c.image_bytes = r.getImageBytes();
        for (const auto o : r.getOwed()) {
          const EffectTrigger t = get_trigger(o.getTrigger());
          session::Delivery d;
          d.key = session::DeliveryKey{t.node, t.version};
          d.epoch = o.getEpoch();
          d.payload = session::EffectPayload{t.record, t.effect, t.value, t.queue, t.values, t.time};
          d.policy = t.policy;
          d.attempts = o.getAttempts();
          for (const auto k : o.getCovered()) d.covered.push_back({k.getField(), k.getVersion()});
          (o.getDead() ? c.owed.dead : c.owed.pending).push_back(std::move(d));
        }
        const auto fields = r.getSettledFields();
        const auto versions = r.getSettledVersions();
        if (fields.size() != versions.size()) {
          throw detail::DecodeError{"settled keys: " + std::to_string(fields.size()) + " fields, " +
                                    std::to_string(versions.size()) + " versions"};
        }
        for (unsigned k = 0; k < fields.size(); ++k) c.owed.settled.push_back({fields[k], versions[k]});
        for (const auto a : r.getAnswers()) {
          const auto bytes = a.getAnswer();
          c.answers.emplace_back(session::TxnId{a.getClient(), a.getSeq()},
                                 std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
        }
        return c;
      });
}

bool is_epoch_checkpoint(std::string_view bytes) {
  return bytes.size() >= 4 && std::equal(kCheckpointMagic, kCheckpointMagic + 4, bytes.begin());
}

namespace {
constexpr char kDeliveryChangesMagic[4] = {'M', 'G', 'D', 'C'};
}  // namespace

Result<std::string> encode_delivery_changes(const std::vector<session::DeliveryChange>& changes,
                                            const std::vector<EffectClaim>& claims) {
  if (changes.size() > kDeliveryChangesMax) {
    return Status(StatusCode::invalid_argument, std::to_string(changes.size()) +
                                                    " delivery changes in one entry exceed " +
                                                    std::to_string(kDeliveryChangesMax));
  }
  if (claims.size() > kEffectClaimsMax) {
    return Status(StatusCode::invalid_argument, std::to_string(claims.size()) + " effect claims in one entry exceed " +
                                                    std::to_string(kEffectClaimsMax));
  }
  return detail::encode(
      "delivery changes", kDeliveryChangesMagic, kPartitionFormatVersion, [&](capnp::MallocMessageBuilder& m) {
        auto root = m.initRoot<wire::DeliveryChanges>();
        if (!claims.empty()) {
          auto c = root.initClaims(detail::n(claims.size()));
          for (unsigned i = 0; i < claims.size(); ++i) {
            c[i].setEffect(claims[i].effect);
            c[i].setGroup(claims[i].group);
          }
        }
        auto list = root.initChanges(detail::n(changes.size()));
        for (unsigned i = 0; i < changes.size(); ++i) {
          auto key = list[i].initKey();
          key.setField(changes[i].key.field);
          key.setVersion(changes[i].key.version);
          list[i].setKind(static_cast<std::uint8_t>(changes[i].kind));
          list[i].setAttempts(changes[i].attempts);
          if (!changes[i].group.empty()) list[i].setGroup(changes[i].group);
        }
      });
}

Result<DeliveryChangesEntry> decode_delivery_changes(std::string_view bytes) {
  return detail::decode<wire::DeliveryChanges>(
      bytes, "delivery changes", kDeliveryChangesMagic, kPartitionFormatVersion,
      [](wire::DeliveryChanges::Reader r) {
        // Each list read once: each read counts against the limit.
        const auto list = r.getChanges();
        const auto claims = r.getClaims();
        if (list.size() > kDeliveryChangesMax) {
          throw detail::DecodeError{std::to_string(list.size()) + " delivery changes exceed " +
                                    std::to_string(kDeliveryChangesMax)};
        }
        if (claims.size() > kEffectClaimsMax) {
          throw detail::DecodeError{std::to_string(claims.size()) + " effect claims exceed " +
                                    std::to_string(kEffectClaimsMax)};
        }
        DeliveryChangesEntry out;
        out.changes.reserve(list.size());
        for (const auto c : list) {
          const std::uint8_t kind = c.getKind();
          if (kind < 1 || kind > session::kDeliveryChangeKindMax) {
            throw detail::DecodeError{"delivery change kind " + std::to_string(kind)};
          }
          out.changes.push_back(session::DeliveryChange{{c.getKey().getField(), c.getKey().getVersion()},
                                                        static_cast<session::DeliveryChange::Kind>(kind),
                                                        c.getAttempts(), detail::get_text(c.getGroup())});
        }
        out.claims.reserve(claims.size());
        for (const auto c : claims) {
          out.claims.push_back(EffectClaim{detail::get_text(c.getEffect()), detail::get_text(c.getGroup())});
        }
        return out;
      });
}

bool is_delivery_changes(std::string_view bytes) {
  return bytes.size() >= 4 && std::equal(kDeliveryChangesMagic, kDeliveryChangesMagic + 4, bytes.begin());
}

namespace {
constexpr char kFieldChangesMagic[4] = {'M', 'G', 'W', 'C'};
}  // namespace

Result<std::string> encode_field_changes(const std::vector<FieldChange>& changes) {
  return detail::encode("field changes", kFieldChangesMagic, kPartitionFormatVersion,
                        [&](capnp::MallocMessageBuilder& m) {
                          auto root = m.initRoot<wire::FieldChanges>();
                          put_changes(root.initChanges(detail::n(changes.size())), changes);
                        });
}

Result<std::vector<FieldChange>> decode_field_changes(std::string_view bytes) {
  return detail::decode<wire::FieldChanges>(bytes, "field changes", kFieldChangesMagic, kPartitionFormatVersion,
                                            [](wire::FieldChanges::Reader r) { return get_changes(r.getChanges()); });
}

Result<std::string> encode_effect_report(const EffectReport& report) {
  return detail::encode(
      "effect report", kEffectsMagic, kPartitionFormatVersion, [&](capnp::MallocMessageBuilder& m) {
        auto root = m.initRoot<wire::EffectReport>();
        if (!report.triggers.empty()) {
          put_triggers(root.initTriggers(detail::n(report.triggers.size())), report.triggers);
        }
        if (!report.acked.empty()) {
          auto acked = root.initAcked(detail::n(report.acked.size()));
          for (std::size_t i = 0; i < report.acked.size(); ++i) {
            acked[static_cast<unsigned>(i)].setField(report.acked[i].first);
            acked[static_cast<unsigned>(i)].setVersion(report.acked[i].second);
          }
        }
        if (!report.unkeyed.empty()) {
          auto unkeyed = root.initUnkeyed(detail::n(report.unkeyed.size()));
          for (std::size_t i = 0; i < report.unkeyed.size(); ++i) {
            unkeyed[static_cast<unsigned>(i)].setRecord(report.unkeyed[i].first);
            unkeyed[static_cast<unsigned>(i)].setEffect(report.unkeyed[i].second);
          }
        }
        if (!report.recorded.empty()) {
          put_recorded(root.initRecorded(detail::n(report.recorded.size())), report.recorded);
        }
        if (!report.request_results.empty()) {
          put_results(root.initRequestResults(detail::n(report.request_results.size())), report.request_results);
        }
      });
}

Result<EffectReport> decode_effect_report(std::string_view bytes) {
  return detail::decode<wire::EffectReport>(
      bytes, "effect report", kEffectsMagic, kPartitionFormatVersion,
      [](wire::EffectReport::Reader r) {
        EffectReport report;
        report.triggers = get_triggers(r.getTriggers());
        for (const auto k : r.getAcked()) report.acked.emplace_back(k.getField(), k.getVersion());
        for (const auto a : r.getUnkeyed()) report.unkeyed.emplace_back(a.getRecord(), detail::get_text(a.getEffect()));
        report.recorded = get_recorded(r.getRecorded());
        report.request_results = get_results(r.getRequestResults());
        return report;
      });
}

}  // namespace mgraph::codec

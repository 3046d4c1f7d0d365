#include "mgraph/codec/session_codec.hpp"

#include <functional>
#include <utility>

#include "session_wire.hpp"
#include "wire.hpp"

namespace mgraph::codec {
namespace detail {

constexpr std::uint8_t kStatusCodeMax = static_cast<std::uint8_t>(StatusCode::internal);

capnp::Text::Reader text(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }

std::string get_text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

void put_texts(capnp::List<capnp::Text>::Builder b, const std::vector<std::string>& texts) {
  for (std::size_t i = 0; i < texts.size(); ++i) b.set(static_cast<unsigned>(i), text(texts[i]));
}

std::vector<std::string> get_texts(capnp::List<capnp::Text>::Reader r) {
  std::vector<std::string> out;
  out.reserve(r.size());
  for (const auto t : r) out.push_back(get_text(t));
  return out;
}

Status get_status(std::uint8_t code, capnp::Text::Reader message) {
  if (code > kStatusCodeMax) throw DecodeError{"unknown status code " + std::to_string(code)};
  if (code == 0) {
    if (message.size() != 0) throw DecodeError{"an ok status carries a message"};
    return Status::ok();
  }
  return Status(static_cast<StatusCode>(code), get_text(message));
}

namespace {

void put_values(capnp::List<wire::FieldValue>::Builder b, const session::FieldValues& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    b[static_cast<unsigned>(i)].setName(text(values[i].first));
    put_value(b[static_cast<unsigned>(i)].initValue(), values[i].second);
  }
}

}  // namespace

// Empty texts and lists and null values are left unset: they read back the same (a
// struct's defaults), and a message without them is smaller — the input log of a
// persistent session keeps every op.

void put_batch(wire::Batch::Builder b, const session::Batch& batch) {
  auto ops = b.initOps(n(batch.size()));
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const session::Op& op = batch[i];
    auto o = ops[static_cast<unsigned>(i)];
    o.setKind(static_cast<wire::Op::Kind>(op.kind));
    if (!op.refs.empty()) {
      auto refs = o.initRefs(n(op.refs.size()));
      for (std::size_t k = 0; k < op.refs.size(); ++k) {
        auto r = refs[static_cast<unsigned>(k)];
        r.setId(op.refs[k].id);
        if (!op.refs[k].created_by.empty()) {
          auto by = r.initCreatedBy(n(op.refs[k].created_by.size()));
          for (std::size_t j = 0; j < op.refs[k].created_by.size(); ++j)
            by.set(static_cast<unsigned>(j), op.refs[k].created_by[j]);
        }
        if (!op.refs[k].text.empty()) r.setText(text(op.refs[k].text));
      }
    }
    if (!op.entity.empty()) o.setEntity(text(op.entity));
    if (!op.name.empty()) o.setName(text(op.name));
    if (!op.values.empty()) put_values(o.initValues(n(op.values.size())), op.values);
    if (!op.keep.empty()) {
      auto keep = o.initKeep(n(op.keep.size()));
      for (std::size_t k = 0; k < op.keep.size(); ++k) keep.set(static_cast<unsigned>(k), text(op.keep[k]));
    }
    if (!op.value.is_null()) put_value(o.initValue(), op.value);
    if (!op.text.empty()) o.setText(text(op.text));
    o.setErrorCode(static_cast<std::uint8_t>(op.error.code()));
    if (!op.error.message().empty()) o.setErrorMessage(text(op.error.message()));
    if (op.at) {
      o.setHasAt(true);
      o.setAt(*op.at);
    }
  }
}

session::Batch get_batch(wire::Batch::Reader r, std::size_t first) {
  const auto ops = r.getOps();  // read once: each read counts against the traversal limit
  if (ops.size() > session::kBatchOpsMax) {
    throw DecodeError{"a batch of " + std::to_string(ops.size()) + " operations exceeds " +
                      std::to_string(session::kBatchOpsMax)};
  }
  session::Batch batch;
  batch.reserve(ops.size());
  for (const auto o : ops) {
    const auto kind = static_cast<std::size_t>(o.getKind());
    if (kind >= session::kOpKinds) throw DecodeError{"unknown operation kind " + std::to_string(kind)};
    session::Op op;
    op.kind = static_cast<session::OpKind>(kind);
    for (const auto ref : o.getRefs()) {
      session::RecordRef x{ref.getId(), get_list<std::uint32_t>(ref.getCreatedBy()),
                           get_text(ref.getText())};
      for (const std::uint32_t by : x.created_by) {
        if (by >= first + batch.size()) {
          throw DecodeError{"operation " + std::to_string(first + batch.size()) +
                            " names the record of operation " + std::to_string(by) +
                            ", which is not an earlier one"};
        }
      }
      op.refs.push_back(std::move(x));
    }
    op.entity = get_text(o.getEntity());
    op.name = get_text(o.getName());
    for (const auto fv : o.getValues()) op.values.emplace_back(get_text(fv.getName()), get_value(fv.getValue()));
    for (const auto k : o.getKeep()) op.keep.push_back(get_text(k));
    op.value = get_value(o.getValue());
    op.text = get_text(o.getText());
    op.error = get_status(o.getErrorCode(), o.getErrorMessage());
    if (o.getHasAt()) op.at = o.getAt();
    if (op.kind != session::OpKind::invalid && op.refs.size() != session::refs_of(op.kind)) {
      throw DecodeError{"operation " + std::to_string(batch.size()) + " (" +
                        session::op_kind_name(op.kind) + ") names " +
                        std::to_string(op.refs.size()) + " records, not " +
                        std::to_string(session::refs_of(op.kind))};
    }
    batch.push_back(std::move(op));
  }
  return batch;
}

void put_batch_result(wire::BatchResult::Builder b, const session::BatchResult& result) {
  auto rs = b.initResults(n(result.size()));
  for (std::size_t i = 0; i < result.size(); ++i) {
    const session::OpResult& x = result[i];
    auto o = rs[static_cast<unsigned>(i)];
    o.setCode(static_cast<std::uint8_t>(x.status.code()));
    if (!x.status.message().empty()) o.setMessage(text(x.status.message()));
    o.setCreated(x.created);
    if (!x.value.is_null()) put_value(o.initValue(), x.value);
    o.setVersion(x.version);
    o.setRevision(x.revision);
    o.setChanged(x.changed);
    if (!x.text.empty()) o.setText(text(x.text));
    o.setState(static_cast<std::uint8_t>(x.state));
    if (!x.cause.empty()) o.setCause(text(x.cause));
    if (!x.reason.empty()) o.setReason(text(x.reason));
  }
}

session::BatchResult get_batch_result(wire::BatchResult::Reader r) {
  const auto results = r.getResults();  // read once: each read counts against the limit
  if (results.size() > session::kBatchOpsMax) {
    throw DecodeError{"a result of " + std::to_string(results.size()) + " operations exceeds " +
                      std::to_string(session::kBatchOpsMax)};
  }
  session::BatchResult result;
  result.reserve(results.size());
  for (const auto o : results) {
    session::OpResult x;
    x.status = get_status(o.getCode(), o.getMessage());
    x.created = o.getCreated();
    x.value = get_value(o.getValue());
    x.version = o.getVersion();
    x.revision = o.getRevision();
    x.changed = o.getChanged();
    x.text = get_text(o.getText());
    if (o.getState() > static_cast<std::uint8_t>(FieldState::blocked)) {
      throw DecodeError{"a result names field state " + std::to_string(o.getState()) +
                        ", which does not exist"};
    }
    x.state = static_cast<FieldState>(o.getState());
    x.cause = get_text(o.getCause());
    x.reason = get_text(o.getReason());
    result.push_back(std::move(x));
  }
  return result;
}

}  // namespace detail

namespace {
constexpr char kBatchMagic[4] = {'M', 'G', 'O', 'P'};
constexpr char kGroupMagic[4] = {'M', 'G', 'O', 'G'};
constexpr char kCancelMagic[4] = {'M', 'G', 'O', 'X'};
/// Batches in one group at most, when decoding (the sequencer makes far fewer).
constexpr std::size_t kGroupBatchesMax = std::size_t{1} << 16;
constexpr char kResultMagic[4] = {'M', 'G', 'O', 'R'};
constexpr char kAppliedMagic[4] = {'M', 'G', 'O', 'A'};
}  // namespace

Result<std::string> encode_batch(const session::Batch& batch, session::TxnId txn) {
  return detail::encode("operation batch", kBatchMagic, kSessionFormatVersion,
                        [&](capnp::MallocMessageBuilder& m) {
                          auto root = m.initRoot<wire::Batch>();
                          detail::put_batch(root, batch);
                          root.setTxnClient(txn.client);
                          root.setTxnSeq(txn.seq);
                        });
}

Result<session::TxnId> decode_batch_txn(std::string_view bytes) {
  return detail::decode<wire::Batch>(bytes, "operation batch", kBatchMagic, kSessionFormatVersion,
                                     [](wire::Batch::Reader r) {
                                       return session::TxnId{r.getTxnClient(), r.getTxnSeq()};
                                     });
}

Result<session::Batch> decode_batch(std::string_view bytes) {
  return detail::decode<wire::Batch>(bytes, "operation batch", kBatchMagic, kSessionFormatVersion,
                                     [](wire::Batch::Reader r) { return detail::get_batch(r); });
}

Result<std::string> encode_batch_group(const std::vector<std::string_view>& batches) {
  return detail::encode("batch group", kGroupMagic, kSessionFormatVersion,
                        [&](capnp::MallocMessageBuilder& m) {
                          auto list = m.initRoot<wire::BatchGroup>().initBatches(detail::n(batches.size()));
                          for (std::size_t i = 0; i < batches.size(); ++i) {
                            list.set(static_cast<unsigned>(i),
                                     capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(batches[i].data()),
                                                         batches[i].size()));
                          }
                        });
}

Result<std::vector<std::string>> decode_batch_group(std::string_view bytes) {
  return detail::decode<wire::BatchGroup>(
      bytes, "batch group", kGroupMagic, kSessionFormatVersion, [](wire::BatchGroup::Reader r) {
        const auto list = r.getBatches();  // read once: each read counts against the limit
        if (list.size() > kGroupBatchesMax) {
          throw detail::DecodeError{"a group of " + std::to_string(list.size()) + " batches exceeds " +
                                    std::to_string(kGroupBatchesMax)};
        }
        std::vector<std::string> out;
        out.reserve(list.size());
        for (const auto d : list) out.emplace_back(reinterpret_cast<const char*>(d.begin()), d.size());
        return out;
      });
}

bool is_batch_group(std::string_view bytes) {
  return bytes.size() >= 4 && std::equal(kGroupMagic, kGroupMagic + 4, bytes.begin());
}

Result<std::string> encode_epoch_cancel(const EpochCancel& cancel) {
  return detail::encode("epoch cancel", kCancelMagic, kSessionFormatVersion,
                        [&](capnp::MallocMessageBuilder& m) {
                          auto root = m.initRoot<wire::EpochCancel>();
                          root.setEpoch(cancel.epoch);
                          root.setReason(cancel.reason);
                          auto members = root.initMembers(static_cast<unsigned>(cancel.members.size()));
                          for (unsigned i = 0; i < cancel.members.size(); ++i) members.set(i, cancel.members[i]);
                        });
}

Result<EpochCancel> decode_epoch_cancel(std::string_view bytes) {
  return detail::decode<wire::EpochCancel>(
      bytes, "epoch cancel", kCancelMagic, kSessionFormatVersion, [](wire::EpochCancel::Reader r) {
        EpochCancel c{r.getEpoch(), detail::get_text(r.getReason()), {}};
        for (std::uint32_t m : r.getMembers()) c.members.push_back(m);
        return c;
      });
}

bool is_epoch_cancel(std::string_view bytes) {
  return bytes.size() >= 4 && std::equal(kCancelMagic, kCancelMagic + 4, bytes.begin());
}

Result<std::string> encode_batch_result(const session::BatchResult& result) {
  return detail::encode("batch result", kResultMagic, kSessionFormatVersion,
                        [&](capnp::MallocMessageBuilder& m) {
                          detail::put_batch_result(m.initRoot<wire::BatchResult>(), result);
                        });
}

Result<session::BatchResult> decode_batch_result(std::string_view bytes) {
  return detail::decode<wire::BatchResult>(
      bytes, "batch result", kResultMagic, kSessionFormatVersion,
      [](wire::BatchResult::Reader r) { return detail::get_batch_result(r); });
}

Result<std::string> encode_applied_batch(const session::AppliedBatch& applied) {
  if (applied.results.size() != applied.ops.size() ||
      applied.aliases.size() != applied.ops.size()) {
    return Status(StatusCode::invalid_argument,
                  "applied batch: " + std::to_string(applied.ops.size()) + " operations, " +
                      std::to_string(applied.results.size()) + " results, " +
                      std::to_string(applied.aliases.size()) + " aliases");
  }
  // Packed: most words of an op and its result are zeros (empty texts, null values), and
  // the log keeps every epoch.
  std::string out;
  const std::function<Status(std::string_view)> sink = [&out](std::string_view piece) {
    out.append(piece);
    return Status::ok();
  };
  const Status s = detail::write_packed(
      "applied batch", kAppliedMagic, kSessionFormatVersion, sink,
      [&](capnp::MallocMessageBuilder& m) {
        auto root = m.initRoot<wire::AppliedBatch>();
        detail::put_batch(root.initBatch(), applied.ops);
        detail::put_batch_result(root.initResults(), applied.results);
        auto aliases = root.initAliases(detail::n(applied.aliases.size()));
        for (std::size_t i = 0; i < applied.aliases.size(); ++i)
          aliases.set(static_cast<unsigned>(i), detail::text(applied.aliases[i]));
      });
  if (!s.is_ok()) return s;
  return out;
}

Result<session::AppliedBatch> decode_applied_batch(std::string_view bytes) {
  return detail::decode_packed<wire::AppliedBatch>(
      bytes, "applied batch", kAppliedMagic, kSessionFormatVersion,
      [](wire::AppliedBatch::Reader r) {
        session::AppliedBatch applied;
        applied.ops = detail::get_batch(r.getBatch());
        applied.results = detail::get_batch_result(r.getResults());
        const auto aliases = r.getAliases();  // read once: each read counts against the limit
        if (applied.results.size() != applied.ops.size() || aliases.size() != applied.ops.size()) {
          throw detail::DecodeError{"applied batch: " + std::to_string(applied.ops.size()) +
                                    " operations, " + std::to_string(applied.results.size()) +
                                    " results, " + std::to_string(aliases.size()) + " aliases"};
        }
        applied.aliases.reserve(aliases.size());
        for (const auto a : aliases) applied.aliases.push_back(detail::get_text(a));
        return applied;
      });
}

}  // namespace mgraph::codec

#include "mgraph/codec/epoch_codec.hpp"

#include <utility>

#include "mgraph/codec/wire/epoch.capnp.h"
#include "wire.hpp"

namespace mgraph::codec {
namespace {

using detail::DecodeError;
using detail::n;

constexpr char kEpochMagic[4] = {'M', 'G', 'E', 'P'};

wire::EpochMessage::Kind to_wire(MessageKind k) {
  switch (k) {
    case MessageKind::begin:
      return wire::EpochMessage::Kind::BEGIN;
    case MessageKind::mark:
      return wire::EpochMessage::Kind::MARK;
    case MessageKind::compute:
      return wire::EpochMessage::Kind::COMPUTE;
    case MessageKind::resolve:
      return wire::EpochMessage::Kind::RESOLVE;
    case MessageKind::idle:
      return wire::EpochMessage::Kind::IDLE;
    case MessageKind::commit:
      return wire::EpochMessage::Kind::COMMIT;
    case MessageKind::abort:
      return wire::EpochMessage::Kind::ABORT;
  }
  return wire::EpochMessage::Kind::BEGIN;
}

MessageKind from_wire(wire::EpochMessage::Kind k) {
  switch (k) {
    case wire::EpochMessage::Kind::BEGIN:
      return MessageKind::begin;
    case wire::EpochMessage::Kind::MARK:
      return MessageKind::mark;
    case wire::EpochMessage::Kind::COMPUTE:
      return MessageKind::compute;
    case wire::EpochMessage::Kind::RESOLVE:
      return MessageKind::resolve;
    case wire::EpochMessage::Kind::IDLE:
      return MessageKind::idle;
    case wire::EpochMessage::Kind::COMMIT:
      return MessageKind::commit;
    case wire::EpochMessage::Kind::ABORT:
      return MessageKind::abort;
  }
  throw DecodeError{"unknown message kind " + std::to_string(static_cast<unsigned>(k))};
}

}  // namespace

const char* message_kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::begin:
      return "begin";
    case MessageKind::mark:
      return "mark";
    case MessageKind::compute:
      return "compute";
    case MessageKind::resolve:
      return "resolve";
    case MessageKind::idle:
      return "idle";
    case MessageKind::commit:
      return "commit";
    case MessageKind::abort:
      return "abort";
  }
  return "unknown";
}

Result<std::string> encode_epoch_message(const EpochMessage& m) {
  return detail::encode("epoch message", kEpochMagic, kEpochFormatVersion,
                        [&](capnp::MallocMessageBuilder& builder) {
    auto b = builder.initRoot<wire::EpochMessage>();
    b.setKind(to_wire(m.kind));
    b.setEpoch(m.epoch);
    b.setFrom(m.from);
    b.setTo(m.to);
    auto writes = b.initWrites(n(m.writes.size()));
    for (std::size_t i = 0; i < m.writes.size(); ++i) {
      writes[static_cast<unsigned>(i)].setField(m.writes[i].field);
      detail::put_value(writes[static_cast<unsigned>(i)].initValue(), m.writes[i].value);
    }
    auto fields = b.initFields(n(m.fields.size()));
    for (std::size_t i = 0; i < m.fields.size(); ++i) fields.set(static_cast<unsigned>(i), m.fields[i]);
    auto res = b.initResolutions(n(m.resolutions.size()));
    for (std::size_t i = 0; i < m.resolutions.size(); ++i) {
      auto r = res[static_cast<unsigned>(i)];
      r.setField(m.resolutions[i].field);
      r.setChanged(m.resolutions[i].changed);
      detail::put_value(r.initValue(), m.resolutions[i].value);
    }
    auto credit = b.initCredit(n(m.credit.size()));
    for (std::size_t i = 0; i < m.credit.size(); ++i) credit.set(static_cast<unsigned>(i), m.credit[i]);
    b.setReason(capnp::Text::Reader(m.reason.data(), m.reason.size()));
  });
}

Result<EpochMessage> decode_epoch_message(std::string_view bytes) {
  return detail::decode<wire::EpochMessage>(
      bytes, "epoch message", kEpochMagic, kEpochFormatVersion, [](wire::EpochMessage::Reader r) {
        EpochMessage m;
        m.kind = from_wire(r.getKind());
        m.epoch = r.getEpoch();
        m.from = r.getFrom();
        m.to = r.getTo();
        for (const auto w : r.getWrites())
          m.writes.push_back(FieldWrite{w.getField(), detail::get_value(w.getValue())});
        m.fields = detail::get_list<FieldId>(r.getFields());
        for (const auto x : r.getResolutions()) {
          m.resolutions.push_back(
              FieldResolution{x.getField(), x.getChanged(), detail::get_value(x.getValue())});
        }
        m.credit = detail::get_list<std::uint32_t>(r.getCredit());
        const capnp::Text::Reader reason = r.getReason();
        m.reason.assign(reason.cStr(), reason.size());
        return m;
      });
}

}  // namespace mgraph::codec

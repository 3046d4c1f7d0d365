#include "mgraph/actors/effect_outbox.hpp"

#include <algorithm>
#include <utility>

#include "mgraph/codec/partition_codec.hpp"
#include "mgraph/graph/json.hpp"

namespace mgraph::actors {
namespace {

std::string key_json(session::DeliveryKey key) {
  return json::Object().unum("field", key.field).unum("version", key.version).done();
}

}  // namespace

void EffectOutbox::report(std::uint64_t epoch, std::string_view bytes, session::DeliveryTime now) {
  Result<codec::EffectReport> r = codec::decode_effect_report(bytes);
  if (!r.is_ok()) {
    ++errors_;
    last_error_ = std::string{"epoch "} + std::to_string(epoch) + ": " + r.status().message();
    return;
  }
  for (codec::EffectTrigger& t : r->triggers) {
    Status s = deliveries_.offer({t.node, t.version}, epoch,
                                 session::EffectPayload{t.record, std::move(t.effect), std::move(t.value)},
                                 t.policy, now);
    if (!s.is_ok()) {
      ++errors_;
      last_error_ = std::string{"epoch "} + std::to_string(epoch) + ": " + s.message();
    }
  }
  for (const auto& [field, version] : r->acked) deliveries_.ack({field, version});
}

std::vector<std::string> EffectOutbox::poll(const std::vector<std::string>& effects,
                                            std::uint32_t max, session::DeliveryTime now) {
  const std::set<std::string> wanted(effects.begin(), effects.end());
  std::vector<std::string> out;
  const std::size_t limit = std::min(max, kPollDeliveriesMax);
  for (const session::Delivery& d :
       deliveries_.due(now, limit, [&](const session::Delivery& x) {
         return wanted.count(x.payload.effect) != 0;
       })) {
    out.push_back(json::Object()
                      .raw("key", key_json(d.key))
                      .unum("epoch", d.epoch)
                      .unum("record", d.payload.record)
                      .str("effect", d.payload.effect)
                      .raw("value", d.payload.value.to_json())
                      .unum("attempt", d.attempts)
                      .done());
  }
  return out;
}

Result<session::Batch> EffectOutbox::start_ack(session::DeliveryKey key, session::DeliveryTime now) {
  deliveries_.due(now, 0);  // deliveries whose time ran out are dead letters first
  if (acking_.count(key) != 0 || deliveries_.settled(key)) {
    return Status(StatusCode::failed_precondition, session::ack_outcome_name(session::AckOutcome::duplicate));
  }
  const session::Delivery* d = deliveries_.find_pending(key);
  const bool dead = d == nullptr;
  if (d == nullptr) d = deliveries_.find_dead(key);
  if (d == nullptr) {
    return Status(StatusCode::not_found, session::ack_outcome_name(session::AckOutcome::unknown));
  }
  const std::string& effect = d->payload.effect;
  session::Op ack;
  ack.kind = session::OpKind::ack;
  ack.refs.push_back(session::RecordRef{d->payload.record, {}, std::string{"#"} + std::to_string(d->payload.record)});
  ack.name = effect.substr(effect.find('.') + 1);
  ack.text = session::delivery_key_text(key);
  session::Op commit;
  commit.kind = session::OpKind::commit;
  acking_.emplace(key, dead);
  return session::Batch{std::move(ack), std::move(commit)};
}

std::string EffectOutbox::finish_ack(session::DeliveryKey key,
                                     const Result<session::BatchResult>& answer) {
  const auto it = acking_.find(key);
  const bool dead = it != acking_.end() && it->second;
  if (it != acking_.end()) acking_.erase(it);
  if (!answer.is_ok()) return std::string{"failed: "} + answer.status().message();
  for (const session::OpResult& r : *answer) {
    if (!r.status.is_ok()) return std::string{"failed: "} + r.status.message();
  }
  return session::ack_outcome_name(dead ? session::AckOutcome::acked_dead_letter
                                        : session::AckOutcome::acked);
}

std::string EffectOutbox::dead_letter_command(const std::string& command, session::DeliveryKey key,
                                              session::DeliveryTime now) {
  deliveries_.due(now, 0);
  if (command == "list") {
    std::string list = "[";
    for (const session::Delivery& d : deliveries_.dead_letters()) {
      if (list.size() > 1) list += ",";
      list += json::Object()
                  .raw("key", key_json(d.key))
                  .unum("epoch", d.epoch)
                  .unum("record", d.payload.record)
                  .str("effect", d.payload.effect)
                  .raw("value", d.payload.value.to_json())
                  .unum("attempts", d.attempts)
                  .done();
    }
    return json::Object().raw("dead_letters", list + "]").done();
  }
  Status s;
  if (command == "retry") {
    s = deliveries_.retry(key, now);
  } else if (command == "drop") {
    s = deliveries_.drop(key);
  } else {
    s = Status(StatusCode::invalid_argument,
               std::string{"unknown dead letter command '"} + command + "' (list, retry, drop)");
  }
  if (!s.is_ok()) return json::Object().str("error", s.message()).done();
  return json::Object().boolean("ok", true).str("key", session::delivery_key_text(key)).done();
}

}  // namespace mgraph::actors

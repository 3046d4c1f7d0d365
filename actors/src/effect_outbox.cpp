#include "mgraph/actors/effect_outbox.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "mgraph/codec/partition_codec.hpp"
#include "mgraph/graph/json.hpp"

namespace mgraph::actors {
namespace {

std::string key_json(session::DeliveryKey key) {
  return json::Object().unum("field", key.field).unum("version", key.version).done();
}

/// A delivery as a consumer and `dlq list` see it: key, epoch, record, effect, value, what
/// a queue's trigger carries ("values":{...} and "time", null without a clock), and its
/// attempts under the name `attempts_name`.
std::string delivery_json(const session::Delivery& d, const char* attempts_name) {
  json::Object o;
  o.raw("key", key_json(d.key))
      .unum("epoch", d.epoch)
      .unum("record", d.payload.record)
      .str("effect", d.payload.effect)
      .raw("value", d.payload.value.to_json());
  if (d.payload.queue) {
    json::Object values;
    for (const auto& [name, v] : d.payload.values) values.raw(name, v.to_json());
    o.raw("values", values.done()).raw("time", d.payload.time.to_json());
  }
  if (d.policy.mode == schema::DeliveryMode::counted) o.unum("count", d.covered.size() + 1);
  return o.unum(attempts_name, d.attempts).done();
}

}  // namespace

std::vector<session::Delivery> EffectOutbox::due(
    session::DeliveryTime now, std::size_t limit,
    const std::function<bool(const session::Delivery&)>& wanted) {
  // `due` only adds dead letters: the growth is what it made.
  std::vector<session::DeliveryKey> died;
  std::vector<session::Delivery> out = deliveries_.due(now, limit, wanted, &died);
  if (counters_) counters_->dead_lettered.fetch_add(died.size(), std::memory_order_relaxed);
  for (const session::DeliveryKey key : died) {
    const session::Delivery* d = deliveries_.find_dead(key);
    changes_.push_back(session::DeliveryChange{key, session::DeliveryChange::Kind::died, d ? d->attempts : 0, {}});
  }
  return out;
}

void EffectOutbox::restore(session::OwedDeliveries owed, session::DeliveryTime now) {
  deliveries_.restore(std::move(owed), now);
  acking_.clear();
  for (const auto& [key, change] : replayed_changes_) deliveries_.apply(change, now);
  publish();
}

void EffectOutbox::publish() {
  if (!counters_) return;
  counters_->pending.store(deliveries_.pending(), std::memory_order_relaxed);
  counters_->dead_letters.store(deliveries_.dead(), std::memory_order_relaxed);
}

void EffectOutbox::report(std::uint64_t epoch, codec::EffectReport report, session::DeliveryTime now,
                          bool replayed) {
  const bool count = counters_ && !replayed;
  // Offers only add pending deliveries (one already owed or settled changes nothing).
  const std::size_t pending_before = deliveries_.pending();
  for (codec::EffectTrigger& t : report.triggers) {
    const session::DeliveryKey key{t.node, t.version};
    Status s = deliveries_.offer(key, epoch,
                                 session::EffectPayload{t.record, std::move(t.effect), std::move(t.value),
                                                        t.queue, std::move(t.values), std::move(t.time)},
                                 t.policy, now);
    if (!s.is_ok()) {
      ++errors_;
      last_error_ = std::string{"epoch "} + std::to_string(epoch) + ": " + s.message();
      continue;
    }
    // Offered again by a replayed epoch: what happened to it afterwards, as the log says.
    if (replayed) {
      if (const auto c = replayed_changes_.find(key); c != replayed_changes_.end()) deliveries_.apply(c->second, now);
    }
  }
  if (count)
    counters_->offered.fetch_add(deliveries_.pending() - pending_before, std::memory_order_relaxed);
  auto settle = [&](session::DeliveryKey key) {
    const session::AckOutcome a = deliveries_.ack(key);
    if (count && (a == session::AckOutcome::acked || a == session::AckOutcome::acked_dead_letter)) {
      counters_->acked.fetch_add(1, std::memory_order_relaxed);
    }
  };
  for (const auto& [field, version] : report.acked) settle({field, version});
  // A script's ack names no key: the oldest delivery of the effect still owed, whose ack
  // by a consumer (running, or to come) would find nothing left to lower.
  for (const auto& [record, name] : report.unkeyed) {
    if (const std::optional<session::DeliveryKey> key = deliveries_.oldest_of(record, name)) settle(*key);
  }
  publish();
}

Status EffectOutbox::claim(const std::string& group, const std::vector<std::string>& effects,
                           session::DeliveryTime now) {
  auto live = [&](const Claim& c) { return now - c.last < kConsumerGroupLease; };
  std::size_t fresh = 0;
  for (const std::string& e : effects) {
    const auto it = claims_.find(e);
    if (it == claims_.end()) {
      ++fresh;
    } else if (it->second.group != group && live(it->second)) {
      const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.last);
      return Status(StatusCode::failed_precondition,
                    "effect " + e + " is consumed by " +
                        (it->second.group.empty() ? std::string{"the consumers of no group"}
                                                  : "group '" + it->second.group + "'") +
                        " (its last poll " + std::to_string(ago.count()) +
                        " ms ago); a delivery is acknowledged once, so one group consumes an effect "
                        "(it is free " + std::to_string(kConsumerGroupLease.count()) +
                        " ms after that group's last poll)");
    }
  }
  if (claims_.size() + fresh > kClaimedEffectsMax) {
    std::erase_if(claims_, [&](const auto& c) { return !live(c.second); });
    if (claims_.size() + fresh > kClaimedEffectsMax) {
      return Status(StatusCode::out_of_range, "consumer groups hold " + std::to_string(claims_.size()) +
                                                  " effect names already; at most " +
                                                  std::to_string(kClaimedEffectsMax));
    }
  }
  for (const std::string& e : effects) {
    const auto [it, fresh] = claims_.try_emplace(e);
    // A new holder is logged (take_claims); a poll of the holder only renews the lease.
    if (fresh || it->second.group != group) claims_changed_.push_back(codec::EffectClaim{e, group});
    it->second = Claim{group, now};
  }
  return Status::ok();
}

std::vector<codec::EffectClaim> EffectOutbox::live_claims(session::DeliveryTime now) const {
  std::vector<codec::EffectClaim> out;
  for (const auto& [effect, c] : claims_) {
    if (now - c.last < kConsumerGroupLease) out.push_back(codec::EffectClaim{effect, c.group});
  }
  return out;
}

void EffectOutbox::restore_claims(const std::map<std::string, std::string>& held, session::DeliveryTime now) {
  for (const auto& [effect, group] : held) {
    if (claims_.size() >= kClaimedEffectsMax && claims_.count(effect) == 0) break;
    claims_[effect] = Claim{group, now};
  }
}

Result<std::vector<std::string>> EffectOutbox::poll(const std::string& group, const std::vector<std::string>& effects,
                                                    std::uint32_t max, session::DeliveryTime now) {
  if (Status s = claim(group, effects, now); !s.is_ok()) return s;
  const std::set<std::string> wanted(effects.begin(), effects.end());
  std::vector<std::string> out;
  const std::size_t limit = std::min(max, kPollDeliveriesMax);
  for (const session::Delivery& d : due(now, limit, [&](const session::Delivery& x) {
         // An async field's name ("Order.risk") asks for its requests ("Order.risk@request").
         if (acking_.count(x.key) != 0) return false;  // settling now
         const std::string& e = x.payload.effect;
         constexpr std::string_view kRequest = "@request";
         return wanted.count(e) != 0 ||
                (e.ends_with(kRequest) && wanted.count(e.substr(0, e.size() - kRequest.size())) != 0);
       })) {
    if (counters_) {
      counters_->sent.fetch_add(1, std::memory_order_relaxed);
      if (d.attempts > 1) counters_->redelivered.fetch_add(1, std::memory_order_relaxed);
    }
    out.push_back(delivery_json(d, "attempt"));
    changes_.push_back(session::DeliveryChange{d.key, session::DeliveryChange::Kind::attempted, d.attempts, group});
    if (d.policy.mode == schema::DeliveryMode::fire_and_forget) to_settle_.push_back(d.key);
  }
  publish();
  return out;
}

Result<session::Batch> EffectOutbox::start_ack(session::DeliveryKey key, session::DeliveryTime now,
                                               const Value* result) {
  due(now, 0);  // deliveries whose time ran out are dead letters first
  publish();
  if (acking_.count(key) != 0 || deliveries_.settled(key)) {
    return Status(StatusCode::failed_precondition, session::ack_outcome_name(session::AckOutcome::duplicate));
  }
  // A key a counted delivery covers is acknowledged alone: the delivery is found by it.
  const std::optional<session::DeliveryKey> owner = deliveries_.owner_of(key);
  if (owner && acking_.count(*owner) != 0) {
    // The delivery's ack, running, names this key too.
    return Status(StatusCode::failed_precondition, session::ack_outcome_name(session::AckOutcome::duplicate));
  }
  const session::DeliveryKey found = owner.value_or(key);
  const session::Delivery* d = deliveries_.find_pending(found);
  const bool dead = d == nullptr;
  if (d == nullptr) d = deliveries_.find_dead(found);
  if (d == nullptr) {
    return Status(StatusCode::not_found, session::ack_outcome_name(session::AckOutcome::unknown));
  }
  const std::string& effect = d->payload.effect;
  session::Op ack;
  ack.kind = session::OpKind::ack;
  ack.refs.push_back(session::RecordRef{d->payload.record, {}, std::string{"#"} + std::to_string(d->payload.record)});
  ack.name = effect.substr(effect.find('.') + 1);
  ack.text = session::delivery_key_text(key);
  if (result != nullptr) {
    // The request of async field F is the effect F@request; its version names the request.
    constexpr std::string_view kRequest = "@request";
    if (!ack.name.ends_with(kRequest)) {
      return Status(StatusCode::invalid_argument,
                    "failed: " + effect + " is no request of an async field; acknowledge it instead");
    }
    ack.kind = session::OpKind::resolve;
    ack.name.resize(ack.name.size() - kRequest.size());
    ack.value = *result;
    ack.at = key.version;
  }
  session::Op commit;
  commit.kind = session::OpKind::commit;
  session::Batch batch;
  if (!owner && result == nullptr) {
    // A counted delivery: the effect comes down once for each trigger it stands for, each
    // a transaction (two acks of one effect in a transaction lower it once).
    for (const session::DeliveryKey c : d->covered) {
      if (acking_.count(c) != 0) continue;  // acknowledged alone, running
      session::Op one = ack;
      one.text = session::delivery_key_text(c);
      batch.push_back(std::move(one));
      batch.push_back(commit);
    }
  }
  batch.push_back(std::move(ack));
  batch.push_back(std::move(commit));
  acking_.emplace(key, dead);
  return batch;
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
  // A result: whether it was written or superseded (the delivery is settled either way).
  if (!answer->empty() && !answer->front().text.empty()) return answer->front().text;
  return session::ack_outcome_name(dead ? session::AckOutcome::acked_dead_letter
                                        : session::AckOutcome::acked);
}

std::string EffectOutbox::dead_letter_command(const std::string& command, session::DeliveryKey key,
                                              session::DeliveryTime now) {
  if (command == "consumers") {
    // The effects the groups polled: which holds each, and how long ago it polled.
    std::string list = "[";
    for (const auto& [effect, claim] : claims_) {
      if (list.size() > 1) list += ",";
      const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(now - claim.last);
      list += json::Object()
                  .str("effect", effect)
                  .str("group", claim.group)
                  .num("last_poll_ms", static_cast<std::int64_t>(ago.count()))
                  .boolean("holds", ago < kConsumerGroupLease)
                  .done();
    }
    return json::Object().raw("consumer_groups", list + "]").done();
  }
  due(now, 0);
  publish();
  if (command == "list") {
    std::string list = "[";
    for (const session::Delivery& d : deliveries_.dead_letters()) {
      if (list.size() > 1) list += ",";
      list += delivery_json(d, "attempts");
    }
    return json::Object().raw("dead_letters", list + "]").done();
  }
  Status s;
  if (command == "retry") {
    s = deliveries_.retry(key, now);
    if (s.is_ok()) changes_.push_back(session::DeliveryChange{key, session::DeliveryChange::Kind::retried, 0, {}});
  } else if (command == "drop") {
    s = deliveries_.drop(key);
    if (s.is_ok()) changes_.push_back(session::DeliveryChange{key, session::DeliveryChange::Kind::dropped, 0, {}});
  } else {
    s = Status(StatusCode::invalid_argument,
               std::string{"unknown dead letter command '"} + command + "' (list, retry, drop)");
  }
  publish();
  if (!s.is_ok()) return json::Object().str("error", s.message()).done();
  return json::Object().boolean("ok", true).str("key", session::delivery_key_text(key)).done();
}

}  // namespace mgraph::actors

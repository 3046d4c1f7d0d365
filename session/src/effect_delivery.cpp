#include "mgraph/session/effect_delivery.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace mgraph::session {

std::string delivery_key_text(DeliveryKey key) {
  return std::to_string(key.field) + ":" + std::to_string(key.version);
}

Result<DeliveryKey> parse_delivery_key(std::string_view text) {
  const auto bad = [&] {
    return Status(StatusCode::invalid_argument,
                  std::string{"'"} + std::string(text) + "' is no delivery key (FIELD:VERSION, e.g. 12:3)");
  };
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return bad();
  DeliveryKey key;
  auto number = [](std::string_view s, std::uint64_t* out) {
    if (s.empty()) return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && end == s.data() + s.size();
  };
  if (!number(text.substr(0, colon), &key.field) || !number(text.substr(colon + 1), &key.version)) {
    return bad();
  }
  return key;
}

const char* ack_outcome_name(AckOutcome outcome) {
  static constexpr const char* kNames[] = {"acked", "acked_dead_letter", "duplicate", "unknown"};
  return kNames[static_cast<std::size_t>(outcome)];
}

Status EffectDeliveries::offer(DeliveryKey key, std::uint64_t epoch, EffectPayload payload,
                               RetryPolicy policy, DeliveryTime now) {
  if (pending_.count(key) != 0 || dead_.count(key) != 0 || covered_by_.count(key) != 0 || settled(key)) {
    return Status::ok();
  }
  if (Status s = policy.check(); !s.is_ok()) {
    return Status(StatusCode::invalid_argument, std::string{"delivery "} + delivery_key_text(key) + " of " +
                                                    payload.effect + ": " + s.message());
  }
  if (pending_.size() + dead_.size() + covered_by_.size() >= kDeliveriesMax) {
    return Status(StatusCode::out_of_range,
                  std::string{"delivery "} + delivery_key_text(key) + " of " + payload.effect + " refused: " +
                      std::to_string(kDeliveriesMax) +
                      " deliveries are owed already (acknowledge or drop some)");
  }
  Delivery d;
  d.key = key;
  d.epoch = epoch;
  d.payload = std::move(payload);
  d.policy = policy;
  d.next_due = now;
  if (policy.mode == schema::DeliveryMode::counted) {
    // Joins the field's newest pending delivery when it has not been sent (since it was
    // offered or retried), taking its place in the schedule: a function of the deliveries owed, so
    // a restore from a checkpoint decides as the run before it would have.
    auto p = pending_.upper_bound(DeliveryKey{key.field, UINT64_MAX});
    if (p != pending_.begin()) --p;
    if (p != pending_.end() && p->first.field == key.field && p->first < key && p->second.attempts == 0 &&
        p->second.policy.mode == schema::DeliveryMode::counted) {
      if (p->second.covered.size() + 1 < kCountedTriggersMax) {
        Delivery& joined = p->second;
        d.covered = std::move(joined.covered);
        d.covered.push_back(joined.key);
        d.next_due = joined.next_due;
        schedule_.erase({joined.next_due, joined.key});
        pending_.erase(p);
      }
    }
  }
  schedule_.emplace(d.next_due, key);
  index(d);
  pending_.emplace(key, std::move(d));
  return Status::ok();
}

void EffectDeliveries::index(const Delivery& d) {
  for (const DeliveryKey c : d.covered) covered_by_[c] = d.key;
}

OwedDeliveries EffectDeliveries::owed() const {
  OwedDeliveries out;
  for (const auto& [key, d] : pending_) out.pending.push_back(d);
  for (const auto& [key, d] : dead_) out.dead.push_back(d);
  out.settled.assign(settled_order_.begin(), settled_order_.end());
  return out;
}

void EffectDeliveries::restore(OwedDeliveries owed, DeliveryTime now) {
  pending_.clear();
  dead_.clear();
  schedule_.clear();
  dying_.clear();
  covered_by_.clear();
  settled_.clear();
  settled_order_.clear();
  for (Delivery& d : owed.pending) {
    d.next_due = now;
    schedule_.emplace(now, d.key);
    if (d.attempts >= d.policy.max_attempts) dying_.emplace(now, d.key);
    index(d);
    pending_.emplace(d.key, std::move(d));
  }
  for (Delivery& d : owed.dead) {
    d.next_due = now;
    index(d);
    dead_.emplace(d.key, std::move(d));
  }
  for (const DeliveryKey key : owed.settled) {
    if (settled_.insert(key).second) settled_order_.push_back(key);
  }
}

const char* delivery_change_name(DeliveryChange::Kind kind) {
  switch (kind) {
    case DeliveryChange::Kind::died:
      return "died";
    case DeliveryChange::Kind::retried:
      return "retried";
    case DeliveryChange::Kind::dropped:
      return "dropped";
    case DeliveryChange::Kind::attempted:
      return "attempted";
  }
  return "unknown";
}

std::vector<Delivery> EffectDeliveries::due(DeliveryTime now, std::size_t limit,
                                            const std::function<bool(const Delivery&)>& wanted,
                                            std::vector<DeliveryKey>* died) {
  // Deaths first: the deliveries whose last attempt's delay ran out, whether sent now or not.
  for (auto it = dying_.begin(); it != dying_.end() && it->first <= now; it = dying_.erase(it)) {
    const auto [when, key] = *it;
    auto p = pending_.find(key);
    MG_ASSERT(p != pending_.end());
    schedule_.erase({when, key});
    p->second.next_due = when;
    dead_.emplace(key, std::move(p->second));
    pending_.erase(p);
    if (died != nullptr) died->push_back(key);
  }
  // Then the sends, earliest due first, visiting no more of the schedule than it takes:
  // a poll costs O(limit log n) however many deliveries are owed (unless `wanted` passes
  // over many).
  std::vector<Delivery> out;
  for (auto it = schedule_.begin(); it != schedule_.end() && it->first <= now && out.size() < limit;) {
    const DeliveryKey key = it->second;
    auto p = pending_.find(key);
    MG_ASSERT(p != pending_.end());
    Delivery& d = p->second;
    MG_ASSERT(d.attempts < d.policy.max_attempts);  // else in dying_, and dead by now
    if (wanted && !wanted(d)) {
      ++it;
      continue;
    }
    it = schedule_.erase(it);
    ++d.attempts;
    d.next_due = now + d.policy.delay_after(d.attempts);  // > now: past this loop's range
    schedule_.emplace(d.next_due, key);
    if (d.attempts >= d.policy.max_attempts) dying_.emplace(d.next_due, key);
    out.push_back(d);
  }
  return out;
}

AckOutcome EffectDeliveries::ack(DeliveryKey key) {
  if (auto it = pending_.find(key); it != pending_.end()) {
    schedule_.erase({it->second.next_due, key});
    dying_.erase({it->second.next_due, key});
    settle_covered(it->second);
    pending_.erase(it);
    settle(key);
    return AckOutcome::acked;
  }
  if (auto it = dead_.find(key); it != dead_.end()) {
    settle_covered(it->second);
    dead_.erase(it);
    settle(key);
    return AckOutcome::acked_dead_letter;
  }
  if (auto c = covered_by_.find(key); c != covered_by_.end()) {
    // One trigger of a counted delivery: the delivery stands for the others still.
    auto owner = pending_.find(c->second);
    const bool dead = owner == pending_.end();
    if (dead) {
      owner = dead_.find(c->second);
      MG_ASSERT(owner != dead_.end());
    }
    std::vector<DeliveryKey>& covered = owner->second.covered;
    covered.erase(std::find(covered.begin(), covered.end(), key));
    covered_by_.erase(c);
    settle(key);
    return dead ? AckOutcome::acked_dead_letter : AckOutcome::acked;
  }
  return settled(key) ? AckOutcome::duplicate : AckOutcome::unknown;
}

std::optional<DeliveryKey> EffectDeliveries::owner_of(DeliveryKey key) const {
  const auto c = covered_by_.find(key);
  if (c == covered_by_.end()) return std::nullopt;
  return c->second;
}

void EffectDeliveries::settle_covered(const Delivery& d) {
  for (const DeliveryKey c : d.covered) {
    covered_by_.erase(c);
    settle(c);
  }
}

Status EffectDeliveries::retry(DeliveryKey key, DeliveryTime now) {
  auto it = dead_.find(key);
  if (it == dead_.end()) {
    return Status(StatusCode::not_found, std::string{"no dead letter "} + delivery_key_text(key) +
                                             (pending_.count(key) != 0 ? " (it is still pending)"
                                                                       : ""));
  }
  Delivery d = std::move(it->second);
  dead_.erase(it);
  d.attempts = 0;
  d.next_due = now;
  schedule_.emplace(now, key);
  pending_.emplace(key, std::move(d));
  return Status::ok();
}

Status EffectDeliveries::drop(DeliveryKey key) {
  const auto it = dead_.find(key);
  if (it == dead_.end()) {
    return Status(StatusCode::not_found, std::string{"no dead letter "} + delivery_key_text(key) +
                                             (pending_.count(key) != 0 ? " (it is still pending)"
                                                                       : ""));
  }
  settle_covered(it->second);
  dead_.erase(it);
  settle(key);
  return Status::ok();
}

bool EffectDeliveries::apply(const DeliveryChange& change, DeliveryTime now) {
  const DeliveryKey key = change.key;
  auto p = pending_.find(key);
  switch (change.kind) {
    case DeliveryChange::Kind::died: {
      if (p == pending_.end()) return false;
      schedule_.erase({p->second.next_due, key});
      dying_.erase({p->second.next_due, key});
      p->second.attempts = change.attempts;
      p->second.next_due = now;
      dead_.emplace(key, std::move(p->second));
      pending_.erase(p);
      return true;
    }
    case DeliveryChange::Kind::retried:
      return retry(key, now).is_ok();
    case DeliveryChange::Kind::dropped:
      // Pending as rebuilt: gone and remembered as settled, which is what an ack does.
      if (p != pending_.end()) return ack(key) == AckOutcome::acked;
      return drop(key).is_ok();
    case DeliveryChange::Kind::attempted: {
      if (p == pending_.end()) {
        if (!retry(key, now).is_ok()) return false;  // neither pending nor dead
        p = pending_.find(key);
      }
      Delivery& d = p->second;
      schedule_.erase({d.next_due, key});
      dying_.erase({d.next_due, key});
      d.attempts = change.attempts;
      d.next_due = now;
      schedule_.emplace(now, key);
      if (d.attempts >= d.policy.max_attempts) dying_.emplace(now, key);
      return true;
    }
  }
  return false;
}

std::vector<Delivery> EffectDeliveries::dead_letters() const {
  std::vector<Delivery> out;
  out.reserve(dead_.size());
  for (const auto& [key, d] : dead_) out.push_back(d);
  return out;
}

std::optional<DeliveryTime> EffectDeliveries::next_wakeup() const {
  if (schedule_.empty()) return std::nullopt;
  return schedule_.begin()->first;
}

std::optional<DeliveryKey> EffectDeliveries::oldest_of(RecordId record, std::string_view name) const {
  auto named = [&](const Delivery& d) {
    const std::string& e = d.payload.effect;
    return d.payload.record == record && e.size() > name.size() && e.ends_with(name) &&
           e[e.size() - name.size() - 1] == '.';
  };
  // Keys order by (field, version): the first match of each map is its oldest (or what it
  // covers, older still).
  std::optional<DeliveryKey> oldest;
  for (const auto* owed : {&pending_, &dead_}) {
    for (const auto& [key, d] : *owed) {
      if (!named(d)) continue;
      const DeliveryKey first = d.covered.empty() ? key : d.covered.front();
      if (!oldest || first < *oldest) oldest = first;
      break;
    }
  }
  return oldest;
}

const Delivery* EffectDeliveries::find_pending(DeliveryKey key) const {
  auto it = pending_.find(key);
  return it == pending_.end() ? nullptr : &it->second;
}

const Delivery* EffectDeliveries::find_dead(DeliveryKey key) const {
  auto it = dead_.find(key);
  return it == dead_.end() ? nullptr : &it->second;
}

void EffectDeliveries::settle(DeliveryKey key) {
  if (!settled_.insert(key).second) return;
  settled_order_.push_back(key);
  if (settled_order_.size() > kSettledKeysMax) {
    settled_.erase(settled_order_.front());
    settled_order_.pop_front();
  }
}

}  // namespace mgraph::session

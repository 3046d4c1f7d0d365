#include "effects_command.hpp"

#include <algorithm>
#include <functional>
#include <ostream>

#include <nlohmann/json.hpp>

#include "client_login.hpp"
#include "client_retry.hpp"
#include "command_line.hpp"
#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/graph/schema/literal.hpp"
#include "mgraph/session/effect_delivery.hpp"

namespace mgraph::node {
namespace {

/// Deliveries asked for in one poll, and so acknowledged in one call: the server's bounds
/// (actors::kPollDeliveriesMax, codec::kAckKeysMax) at most. A poll answers with what is due
/// at once, so a large batch costs a lone delivery nothing, and a backlog is taken in few
/// epochs.
constexpr std::uint32_t kPollBatch = 1000;
static_assert(kPollBatch <= codec::kAckKeysMax);

}  // namespace

int run_effects_consume(const EffectsConsumeOptions& o, std::ostream& out, std::ostream& err) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(o.connect, &host, &port)) {
    err << "mgraph effects consume: --connect " << o.connect
        << ": expected HOST:PORT with a port in 1..65535\n";
    return 2;
  }
  if (o.effects.empty()) {
    err << "mgraph effects consume: name at least one effect (Entity.effect)\n";
    return 2;
  }
  if (o.effects.size() > codec::kPollEffectNamesMax) {
    err << "mgraph effects consume: " << o.effects.size() << " effects named; at most "
        << codec::kPollEffectNamesMax << "\n";
    return 2;
  }
  for (const std::string& e : o.effects) {
    const std::size_t dot = e.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == e.size()) {
      err << "mgraph effects consume: '" << e << "' is no effect name (Entity.effect)\n";
      return 2;
    }
  }
  if (Status s = check_token(o.token); !s.is_ok()) {
    err << "mgraph effects consume: " << s.message() << "\n";
    return 2;
  }
  if (Status s = codec::check_consumer_group(o.group); !o.group.empty() && !s.is_ok()) {
    err << "mgraph effects consume: --group: " << s.message() << "\n";
    return 2;
  }
  const std::chrono::milliseconds timeout(o.timeout_ms);
  auto connection = codec::ClientConnection::connect(host, port, timeout, o.token);
  if (!connection.is_ok()) {
    err << "mgraph effects consume: " << o.connect << ": "
        << client_failure(connection.status(), !o.token.empty()) << "\n";
    return 3;
  }
  const std::function<void(std::chrono::milliseconds)> pause = o.pause ? o.pause : sleep_pause;
  // A group's consumer polls and acks through the capability the node gives it.
  std::unique_ptr<codec::ClientConnection::Consumer> member;
  if (!o.group.empty()) member = (*connection)->consumer(o.group, o.effects);
  // After a failure for want of the cluster: connects again (client_retry.hpp) and takes
  // the group's capability again, until connected (true) or retry_ms passed.
  auto reach_again = [&](const Status& failure, const char* what) -> bool {
    if (o.retry_ms <= 0 || !out_of_reach(failure)) return false;
    err << "mgraph effects consume: " << what << ": " << client_failure(failure, !o.token.empty())
        << "; trying again for up to " << o.retry_ms << " ms\n";
    auto again = connect_again(host, port, timeout, o.token, o.retry_ms, pause, nullptr);
    if (!again) return false;
    member.reset();
    *connection = std::move(again);
    if (!o.group.empty()) member = (*connection)->consumer(o.group, o.effects);
    err << "mgraph effects consume: connected again\n";
    return true;
  };
  std::uint64_t printed = 0;
  std::int64_t idle_ms = 0;
  while (o.max == 0 || printed < o.max) {
    const std::uint32_t ask = o.max == 0 ? kPollBatch
                                         : static_cast<std::uint32_t>(std::min<std::uint64_t>(
                                               kPollBatch, o.max - printed));
    Result<std::vector<std::string>> got = member ? member->poll(ask) : (*connection)->poll_effects(o.effects, ask);
    if (!got.is_ok()) {
      if (reach_again(got.status(), "poll")) continue;
      err << "mgraph effects consume: poll: " << client_failure(got.status(), !o.token.empty())
          << "\n";
      return 4;
    }
    if (got->empty()) {
      if (o.wait_ms > 0 && idle_ms >= o.wait_ms) return 0;
      pause(std::chrono::milliseconds(o.poll_ms));
      idle_ms += o.poll_ms;
      continue;
    }
    idle_ms = 0;
    std::vector<std::string> keys;
    for (const std::string& text : *got) {
      // Read back and printed by nlohmann-json: one valid line whatever the server sent.
      const nlohmann::ordered_json d = nlohmann::ordered_json::parse(text, nullptr, false);
      if (d.is_discarded() || !d.contains("key") || !d["key"].contains("field") ||
          !d["key"].contains("version")) {
        err << "mgraph effects consume: the cluster sent no delivery: " << text << "\n";
        return 4;
      }
      out << d.dump() << "\n" << std::flush;
      ++printed;
      keys.push_back(std::to_string(d["key"]["field"].get<std::uint64_t>()) + ":" +
                     std::to_string(d["key"]["version"].get<std::uint64_t>()));
    }
    if (o.manual_ack || keys.empty()) continue;
    // Everything this poll printed, acknowledged in one call (one epoch on the cluster).
    Result<std::vector<std::string>> outcomes = member ? member->ack(keys) : (*connection)->ack_effects(keys);
    if (!outcomes.is_ok()) {
      // The deliveries it printed stay owed, and come again after the timeout.
      if (reach_again(outcomes.status(), "ack")) continue;
      err << "mgraph effects consume: ack: " << client_failure(outcomes.status(), !o.token.empty())
          << "\n";
      return 4;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if ((*outcomes)[i].rfind("failed", 0) == 0) {
        err << "mgraph effects consume: ack of " << keys[i] << ": " << (*outcomes)[i] << "\n";
      }
    }
  }
  return 0;
}

int run_effects_resolve(const EffectsResolveOptions& o, std::ostream& out, std::ostream& err) {
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(o.connect, &host, &port)) {
    err << "mgraph effects resolve: --connect " << o.connect
        << ": expected HOST:PORT with a port in 1..65535\n";
    return 2;
  }
  const Result<session::DeliveryKey> key = session::parse_delivery_key(o.key);
  if (!key.is_ok()) {
    err << "mgraph effects resolve: " << key.status().message() << "\n";
    return 2;
  }
  std::size_t used = 0;
  Result<Value> value = schema::parse_literal_prefix(o.value, &used);
  if (value.is_ok() && o.value.find_first_not_of(" \t", used) != std::string::npos) {
    value = Status(StatusCode::invalid_argument, "unexpected '" + o.value.substr(used) + "' after the value");
  }
  if (!value.is_ok()) {
    err << "mgraph effects resolve: the value '" << o.value << "': " << value.status().message() << "\n";
    return 2;
  }
  if (Status s = check_token(o.token); !s.is_ok()) {
    err << "mgraph effects resolve: " << s.message() << "\n";
    return 2;
  }
  auto connection = codec::ClientConnection::connect(host, port, std::chrono::milliseconds(o.timeout_ms), o.token);
  if (!connection.is_ok()) {
    err << "mgraph effects resolve: " << o.connect << ": "
        << client_failure(connection.status(), !o.token.empty()) << "\n";
    return 3;
  }
  Result<std::string> outcome = (*connection)->resolve_effect(key->field, key->version, *value);
  if (!outcome.is_ok()) {
    err << "mgraph effects resolve: " << client_failure(outcome.status(), !o.token.empty()) << "\n";
    return 4;
  }
  nlohmann::ordered_json line;
  line["key"] = session::delivery_key_text(*key);
  line["outcome"] = *outcome;
  out << line.dump() << "\n" << std::flush;
  const bool settled = *outcome == "written" || *outcome == "superseded" || *outcome == "duplicate";
  return settled ? 0 : 4;
}

}  // namespace mgraph::node

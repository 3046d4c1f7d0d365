#include "client_gateway.hpp"

#include <arpa/inet.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "log.hpp"
#include "mgraph/codec/image_codec.hpp"
#include "mgraph/codec/session_codec.hpp"

namespace mgraph::node {
namespace {

using Done = std::function<void(Result<session::BatchResult>)>;

/// What a client is told while this node does not reach the coordinator's sequencer.
Status not_ready() {
  return Status(StatusCode::failed_precondition,
                std::string(codec::kClusterNotReady) +
                    ": this node does not reach the coordinator's sequencer yet (mgraphctl status shows the "
                    "peers); try again");
}

using TextsDone = std::function<void(codec::ClientHandler::Texts)>;
using Kind = RelayOutcome::Kind;

/// A relayed request's error as a Status: an actor's refusal (caf::sec::invalid_argument
/// carrying its reason) as that reason with `code`, or as failed_precondition when the
/// reason says the cluster is not ready (codec::kClusterNotReady: the client may try
/// again); any other error as the cluster not answering (io_error).
Status error_of(const RelayOutcome& o, StatusCode code) {
  const caf::error& e = o.error;
  const caf::message& context = e.context();
  if (e.category() == caf::atom("system") && e.code() == static_cast<std::uint8_t>(caf::sec::invalid_argument) &&
      context.size() == 1 && context.match_element<std::string>(0)) {
    const std::string& reason = context.get_as<std::string>(0);
    if (reason.rfind(codec::kClusterNotReady, 0) == 0) return Status(StatusCode::failed_precondition, reason);
    return Status(code, reason);
  }
  return Status(StatusCode::io_error, "the cluster did not answer: " + o.reason);
}

/// What a client is told when `what` (an actor of the coordinator) stopped before answering.
Status stopped(const std::string& what, const RelayOutcome& o) {
  return Status(StatusCode::io_error, "unavailable: the coordinator's " + what + " stopped (" + o.reason + ")");
}

using Failure = std::function<Status(const RelayOutcome&)>;

/// A refusal as its reason with `code` (error_of).
Failure refused_as(StatusCode code) {
  return [code](const RelayOutcome& o) { return error_of(o, code); };
}
/// A stop of `what` before it answered (stopped).
Failure stop_of(std::string what) {
  return [what = std::move(what)](const RelayOutcome& o) { return stopped(what, o); };
}

/// The callback of a relayed request for a caller that takes one result (`done`): the
/// answer's elements made into it by `answered`, a failure by `failed`, a stop of the
/// target before it answered by `stop`.
template <typename Done, typename Answered>
RelayDone relayed(Done done, Answered answered, Failure failed, Failure stop) {
  return [done = std::move(done), answered = std::move(answered), failed = std::move(failed),
          stop = std::move(stop)](RelayOutcome o) {
    switch (o.kind) {
      case Kind::answered:
        done(answered(o.answer));
        return;
      case Kind::failed:
        done(failed(o));
        return;
      case Kind::stopped:
        done(stop(o));
        return;
    }
  };
}

/// A batch's answer: the sequencer's BatchResult bytes.
RelayDone batch_answer(Done done) {
  return relayed(
      std::move(done), [](const caf::message& m) { return codec::decode_batch_result(m.get_as<std::string>(0)); },
      [](const RelayOutcome& o) {
        return Status(StatusCode::io_error, "the cluster did not run the batch: " + o.reason);
      },
      [](const RelayOutcome& o) {
        return Status(StatusCode::io_error, "unavailable: the coordinator's sequencer stopped before answering (" +
                                                o.reason + "); the batch may have run: read before sending it again");
      });
}

/// An effect request's answer: the deliveries, or an ack's outcome as one text. A refusal
/// (another consumer group's effect) is the caller's to fix.
RelayDone effects_answer(TextsDone done) {
  return relayed(
      std::move(done),
      [](const caf::message& m) {
        return codec::ClientHandler::Texts(m.match_element<std::string>(0)
                                               ? std::vector<std::string>{m.get_as<std::string>(0)}
                                               : m.get_as<std::vector<std::string>>(0));
      },
      refused_as(StatusCode::failed_precondition), stop_of("sequencer"));
}

/// A history or audit's answer (ClientHandler::ledger): the records read, or
/// `{"error":...,"code":N}`.
RelayDone ledger_answer(TextsDone done) {
  return relayed(
      std::move(done),
      [](const caf::message& m) -> codec::ClientHandler::Texts {
        const std::string& answer = m.get_as<std::string>(0);
        const nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
        if (j.is_object() && j.contains("error") && j["error"].is_string()) {
          const auto code = j.value("code", static_cast<unsigned>(StatusCode::internal));
          return Status(code <= static_cast<unsigned>(StatusCode::permission_denied) ? static_cast<StatusCode>(code)
                                                                                     : StatusCode::internal,
                        j["error"].get<std::string>());
        }
        return std::vector<std::string>{answer};
      },
      refused_as(StatusCode::failed_precondition), stop_of("sequencer"));
}

using PollDone = std::function<void(Result<codec::WatchAnswer>)>;
using ValuesDone = std::function<void(Result<codec::WatchValues>)>;
using WatchRoute = ClientGateway::WatchRoute;

/// A subscription poll's answer, from the watch actor (actors/watch.hpp), whose own
/// refusals (a name that is no target) carry their reason.
RelayDone poll_answer(PollDone done) {
  return relayed(
      std::move(done),
      [](const caf::message& m) {
        return Result<codec::WatchAnswer>(codec::WatchAnswer{m.get_as<std::vector<std::string>>(2),
                                                             m.get_as<std::uint64_t>(1), m.get_as<bool>(0),
                                                             m.get_as<std::uint64_t>(3)});
      },
      refused_as(StatusCode::invalid_argument), stop_of("watch actor"));
}

/// The answer to a subscription's read of current values, from the sequencer's driver.
RelayDone values_answer(ValuesDone done) {
  return relayed(
      std::move(done),
      [](const caf::message& m) -> Result<codec::WatchValues> {
        Result<session::BatchResult> results = codec::decode_batch_result(m.get_as<std::string>(1));
        if (!results.is_ok()) return results.status();
        return codec::WatchValues{std::move(results).value(), m.get_as<std::uint64_t>(0), m.get_as<std::string>(2),
                                  m.get_as<std::uint64_t>(3)};
      },
      refused_as(StatusCode::invalid_argument), stop_of("sequencer"));
}

/// The sequencer's answer to where its watch actor is: noted in `route`, then `poll` is
/// sent there.
RelayDone route_answer(std::shared_ptr<RequestRelay> relay, caf::actor sequencer, std::shared_ptr<WatchRoute> route,
                       caf::message poll, PollDone done) {
  return [relay = std::move(relay), sequencer = std::move(sequencer), route = std::move(route),
          poll = std::move(poll), done = std::move(done)](RelayOutcome o) mutable {
    if (o.kind == Kind::failed) {
      done(Status(StatusCode::io_error, "the cluster did not answer: " + o.reason));
      return;
    }
    if (o.kind == Kind::stopped) {
      done(stopped("sequencer", o));
      return;
    }
    caf::actor watch = o.answer.get_as<caf::actor>(0);
    if (!watch) {
      done(Status(StatusCode::failed_precondition, "this cluster serves no subscriptions"));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(route->mutex);
      route->sequencer = sequencer;
      route->watch = watch;
    }
    relay->request(std::move(watch), std::move(poll), RelayAnswer::watch_poll, poll_answer(std::move(done)));
  };
}
}  // namespace

ClientRequestKind client_request_kind(const session::Batch& batch) {
  return actors::changes_documents(batch) ? ClientRequestKind::write : ClientRequestKind::read;
}

ClientRequestOutcome client_request_outcome(const Result<session::BatchResult>& answer) {
  if (!answer.is_ok()) return ClientRequestOutcome::error;
  for (const session::OpResult& r : *answer) {
    if (!r.status.is_ok()) return ClientRequestOutcome::failed;
  }
  return ClientRequestOutcome::ok;
}

void ClientGateway::transact(session::Batch batch, session::TxnId txn,
                             std::function<void(Result<session::BatchResult>)> done) {
  if (!state_.begin_transaction()) {
    done(Status(StatusCode::io_error,
                "unavailable: node draining (mgraphctl drain): it takes no new transactions; "
                "send them to another node"));
    return;
  }
  // Counted in flight until its answer went out, whatever way it goes. The state, not
  // the gateway: the state outlives the actor system that may answer last.
  done = [state = &state_, inner = std::move(done)](Result<session::BatchResult> r) {
    inner(std::move(r));
    state->end_transaction();
  };
  const ClientRequestKind kind = client_request_kind(batch);
  const auto start = now_();
  auto observe = [this, kind, start](ClientRequestOutcome outcome) {
    if (observe_) observe_(kind, outcome, std::chrono::duration<double>(now_() - start).count());
  };
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    observe(ClientRequestOutcome::not_ready);
    done(not_ready());
    return;
  }
  // The id travels in the batch's bytes: the sequencer logs it with the batch.
  Result<std::string> bytes = codec::encode_batch(batch, txn);
  if (!bytes.is_ok()) {
    observe(ClientRequestOutcome::error);
    done(bytes.status());
    return;
  }
  state_.count_batch();
  if (observe_) {
    // The answer may come after the gateway is gone: the wrapper holds copies, not `this`.
    done = [done = std::move(done), observe = observe_, now = now_, kind,
            start](Result<session::BatchResult> answer) {
      observe(kind, client_request_outcome(answer),
              std::chrono::duration<double>(now() - start).count());
      done(std::move(answer));
    };
  }
  if (log::enabled(log::Level::debug)) log::debug("client_batch", {{"ops", batch.size()}});
  relay_->request(sequencer, caf::make_message(actors::transact_atom::value, std::move(bytes).value()),
                  RelayAnswer::text, batch_answer(std::move(done)));
}

codec::SchemaInfo ClientGateway::schema() {
  const auto start = now_();
  codec::SchemaInfo info{schema_.name, schema_.source, schema_.fingerprint};
  if (observe_) {
    observe_(ClientRequestKind::schema, ClientRequestOutcome::ok,
             std::chrono::duration<double>(now_() - start).count());
  }
  return info;
}

bool is_loopback(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  const std::string text(host);
  return ::inet_pton(AF_INET, text.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

Result<codec::ClientAccess> client_access(const ClientsConfig& clients, const std::string& node,
                                          const std::string& host) {
  codec::ClientAccess access;
  access.anonymous = std::nullopt;
  if (clients.allow_anonymous || (clients.tokens.empty() && is_loopback(host))) {
    access.anonymous = clients.anonymous_role;
  }
  if (!clients.tokens.empty()) {
    auto table = std::make_shared<const TokenTable>(clients.tokens);
    access.login = [table](std::string_view token) { return table->check(token); };
    return access;
  }
  if (!access.anonymous) {
    return Status(StatusCode::failed_precondition,
                  "node " + node + " would serve clients on " + host +
                      ", beyond this machine, to anyone: add [[clients.token]] entries (mgraph "
                      "token new) or set [clients] allow_anonymous = true");
  }
  return access;
}

std::string describe(const codec::ClientAccess& access, std::size_t tokens) {
  std::string anonymous;
  if (access.anonymous) anonymous = std::string("act as ") + session::role_name(*access.anonymous);
  if (tokens == 0) return "clients " + anonymous;
  std::string text = "clients need a token (" + std::to_string(tokens) + " configured)";
  if (access.anonymous) text += " or " + anonymous + " without one";
  return text;
}

void ClientGateway::poll_effects(std::string group, std::vector<std::string> effects, std::uint32_t max,
                                 std::function<void(Texts)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  relay_->request(sequencer,
                  caf::make_message(actors::effects_poll_atom::value, std::move(group), std::move(effects), max),
                  RelayAnswer::texts, effects_answer(std::move(done)));
}

void ClientGateway::ack_effect(std::uint64_t field, std::uint64_t version,
                               std::function<void(Texts)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  relay_->request(sequencer, caf::make_message(actors::effects_ack_atom::value, field, version),
                  RelayAnswer::text, effects_answer(std::move(done)));
}

void ClientGateway::ack_effects(std::vector<std::string> keys, std::function<void(Texts)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  relay_->request(sequencer, caf::make_message(actors::effects_ack_atom::value, std::move(keys)),
                  RelayAnswer::texts, effects_answer(std::move(done)));
}

void ClientGateway::ledger(std::uint64_t record, std::string field, std::string command, std::string ref,
                           std::optional<std::uint64_t> at, std::function<void(Texts)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  relay_->request(sequencer,
                  caf::make_message(actors::ledger_atom::value, record, std::move(field), std::move(command),
                                    std::move(ref), at.has_value(), at.value_or(0)),
                  RelayAnswer::text, ledger_answer(std::move(done)));
}

void ClientGateway::resolve_effect(std::uint64_t field, std::uint64_t version, Value value,
                                   std::function<void(Texts)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  Result<std::string> bytes = codec::encode_value(value);
  if (!bytes.is_ok()) {
    done(bytes.status());
    return;
  }
  relay_->request(sequencer,
                  caf::make_message(actors::effects_resolve_atom::value, field, version, std::move(bytes).value()),
                  RelayAnswer::text, effects_answer(std::move(done)));
}

}  // namespace mgraph::node

namespace mgraph::node {

void ClientGateway::watch(std::vector<std::string> targets, std::uint64_t from, std::uint32_t max,
                          std::uint32_t wait_ms, std::function<void(Result<codec::WatchAnswer>)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  caf::message poll = caf::make_message(actors::watch_atom::value, std::move(targets), from, max, wait_ms);
  caf::actor watch;
  {
    std::lock_guard<std::mutex> lock(route_->mutex);
    if (route_->sequencer == sequencer) watch = route_->watch;
  }
  if (watch) {
    relay_->request(std::move(watch), std::move(poll), RelayAnswer::watch_poll, poll_answer(std::move(done)));
  } else {
    relay_->request(sequencer, caf::make_message(actors::watch_atom::value), RelayAnswer::actor,
                    route_answer(relay_, sequencer, route_, std::move(poll), std::move(done)));
  }
}

void ClientGateway::watch_values(session::Batch gets, std::vector<std::string> entities,
                                 std::function<void(Result<codec::WatchValues>)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  Result<std::string> bytes = codec::encode_batch(gets, session::TxnId{});
  if (!bytes.is_ok()) {
    done(bytes.status());
    return;
  }
  relay_->request(sequencer,
                  caf::make_message(actors::watch_read_atom::value, std::move(bytes).value(), std::move(entities)),
                  RelayAnswer::watch_values, values_answer(std::move(done)));
}

}  // namespace mgraph::node

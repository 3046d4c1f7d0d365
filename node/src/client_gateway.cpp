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
                "the cluster is not ready: this node does not reach the coordinator's sequencer "
                "yet (mgraphctl status shows the peers); try again");
}

/// A short-lived actor: sends one batch to the sequencer and hands the answer to `done`.
/// Its state comes as spawn arguments: CAF 0.17 dereferences a null argument tuple for a
/// function actor spawned without any (UBSan reports it).
/// The sequencer is monitored: one that stops before it answers (the coordinator lost, or
/// a node registering again starts a new one) delivers nothing in CAF 0.17, and the client
/// must hear at once, not after kBatchTimeout.
void batch_request(caf::event_based_actor* self, caf::actor sequencer, std::string bytes,
                   Done done) {
  auto answered = std::make_shared<bool>(false);
  auto answer = [answered, done](Result<session::BatchResult> r) {
    if (*answered) return;
    *answered = true;
    done(std::move(r));
  };
  self->monitor(sequencer);
  self->set_down_handler([self, answer](const caf::down_msg& down) {
    answer(Status(StatusCode::io_error,
                  "unavailable: the coordinator's sequencer stopped before answering (" +
                      self->system().render(down.reason) +
                      "); the batch may have run: read before sending it again"));
    self->quit();
  });
  self->request(sequencer, kBatchTimeout, actors::transact_atom::value, bytes)
      .then(
          [self, answer](const std::string& a) {
            answer(codec::decode_batch_result(a));
            self->quit();
          },
          [self, answer](caf::error& e) {
            answer(Status(StatusCode::io_error,
                          "the cluster did not run the batch: " + self->system().render(e)));
            self->quit();
          });
}

using TextsDone = std::function<void(codec::ClientHandler::Texts)>;

std::vector<std::string> texts(std::vector<std::string> deliveries) { return deliveries; }
std::vector<std::string> texts(std::string outcome) { return {std::move(outcome)}; }

/// An actor's refusal (caf::sec::invalid_argument carrying its reason) as that reason with
/// `code`; any other error as the cluster not answering (io_error).
Status error_of(caf::actor_system& sys, const caf::error& e, StatusCode code) {
  const caf::message& context = e.context();
  if (e.category() == caf::atom("system") && e.code() == static_cast<std::uint8_t>(caf::sec::invalid_argument) &&
      context.size() == 1 && context.match_element<std::string>(0)) {
    return Status(code, context.get_as<std::string>(0));
  }
  return Status(StatusCode::io_error, "the cluster did not answer: " + sys.render(e));
}

/// A short-lived actor: sends one effect request (`message`) to the sequencer and hands the
/// answer — the deliveries, or an ack's outcome as one text — to `done`. As batch_request,
/// with the sequencer monitored.
template <typename T>
void effects_request(caf::event_based_actor* self, caf::actor sequencer, caf::message message,
                     TextsDone done) {
  auto answered = std::make_shared<bool>(false);
  auto answer = [answered, done](codec::ClientHandler::Texts r) {
    if (*answered) return;
    *answered = true;
    done(std::move(r));
  };
  self->monitor(sequencer);
  self->set_down_handler([self, answer](const caf::down_msg& down) {
    answer(Status(StatusCode::io_error, "unavailable: the coordinator's sequencer stopped (" +
                                            self->system().render(down.reason) + ")"));
    self->quit();
  });
  self->request(sequencer, kBatchTimeout, std::move(message))
      .then(
          [self, answer](const T& x) {
            answer(texts(x));
            self->quit();
          },
          [self, answer](caf::error& e) {
            // A refusal (another consumer group's effect) is the caller's to fix.
            answer(error_of(self->system(), e, StatusCode::failed_precondition));
            self->quit();
          });
}

/// A history or audit (ClientHandler::ledger), asked of the sequencer: the records read, or
/// `{"error":...,"code":N}`.
void ledger_request(caf::event_based_actor* self, caf::actor sequencer, caf::message message, TextsDone done) {
  self->request(sequencer, kBatchTimeout, std::move(message))
      .then(
          [self, done](const std::string& answer) {
            const nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
            if (j.is_object() && j.contains("error") && j["error"].is_string()) {
              const auto code = j.value("code", static_cast<unsigned>(StatusCode::internal));
              done(Status(code <= static_cast<unsigned>(StatusCode::permission_denied) ? static_cast<StatusCode>(code)
                                                                                        : StatusCode::internal,
                          j["error"].get<std::string>()));
            } else {
              done(texts(answer));
            }
            self->quit();
          },
          [self, done](caf::error& e) {
            done(error_of(self->system(), e, StatusCode::failed_precondition));
            self->quit();
          });
}

Result<codec::WatchAnswer> watch_answer(bool resume, std::uint64_t through, std::vector<std::string> epochs) {
  return codec::WatchAnswer{std::move(epochs), through, resume};
}

Result<codec::WatchValues> watch_answer(std::uint64_t epoch, const std::string& bytes, std::string records) {
  Result<session::BatchResult> results = codec::decode_batch_result(bytes);
  if (!results.is_ok()) return results.status();
  return codec::WatchValues{std::move(results).value(), epoch, std::move(records)};
}

/// A short-lived actor: sends one subscription request (`message`) to `to` (the watch actor,
/// or the sequencer, which passes a read on to the driver) and hands the answer to `done`.
/// As batch_request, with `to` monitored.
template <typename A, typename... Ts>
void watch_request(caf::event_based_actor* self, caf::actor to, std::string what, caf::message message,
                   std::function<void(Result<A>)> done) {
  auto answered = std::make_shared<bool>(false);
  auto answer = [answered, done](Result<A> r) {
    if (*answered) return;
    *answered = true;
    done(std::move(r));
  };
  self->monitor(to);
  self->set_down_handler([self, answer, what](const caf::down_msg& down) {
    answer(Status(StatusCode::io_error, "unavailable: the coordinator's " + what + " stopped (" +
                                            self->system().render(down.reason) + ")"));
    self->quit();
  });
  self->request(to, kBatchTimeout, std::move(message))
      .then(
          [self, answer](Ts... xs) {
            answer(watch_answer(std::move(xs)...));
            self->quit();
          },
          [self, answer](caf::error& e) {
            // The watch actor's own refusals (a name that is no target) carry their reason.
            answer(error_of(self->system(), e, StatusCode::invalid_argument));
            self->quit();
          });
}

using PollDone = std::function<void(Result<codec::WatchAnswer>)>;
using WatchRoute = ClientGateway::WatchRoute;

/// A subscription's poll, sent to the watch actor (actors/watch.hpp) directly.
void watch_poll(caf::event_based_actor* self, caf::actor watch, caf::message message, PollDone done) {
  watch_request<codec::WatchAnswer, bool, std::uint64_t, std::vector<std::string>>(self, std::move(watch), "watch actor",
                                                                                 std::move(message), std::move(done));
}

/// Asks the sequencer where its watch actor is, notes it in `route`, then polls it.
void watch_route(caf::event_based_actor* self, caf::actor sequencer, std::shared_ptr<WatchRoute> route,
                 caf::message message, PollDone done) {
  self->monitor(sequencer);
  self->set_down_handler([self, done](const caf::down_msg& down) {
    done(Status(StatusCode::io_error, "unavailable: the coordinator's sequencer stopped (" +
                                          self->system().render(down.reason) + ")"));
    self->quit();
  });
  self->request(sequencer, kBatchTimeout, actors::watch_atom::value)
      .then(
          [self, sequencer, route, message, done](const caf::actor& watch) {
            if (!watch) {
              done(Status(StatusCode::failed_precondition, "this cluster serves no subscriptions"));
            } else {
              {
                std::lock_guard<std::mutex> lock(route->mutex);
                route->sequencer = sequencer;
                route->watch = watch;
              }
              self->system().spawn(watch_poll, watch, message, done);
            }
            self->quit();
          },
          [self, done](caf::error& e) {
            done(Status(StatusCode::io_error, "the cluster did not answer: " + self->system().render(e)));
            self->quit();
          });
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
  sys_.spawn(batch_request, sequencer, std::move(bytes).value(), std::move(done));
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
  sys_.spawn(effects_request<std::vector<std::string>>, sequencer,
             caf::make_message(actors::effects_poll_atom::value, std::move(group), std::move(effects), max),
             std::move(done));
}

void ClientGateway::ack_effect(std::uint64_t field, std::uint64_t version,
                               std::function<void(Texts)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  sys_.spawn(effects_request<std::string>, sequencer,
             caf::make_message(actors::effects_ack_atom::value, field, version), std::move(done));
}

void ClientGateway::ack_effects(std::vector<std::string> keys, std::function<void(Texts)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  sys_.spawn(effects_request<std::vector<std::string>>, sequencer,
             caf::make_message(actors::effects_ack_atom::value, std::move(keys)), std::move(done));
}

void ClientGateway::ledger(std::uint64_t record, std::string field, std::string command, std::string ref,
                           std::optional<std::uint64_t> at, std::function<void(Texts)> done) {
  const caf::actor sequencer = state_.sequencer();
  if (!sequencer) {
    done(not_ready());
    return;
  }
  sys_.spawn(ledger_request, sequencer,
             caf::make_message(actors::ledger_atom::value, record, std::move(field), std::move(command),
                               std::move(ref), at.has_value(), at.value_or(0)),
             std::move(done));
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
  sys_.spawn(effects_request<std::string>, sequencer,
             caf::make_message(actors::effects_resolve_atom::value, field, version, std::move(bytes).value()),
             std::move(done));
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
    sys_.spawn(watch_poll, std::move(watch), std::move(poll), std::move(done));
  } else {
    sys_.spawn(watch_route, sequencer, route_, std::move(poll), std::move(done));
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
  sys_.spawn(watch_request<codec::WatchValues, std::uint64_t, std::string, std::string>, sequencer,
             std::string("sequencer"),
             caf::make_message(actors::watch_read_atom::value, std::move(bytes).value(), std::move(entities)),
             std::move(done));
}

}  // namespace mgraph::node

#include "request_relay.hpp"

#include <caf/io/all.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace mgraph::node {
namespace {

/// gateway -> its relay (in this process only): (relay_atom, to, message, answer, token).
using relay_atom = caf::atom_constant<caf::atom("mg_relay")>;

struct RelayState {
  /// The target of each request sent and not answered yet.
  std::unordered_map<std::uint64_t, caf::actor_addr> target;
  /// The targets monitored: a handful (the sequencer, its watch actor, their successors).
  std::vector<caf::actor_addr> monitored;
};

using Self = caf::io::stateful_broker<RelayState>;

void finish(Self* self, RequestRelay::Waiting& waiting, std::uint64_t token, RelayOutcome outcome) {
  self->state.target.erase(token);
  if (RelayDone done = waiting.take(token)) done(std::move(outcome));
}

RelayOutcome stopped(std::string reason) {
  RelayOutcome o;
  o.kind = RelayOutcome::Kind::stopped;
  o.reason = std::move(reason);
  return o;
}

template <typename... Ts>
void send(Self* self, std::shared_ptr<RequestRelay::Waiting> waiting, const caf::actor& to,
          caf::message message, std::uint64_t token, std::chrono::milliseconds timeout) {
  self->request(to, timeout, std::move(message))
      .then(
          [self, waiting, token](Ts... xs) {
            RelayOutcome o;
            o.kind = RelayOutcome::Kind::answered;
            o.answer = caf::make_message(std::move(xs)...);
            finish(self, *waiting, token, std::move(o));
          },
          [self, waiting, token](caf::error& e) {
            RelayOutcome o;
            o.kind = RelayOutcome::Kind::failed;
            o.reason = self->system().render(e);
            o.error = std::move(e);
            finish(self, *waiting, token, std::move(o));
          });
}

caf::behavior relay(Self* self, std::shared_ptr<RequestRelay::Waiting> waiting,
                    std::chrono::milliseconds timeout) {
  self->set_down_handler([self, waiting](const caf::down_msg& down) {
    RelayState& s = self->state;
    s.monitored.erase(std::remove(s.monitored.begin(), s.monitored.end(), down.source), s.monitored.end());
    std::vector<std::uint64_t> lost;
    for (const auto& [token, target] : s.target) {
      if (target == down.source) lost.push_back(token);
    }
    const std::string reason = self->system().render(down.reason);
    for (const std::uint64_t token : lost) finish(self, *waiting, token, stopped(reason));
  });
  self->set_exit_handler([self, waiting](const caf::exit_msg& exit) {
    // Every callback still waiting, also of requests this actor has not seen yet.
    std::unordered_map<std::uint64_t, RelayDone> all;
    {
      std::lock_guard<std::mutex> lock(waiting->mutex);
      all.swap(waiting->done);
    }
    const std::string reason = "the node is stopping (" + self->system().render(exit.reason) + ")";
    for (auto& [token, done] : all) done(stopped(reason));
    self->state.target.clear();
    self->quit(exit.reason);
  });
  return {
      [self, waiting, timeout](relay_atom, const caf::actor& to, caf::message& message, std::uint8_t answer,
                               std::uint64_t token) {
        RelayState& s = self->state;
        if (!to) {
          finish(self, *waiting, token, stopped("no such actor"));
          return;
        }
        if (std::find(s.monitored.begin(), s.monitored.end(), to.address()) == s.monitored.end()) {
          // A target that is gone already is reported at once (a down message).
          self->monitor(to);
          s.monitored.push_back(to.address());
        }
        s.target.emplace(token, to.address());
        switch (static_cast<RelayAnswer>(answer)) {
          case RelayAnswer::text:
            send<std::string>(self, waiting, to, std::move(message), token, timeout);
            break;
          case RelayAnswer::texts:
            send<std::vector<std::string>>(self, waiting, to, std::move(message), token, timeout);
            break;
          case RelayAnswer::watch_poll:
            send<bool, std::uint64_t, std::vector<std::string>, std::uint64_t>(self, waiting, to, std::move(message),
                                                                                token, timeout);
            break;
          case RelayAnswer::watch_values:
            send<std::uint64_t, std::string, std::string, std::uint64_t>(self, waiting, to, std::move(message), token,
                                                                         timeout);
            break;
          case RelayAnswer::actor:
            send<caf::actor>(self, waiting, to, std::move(message), token, timeout);
            break;
        }
      },
  };
}

}  // namespace

RelayDone RequestRelay::Waiting::take(std::uint64_t token) {
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = done.find(token);
  if (it == done.end()) return {};
  RelayDone out = std::move(it->second);
  done.erase(it);
  return out;
}

RequestRelay::RequestRelay(caf::actor_system& sys, std::chrono::milliseconds timeout)
    : actor_(sys.middleman().spawn_broker(relay, waiting_, timeout)) {}

RequestRelay::~RequestRelay() { caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown); }

void RequestRelay::request(caf::actor to, caf::message message, RelayAnswer answer, RelayDone done) {
  std::uint64_t token = 0;
  {
    std::lock_guard<std::mutex> lock(waiting_->mutex);
    token = ++waiting_->next;
    waiting_->done.emplace(token, std::move(done));
  }
  caf::anon_send(actor_, relay_atom::value, std::move(to), std::move(message),
                 static_cast<std::uint8_t>(answer), token);
}

}  // namespace mgraph::node

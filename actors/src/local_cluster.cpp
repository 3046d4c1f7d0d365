#include "mgraph/actors/local_cluster.hpp"

#include <deque>
#include <map>
#include <string>
#include <utility>

namespace mgraph::actors {
namespace {

/// Where a partition or the coordinator sends what a core emitted.
struct Routes {
  std::vector<caf::actor> partitions;
  caf::actor coordinator;
};

/// Encodes and sends each message to its destination. A message that cannot be encoded
/// or routed is a bug in the core or in the layout: it stops the actor with an error.
void route(caf::event_based_actor* self, const Routes& routes, std::vector<Message>* out) {
  for (const Message& m : *out) {
    Result<std::string> bytes = codec::encode_epoch_message(m);
    if (!bytes.is_ok()) {
      self->quit(caf::make_error(caf::sec::invalid_argument, bytes.status().message()));
      return;
    }
    if (m.to == kCoordinator) {
      self->send(routes.coordinator, epoch_atom::value, std::move(bytes).value());
    } else if (m.to < routes.partitions.size()) {
      self->send(routes.partitions[m.to], epoch_atom::value, std::move(bytes).value());
    } else {
      self->quit(caf::make_error(caf::sec::invalid_argument,
                                 "message to unknown partition " + std::to_string(m.to)));
      return;
    }
  }
  out->clear();
}

struct CoordinatorState {
  std::unordered_map<FieldId, PartitionId> owner;
  Routes routes;
  CoordinatorCore core;
  struct Pending {
    Epoch epoch;
    std::map<PartitionId, std::vector<FieldWrite>> writes;
    caf::response_promise promise;
  };
  std::deque<Pending> queue;  ///< front: the epoch in progress
  std::vector<Message> out;
};

/// Starts queued epochs until one is in progress (an epoch without writes ends at once).
void start_next(caf::event_based_actor* self, CoordinatorState& s) {
  while (!s.queue.empty() && !s.core.in_progress()) {
    CoordinatorState::Pending& p = s.queue.front();
    s.core.begin(p.epoch, std::move(p.writes), &s.out);
    route(self, s.routes, &s.out);
    if (s.core.in_progress()) return;
    p.promise.deliver(s.core.result().committed, s.core.result().reason);
    s.queue.pop_front();
  }
}

}  // namespace

caf::behavior partition_actor(caf::event_based_actor* self, std::shared_ptr<PartitionCore> core,
                              MessageObserver observe) {
  auto routes = std::make_shared<Routes>();
  auto out = std::make_shared<std::vector<Message>>();
  return {
      [=](peers_atom, const std::vector<caf::actor>& partitions, const caf::actor& coordinator) {
        routes->partitions = partitions;
        routes->coordinator = coordinator;
      },
      [=](epoch_atom, const std::string& bytes) {
        Result<Message> m = codec::decode_epoch_message(bytes);
        if (!m.is_ok()) {
          self->quit(caf::make_error(caf::sec::invalid_argument, m.status().message()));
          return;
        }
        if (observe) observe(m->kind);
        core->handle(*m, out.get());
        route(self, *routes, out.get());
      },
      [=](digest_atom) -> std::uint64_t { return core->digest(); },
  };
}

caf::behavior coordinator_actor(caf::event_based_actor* self,
                                std::unordered_map<FieldId, PartitionId> owner) {
  auto s = std::make_shared<CoordinatorState>();
  s->owner = std::move(owner);
  return {
      [=](peers_atom, const std::vector<caf::actor>& partitions) {
        s->routes.partitions = partitions;
        s->routes.coordinator = caf::actor_cast<caf::actor>(self);
      },
      [=](run_atom, Epoch epoch, const std::string& bytes) -> caf::result<bool, std::string> {
        Result<Message> begin = codec::decode_epoch_message(bytes);
        if (!begin.is_ok()) return caf::make_error(caf::sec::invalid_argument, begin.status().message());
        std::map<PartitionId, std::vector<FieldWrite>> writes;
        for (FieldWrite& w : begin->writes) {
          const auto it = s->owner.find(w.field);
          if (it == s->owner.end()) {
            return caf::make_error(caf::sec::invalid_argument,
                                   "no partition owns field " + std::to_string(w.field));
          }
          writes[it->second].push_back(std::move(w));
        }
        caf::response_promise promise = self->make_response_promise();
        s->queue.push_back(CoordinatorState::Pending{epoch, std::move(writes), promise});
        start_next(self, *s);
        return promise;
      },
      [=](epoch_atom, const std::string& bytes) {
        Result<Message> m = codec::decode_epoch_message(bytes);
        if (!m.is_ok()) {
          self->quit(caf::make_error(caf::sec::invalid_argument, m.status().message()));
          return;
        }
        const bool was_running = s->core.in_progress();
        s->core.handle(*m, &s->out);
        route(self, s->routes, &s->out);
        if (was_running && !s->core.in_progress() && !s->queue.empty()) {
          s->queue.front().promise.deliver(s->core.result().committed, s->core.result().reason);
          s->queue.pop_front();
          start_next(self, *s);
        }
      },
  };
}

}  // namespace mgraph::actors

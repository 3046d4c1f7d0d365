#include "cluster_node.hpp"

#include <caf/io/all.hpp>

#include <memory>
#include <set>

namespace mgraph::node {
namespace {

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct Registered {
  caf::actor node;
  caf::actor documents;
};

}  // namespace

caf::behavior node_actor(caf::event_based_actor* self, NodeIdentity id, NodeState* state,
                         caf::actor documents, CoordinatorSetup setup) {
  auto nodes = std::make_shared<std::map<std::string, Registered>>();
  auto sequencer = std::make_shared<caf::actor>();
  // The coordinator starts the sequencer as soon as it knows the documents' partition.
  auto start_sequencer = [=](const caf::actor& partition) {
    // A node that hosts the documents registered again: a new sequencer runs the log
    // again on its new partition. The old one stops without stopping this node.
    if (*sequencer) {
      self->demonitor(*sequencer);
      self->send_exit(*sequencer, caf::exit_reason::user_shutdown);
    }
    *sequencer = self->spawn(actors::sequencer_actor, partition, setup.log, setup.observe);
    self->monitor(*sequencer);
    state->set_sequencer(*sequencer);
    for (const auto& [name, r] : *nodes) self->send(r.node, sequencer_atom::value, *sequencer);
  };
  if (id.coordinator && documents && setup.documents_node == id.name) start_sequencer(documents);
  // The sequencer stops with this actor (it is monitored, not linked, so that its failure
  // stops the node with a reason instead of killing this actor silently).
  self->attach_functor([=](const caf::error&) {
    if (*sequencer) caf::anon_send_exit(*sequencer, caf::exit_reason::user_shutdown);
  });
  self->set_down_handler([=](const caf::down_msg& down) {
    if (*sequencer && down.source == sequencer->address()) {
      state->stop(3, "the sequencer stopped: " + self->system().render(down.reason));
      return;
    }
    for (auto it = nodes->begin(); it != nodes->end(); ++it) {
      if (it->second.node.address() != down.source) continue;
      state->set_peer(it->first, PeerState::unreachable, "connection lost");
      nodes->erase(it);
      return;
    }
  });
  return {
      [=](register_atom, const std::string& name, std::uint64_t fingerprint,
          const caf::actor& node, const caf::actor& docs) -> caf::result<caf::actor> {
        if (!id.coordinator) {
          return caf::make_error(caf::sec::invalid_argument,
                                 "node " + id.name + " does not coordinate; register with the coordinator");
        }
        if (fingerprint != id.schema.fingerprint) {
          const std::string why = "node " + name + " serves a schema with fingerprint " +
                                  hex(fingerprint) + ", the coordinator " + id.name + " has " +
                                  id.schema.name + " with fingerprint " +
                                  hex(id.schema.fingerprint) +
                                  "; start every node with the same schema file";
          state->set_peer(name, PeerState::refused, why);
          return caf::make_error(caf::sec::invalid_argument, why);
        }
        self->monitor(node);
        (*nodes)[name] = Registered{node, docs};
        state->set_peer(name, PeerState::up);
        if (name == setup.documents_node && docs) start_sequencer(docs);
        return *sequencer;
      },
      [=](sequencer_atom, const caf::actor& s) { state->set_sequencer(s); },
      [=](actors::schema_atom) {
        return caf::make_message(id.schema.name, id.schema.source, id.schema.fingerprint);
      },
  };
}

caf::behavior link_actor(caf::event_based_actor* self, LinkTarget target, NodeIdentity id,
                         caf::actor node, caf::actor documents, NodeState* state) {
  auto backoff = std::make_shared<std::chrono::milliseconds>(kLinkBackoffFirst);
  auto coordinator = std::make_shared<caf::actor>();
  auto retry_later = [=](const std::string& why) {
    state->set_peer(target.coordinator, PeerState::unreachable, why);
    self->delayed_send(self, *backoff, retry_atom::value);
    *backoff = std::min(*backoff * 2, kLinkBackoffMax);
  };
  auto attempt = [=] {
    auto mm = self->system().middleman().actor_handle();
    self->request(mm, kLinkRequestTimeout, caf::connect_atom::value, target.host, target.port)
        .then(
            [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
              caf::actor remote = caf::actor_cast<caf::actor>(ptr);
              if (!remote) {
                retry_later("nothing is published at " + target.host + ":" + std::to_string(target.port));
                return;
              }
              self->request(remote, kLinkRequestTimeout, register_atom::value, id.name,
                            id.schema.fingerprint, node, documents)
                  .then(
                      [=](const caf::actor& sequencer) {
                        *backoff = kLinkBackoffFirst;
                        *coordinator = remote;
                        self->monitor(remote);
                        state->set_peer(target.coordinator, PeerState::up);
                        if (sequencer) state->set_sequencer(sequencer);
                      },
                      [=](caf::error& e) {
                        const std::string why = self->system().render(e);
                        if (e == caf::sec::invalid_argument) {
                          state->set_peer(target.coordinator, PeerState::refused, why);
                          state->stop(2, "the coordinator refused this node: " + why);
                          return;
                        }
                        retry_later(why);
                      });
            },
            [=](caf::error& e) { retry_later(self->system().render(e)); });
  };
  self->set_down_handler([=](const caf::down_msg& down) {
    if (!*coordinator || down.source != coordinator->address()) return;
    *coordinator = caf::actor();
    state->set_sequencer(caf::actor());
    retry_later("connection lost");
  });
  state->set_peer(target.coordinator, PeerState::unreachable, "connecting");
  self->send(self, retry_atom::value);
  return {
      [=](retry_atom) { attempt(); },
  };
}

}  // namespace mgraph::node

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
};

}  // namespace

caf::behavior node_actor(caf::event_based_actor* self, NodeIdentity id, NodeState* state,
                         std::vector<caf::actor> partitions, CoordinatorSetup setup) {
  auto nodes = std::make_shared<std::map<std::string, Registered>>();
  auto sequencer = std::make_shared<caf::actor>();
  auto driver = std::make_shared<caf::actor>();
  // Every partition's actor, by partition id, as far as known.
  auto all = std::make_shared<std::vector<caf::actor>>(setup.partitions);
  // Notes a node's partition actors; whether any differs from what was known.
  auto place = [=](const std::string& name, const std::vector<caf::actor>& actors) {
    const std::vector<codec::PartitionId>& ids = setup.placement.at(name);
    bool changed = false;
    for (std::size_t i = 0; i < ids.size() && i < actors.size(); ++i) {
      changed |= (*all)[ids[i]] != actors[i];
      (*all)[ids[i]] = actors[i];
    }
    return changed;
  };
  // A sequencer and driver being replaced, by address: the new ones start when both are
  // gone, so that the old sequencer never logs while the new one reads the log, and the
  // old driver never runs an epoch on partitions the new one has emptied.
  auto retiring = std::make_shared<std::set<caf::actor_addr>>();
  // The coordinator starts the driver and the sequencer once it has every partition.
  auto start_sequencer = [=] {
    for (const caf::actor& p : *all) {
      if (!p) return;
    }
    // A node registered again: a new driver restores every partition from the last
    // checkpoint the log records (docs/CLUSTER.md, "Checkpoints") and a new sequencer runs
    // the log after it. The old ones stop without stopping this node; the down handler
    // calls this again when they are gone.
    if (*sequencer) {
      self->monitor(*driver);
      retiring->insert(sequencer->address());
      retiring->insert(driver->address());
      self->send_exit(*sequencer, caf::exit_reason::user_shutdown);
      self->send_exit(*driver, caf::exit_reason::user_shutdown);
      *sequencer = caf::actor();
      *driver = caf::actor();
      state->set_sequencer(caf::actor());
      return;
    }
    if (!retiring->empty()) return;
    auto partitions = std::make_unique<actors::ActorPartitions>(self->system(), *all,
                                                                caf::timespan{kPartitionRequestTimeout});
    std::vector<std::string> hosts(setup.partitions);
    for (const auto& [name, ids] : setup.placement) {
      for (const codec::PartitionId p : ids) {
        if (p < hosts.size()) hosts[p] = "node " + name;
      }
    }
    partitions->set_hosts(std::move(hosts));
    if (setup.traffic) partitions->set_traffic(setup.traffic);
    actors::PartitionedDocuments::Options options;
    // The driver times its phases with the sequencer's clock (EpochOutcome::phases).
    options.now = setup.sequencer.now;
    auto documents = std::make_shared<actors::PartitionedDocuments>(std::move(partitions), options);
    // Detached: it waits for the partitions' replies on its own thread.
    *driver = self->system().spawn<caf::detached>(actors::documents_driver_actor, documents,
                                                  id.schema, setup.driver);
    actors::SequencerOptions sequencer_options = setup.sequencer;
    sequencer_options.partitions = *all;
    *sequencer = self->spawn(actors::sequencer_actor, *driver, setup.log, setup.observe, std::move(sequencer_options));
    self->monitor(*sequencer);
    state->set_sequencer(*sequencer);
    state->set_partitions(*all);
    for (const auto& [name, r] : *nodes) self->send(r.node, sequencer_atom::value, *sequencer, *all);
  };
  if (id.coordinator) {
    place(id.name, partitions);
    start_sequencer();
  }
  // The sequencer and the driver stop with this actor (the sequencer is monitored, not
  // linked, so that its failure stops the node with a reason instead of killing this actor
  // silently).
  // The handles go too: the driver is detached, and the actor system's shutdown waits until
  // nothing holds it.
  self->attach_functor([=](const caf::error&) {
    if (*sequencer) caf::anon_send_exit(*sequencer, caf::exit_reason::user_shutdown);
    if (*driver) caf::anon_send_exit(*driver, caf::exit_reason::user_shutdown);
    *sequencer = caf::actor();
    *driver = caf::actor();
  });
  self->set_down_handler([=](const caf::down_msg& down) {
    if (retiring->erase(down.source) != 0) {
      if (retiring->empty()) start_sequencer();
      return;
    }
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
      [=](register_atom, const std::string& cluster, const std::string& name,
          std::uint64_t fingerprint, const caf::actor& node,
          const std::vector<caf::actor>& hosted) -> caf::result<caf::actor> {
        if (!id.coordinator) {
          return caf::make_error(caf::sec::invalid_argument,
                                 "node " + id.name + " of cluster '" + id.cluster +
                                     "' does not coordinate; give --peer the coordinator's address");
        }
        if (cluster != id.cluster) {
          const std::string why = "node " + name + " belongs to cluster '" + cluster +
                                  "', the coordinator " + id.name + " to cluster '" + id.cluster +
                                  "'; check --peer and the configuration's [cluster] name";
          state->set_peer(name, PeerState::refused, why);
          return caf::make_error(caf::sec::invalid_argument, why);
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
        const auto placed = setup.placement.find(name);
        if (placed == setup.placement.end() || name == id.name ||
            placed->second.size() != hosted.size()) {
          const std::string why =
              placed == setup.placement.end() || name == id.name
                  ? "the coordinator " + id.name + " has no node " + name + " in its configuration"
                  : "node " + name + " hosts " + std::to_string(hosted.size()) +
                        " partitions, the coordinator's configuration gives it " +
                        std::to_string(placed->second.size()) +
                        "; start every node with the same configuration";
          state->set_peer(name, PeerState::refused, why);
          return caf::make_error(caf::sec::invalid_argument, why);
        }
        self->monitor(node);
        (*nodes)[name] = Registered{node};
        state->set_peer(name, PeerState::up);
        // Once the sequencer runs, every partition was placed: a node that registers and
        // hosts partitions comes back — restarted, or its link was lost (a stopped process
        // that goes on) — and its partitions may have missed or half-applied an epoch, so
        // they start over from the log. A node hosting none changes nothing for the documents.
        if (place(name, hosted) || !*sequencer || !hosted.empty()) start_sequencer();
        // Every partition's actor too, for reads across nodes (a node that hosts none
        // registers without restarting the sequencer, so the broadcast missed it).
        if (*sequencer) self->send(node, sequencer_atom::value, *sequencer, *all);
        return *sequencer;
      },
      [=](sequencer_atom, const caf::actor& s, const std::vector<caf::actor>& partitions) {
        state->set_sequencer(s);
        state->set_partitions(partitions);
      },
      [=](actors::schema_atom) {
        return caf::make_message(id.schema.name, id.schema.source, id.schema.fingerprint);
      },
  };
}

caf::behavior link_actor(caf::event_based_actor* self, LinkTarget target, NodeIdentity id,
                         caf::actor node, std::vector<caf::actor> partitions, NodeState* state) {
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
              self->request(remote, kLinkRequestTimeout, register_atom::value, id.cluster, id.name,
                            id.schema.fingerprint, node, partitions)
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

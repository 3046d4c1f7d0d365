#pragma once
// CAF actors around the epoch protocol's cores (epoch.hpp): one actor per partition and a
// coordinator. They exchange the protocol's messages as the codec's bytes
// (codec/epoch_codec.hpp) in `epoch_atom` messages, the same in one process and across
// nodes. A client sends (run_atom, epoch, bytes of a Begin message holding all writes) to
// the coordinator and gets (committed, reason) back when the epoch has committed or
// aborted on every participant; epochs run one at a time, in the order requested.

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "mgraph/actors/epoch.hpp"

namespace mgraph::actors {

using epoch_atom = caf::atom_constant<caf::atom("mg_epoch")>;  ///< a protocol message
using peers_atom = caf::atom_constant<caf::atom("mg_peers")>;  ///< who is who
using run_atom = caf::atom_constant<caf::atom("mg_run")>;      ///< client: run one epoch
using digest_atom = caf::atom_constant<caf::atom("mg_digest")>;  ///< partition: its digest

/// A partition: handles protocol messages with `core` and sends what it emits. Before
/// the first epoch it must get (peers_atom, partitions by id, coordinator). Answers
/// (digest_atom) with PartitionCore::digest() as a uint64_t. `observe`, if set, is called
/// with the kind of every protocol message it handles (metrics).
using MessageObserver = std::function<void(MessageKind)>;
caf::behavior partition_actor(caf::event_based_actor* self, std::shared_ptr<PartitionCore> core,
                              MessageObserver observe);

/// The coordinator: `owner` maps every writable field to its partition. Before the first
/// epoch it must get (peers_atom, partitions by id).
caf::behavior coordinator_actor(caf::event_based_actor* self,
                                std::unordered_map<FieldId, PartitionId> owner);

}  // namespace mgraph::actors

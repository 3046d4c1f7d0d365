@0xa7e65714c0349879;
# The client protocol of a cluster (codec/client_rpc.hpp): Cap'n Proto RPC over TCP. A client
# sends batches of typed operations and reads the schema the cluster serves. Ordinals are the
# format; never renumber them.
#
# The connection's bootstrap capability is a Cluster acting with the node's anonymous role:
# on a node that requires tokens it has none, and every call but login is refused with
# "unauthenticated: ...". login trades a token for a Cluster acting with the token's role.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mgraph::codec::wire");
using Session = import "session.capnp";
using Image = import "image.capnp";

# What a client may do (session/access.hpp).
enum Role {
  read @0;
  write @1;
  admin @2;
}

interface Cluster {
  # Applies the batch in order; one result per operation. A batch the server cannot decode
  # (or refuses: too large, too many calls in flight, an operation the role may not apply) is
  # answered with an RPC error.
  transact @0 (batch :Session.Batch) -> (result :Session.BatchResult);
  # The schema the cluster serves: its file name, its text and its fingerprint.
  schema @1 () -> (name :Text, source :Text, fingerprint :UInt64);
  # A Cluster acting with the role of `token`; an RPC error "unauthenticated: ..." when the
  # node accepts no such token.
  login @2 (token :Text) -> (cluster :Cluster, role :Role);
  # Effect deliveries (docs/CLUSTER.md, "Effects"), a request/poll pair: the deliveries of
  # the named effects ("Entity.effect") due now, at most `max`, each the JSON object
  # `mgraph effects consume` prints. A delivery not acknowledged is due again per its
  # effect's @retry. `group`: the consumer group polling ("" : the consumers of no group);
  # one group consumes an effect at a time (see consumer).
  pollEffects @3 (effects :List(Text), max :UInt32, group :Text) -> (deliveries :List(Text));
  # Acknowledges delivery (field, version), as a transaction the cluster logs: its outcome,
  # "acked", "acked_dead_letter", "duplicate" or "unknown" (nothing ran), or "failed: ...".
  # The role must be write or admin.
  ackEffect @4 (field :UInt64, version :UInt64) -> (outcome :Text);
  # Acknowledges many deliveries at once, each key "FIELD:VERSION": one outcome per key, in
  # order, as ackEffect answers it. The acks run as transactions of their own, which the
  # cluster runs together in one epoch (a failing one fails alone). At most
  # kAckKeysMax keys (codec/client_rpc.hpp). The role must be write or admin.
  ackEffects @5 (keys :List(Text)) -> (outcomes :List(Text));
  # Subscriptions (docs/CLUSTER.md, "Subscriptions"): the committed epochs after `fromEpoch`
  # that changed a field or an entity `targets` names ("Entity#N.field", "Entity"), at most
  # `max`, each the JSON object `mgraph watch` prints; with none yet, waits up to `waitMs`
  # for one. `through`: the epoch to ask from next. `resume`: the cluster no longer holds
  # every epoch after `fromEpoch`: read the current values (watchValues) and go on from the
  # epoch they are read after. `log`: the coordinator's epoch log these epochs are numbered
  # in; when it changes between polls, the cursor numbers another log's epochs: resume.
  watch @6 (targets :List(Text), fromEpoch :UInt64, max :UInt32, waitMs :UInt32)
      -> (epochs :List(Text), through :UInt64, resume :Bool, log :UInt64);
  # The results of a batch of `get` operations only, and every field of every record of
  # `entities` (a JSON array of changes, as in watch's epochs), read between two epochs,
  # and the last epoch run before them: the values a subscription goes on from.
  watchValues @7 (batch :Session.Batch, entities :List(Text))
      -> (result :Session.BatchResult, epoch :UInt64, records :Text, log :UInt64);
  # The result of a request of an async field (docs/SCHEMA.md "Async fields"), the delivery
  # (field, version) of its FIELD@request effect: one transaction the cluster logs that
  # writes `value` into the field when the request is still the newest and settles the
  # delivery. Its outcome: "written", "superseded" (settled, nothing written), "duplicate" or
  # "unknown" (nothing ran), or "failed: ..." (a value of the wrong type: nothing settled).
  # The role must be write or admin.
  resolveEffect @8 (field :UInt64, version :UInt64, value :Image.Value) -> (outcome :Text);
  # The history and ledger the cluster keeps (docs/SCHEMA.md "Versions and the ledger"):
  # `command` "history" (of an effect or a @versioned field; with `hasAt`, its version at
  # epoch `at`) or "audit" (of an effect), of field `field` of record `record`, which the
  # client wrote as `ref` (named in errors). `answer`: the JSON a session prints after
  # "records" (audit), "versions" (history) or "version" (history at an epoch).
  ledger @9 (record :UInt64, field :Text, command :Text, ref :Text, hasAt :Bool, at :UInt64)
      -> (answer :Text);
  # A consumer of consumer group `group` (a name of 1 to 64 letters, digits, '_', '-', '.')
  # following `effects`, with this Cluster's role. An effect's deliveries are acknowledged
  # once, so one group consumes an effect at a time: its consumers share the deliveries,
  # and a poll of another group naming one of its effects is refused until the group has
  # not polled for 30 s (actors::kConsumerGroupLease).
  consumer @10 (group :Text, effects :List(Text)) -> (consumer :Consumer);
}

interface Consumer {
  # pollEffects of the consumer's group and effects.
  poll @0 (max :UInt32) -> (deliveries :List(Text));
  # ackEffects.
  ack @1 (keys :List(Text)) -> (outcomes :List(Text));
}

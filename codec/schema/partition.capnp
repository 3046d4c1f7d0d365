@0xe7a3c95b1d2f4086;
# Requests of the documents' driver to one partition of a cluster and the partition's
# replies (codec/include/mgraph/codec/partition_codec.hpp, actors/partitioned.hpp), in one
# process and between nodes alike. Field numbers are the format; never renumber them.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mgraph::codec::wire");
using Image = import "image.capnp";
using Session = import "session.capnp";

# A Mark (a remote field became stale) or a Resolve (it has its value for the epoch).
struct PartitionMessage {
  resolve @0 :Bool;
  node @1 :UInt32;
  changed @2 :Bool;
  value @3 :Image.Value;
  # A Resolve's: the field's condition on its owner (0 ok, 1 failed, 2 blocked), the failed
  # field it is blocked by, and the failure's reason.
  state @4 :UInt8;
  cause @5 :UInt32 = 0xffffffff;
  reason @6 :Text;
}

struct PartitionRequest {
  enum Kind {
    apply @0;
    checkLink @1;
    begin @2;
    mark @3;
    deliver @4;
    compute @5;
    pending @6;
    reject @7;
    probe @8;
    dot @9;
    reset @10;
    addRevision @11;
    checkpoint @12;
    restore @13;
    records @14;
  }
  kind @0 :Kind;
  first @1 :UInt32;               # apply: the index in its batch of ops[0]
  ops @2 :Session.Batch;          # apply
  messages @3 :List(PartitionMessage);  # deliver
  record @4 :UInt64;              # checkLink, probe
  name @5 :Text;                  # checkLink: the relation; probe: the field; records: the entity
  other @6 :UInt64;               # checkLink; checkpoint: the oldest epoch kept
  batch @7 :UInt64;               # apply: which batch of the driver's the ops belong to;
                                  # checkpoint, restore: the epoch
  markAfter @8 :Bool;             # apply: then mark, as a mark request (the commit is next)
  reporter @9 :UInt32 = 0xffffffff;  # apply: the partition that returns its results (the
                                     # others their count and digest); all by default
  computeAfter @10 :Bool;         # deliver: then compute, as a compute request (the driver
                                  # sends a commit's predicted Marks with its compute)
  preview @11 :Bool;              # apply, deliver, compute: with nothing left to compute,
                                  # also tell what the commit would make (previewed)
  confine @12 :Bool;              # apply: also tell whether the ops concern their records'
                                  # owners alone (confined, writtenOwners)
}

# A computed field still waiting when no message is left, and the stale fields it reads.
struct PendingField {
  node @0 :UInt32;
  name @1 :Text;
  waitsOn @2 :List(UInt32);
}

struct PartitionReply {
  code @0 :UInt8;
  message @1 :Text;
  results @2 :Session.BatchResult;          # apply
  stale @3 :List(UInt32);                   # mark, deliver of Marks
  resolved @4 :List(PartitionMessage);      # compute, deliver of Resolves
  pending @5 :List(PendingField);           # pending
  inTransaction @6 :Bool;
  ownedChanged @7 :UInt64;
  computed @8 :Bool;                        # probe
  dotNodes @9 :List(Text);                  # dot
  dotEdges @10 :List(Text);
  revision @11 :UInt64;
  waiting @12 :UInt32;                      # fields waiting for a mirror
  effects @13 :List(EffectTrigger);         # apply: effects its commits raised
  checkpointBytes @14 :UInt64;              # checkpoint: the image's size
  changes @15 :List(FieldChange);           # apply: fields of its records its commits,
                                            # undos and redos changed (subscriptions)
  marked @16 :Bool;                         # apply with markAfter: it marked; stale holds
                                            # what that made stale
  recorded @17 :List(RecordedChange);       # apply: changes of fields whose versions are
                                            # kept (effects, @versioned) its commits, undos
                                            # and redos made
  requestResults @18 :List(RequestResult);  # apply: results of async requests its resolves
                                            # settled
  resultsCount @19 :UInt32;                 # apply, not the reporter: the ops it applied
  resultsDigest @20 :UInt64;                # and their results' digest
  previewed @21 :Bool;                      # with preview: nothing is left to compute, and
  previewRevision @22 :UInt64;              # the commit would make this revision and
  previewOwnedChanged @23 :UInt64;          # change this many fields of its records
  confined @24 :Bool;                       # apply with confine: every op updates a
                                            # record, and what the transaction wrote no
                                            # other record reads
  writtenOwners @25 :List(UInt32);          # and the partitions owning what it wrote
}

# The result of an async field's request (session/effect_delivery.hpp RequestResult).
struct RequestResult {
  node @0 :UInt32;      # the field's F@request effect
  version @1 :UInt64;   # the request's
  value @2 :Image.Value;
  outcome @3 :Text;     # "written" or "superseded"
}

# A change of a field whose versions are kept (session/effect_delivery.hpp RecordedChange):
# what the coordinator's history and ledger record.
struct RecordedChange {
  node @0 :UInt32;
  version @1 :UInt64;
  value @2 :Image.Value;
  effect @3 :Bool;
  queueTrigger @4 :Text;  # a queue's trigger: what it carries, as JSON; empty otherwise
}

# A field of a record the partition owns, as a commit, undo or redo left it: what a
# subscription is told (actors/watch.hpp).
struct FieldChange {
  record @0 :UInt64;
  entity @1 :Text;
  field @2 :Text;
  value @3 :Image.Value;
  version @4 :UInt64;
}

# An effect field of a record the partition owns that a commit raised (bool false -> true,
# a counter up): one delivery for the effect's consumers, with the effect's retry policy.
struct EffectTrigger {
  node @0 :UInt32;
  version @1 :UInt64;
  record @2 :UInt64;
  effect @3 :Text;
  value @4 :Image.Value;
  initialMs @5 :UInt64;
  multiplier @6 :Float64;
  maxDelayMs @7 :UInt64;
  maxAttempts @8 :UInt32;
  queue @9 :Bool;                  # a queue's trigger: it carries the values below
  valueNames @10 :List(Text);      # the carried fields, in the order the queue names them
  values @11 :List(Image.Value);   # their values at the trigger
  time @12 :Image.Value;           # the schema clock (@clock) at the trigger; null: none
  mode @13 :UInt8;                 # schema::DeliveryMode: 0 acknowledged, 1 fire_and_forget, 2 counted
}

struct DeliveryKey {
  field @0 :UInt64;
  version @1 :UInt64;
}

# What an epoch did to effect deliveries (driver -> sequencer): the effects it raised and
# the deliveries its acknowledgements name.
struct EffectReport {
  triggers @0 :List(EffectTrigger);
  acked @1 :List(DeliveryKey);
  unkeyed @2 :List(RecordAck);  # acks that name no delivery (a script's `ack REF.effect`)
  recorded @3 :List(RecordedChange);  # the epoch's changes of effects and @versioned fields
  requestResults @4 :List(RequestResult);  # the results of async requests its resolves settled
}

# An acknowledgement of a record's effect that names no delivery key: it settles the
# oldest delivery of that effect still owed.
struct RecordAck {
  record @0 :UInt64;
  effect @1 :Text;  # the effect field's name in its entity ("big")
}

# A delivery the sequencer owes (session/effect_delivery.hpp), as a checkpoint keeps it:
# the trigger's node is the key's field.
struct OwedDelivery {
  trigger @0 :EffectTrigger;
  epoch @1 :UInt64;
  attempts @2 :UInt32;
  dead @3 :Bool;
  covered @4 :List(DeliveryKey);  # counted: the earlier triggers it stands for, oldest first
}

# A log entry of the coordinator: every partition holds a checkpoint of `epoch` (its
# documents after that epoch), and the sequencer's effect deliveries were these then.
struct EpochCheckpoint {
  epoch @0 :UInt64;
  imageBytes @1 :UInt64;
  owed @2 :List(OwedDelivery);
  settledFields @3 :List(UInt64);
  settledVersions @4 :List(UInt64);
  answers @5 :List(TxnAnswer);  # the last transactions answered, newest last
}

# A log entry of the coordinator: changes of effect deliveries that no epoch makes (a
# delivery was sent; its last attempt went unacknowledged; an operator retried or dropped
# a dead letter), so that a restart keeps them (session::DeliveryChange).
struct DeliveryChanges {
  changes @0 :List(DeliveryChange);
  claims @1 :List(EffectClaim);  # consumer groups taking effects (codec::EffectClaim)
}

# One committed epoch's changes, as a coordinator's history of subscriptions keeps them
# (codec::encode_field_changes).
struct FieldChanges {
  changes @0 :List(FieldChange);
}

struct EffectClaim {
  effect @0 :Text;
  group @1 :Text;
}

struct DeliveryChange {
  key @0 :DeliveryKey;
  kind @1 :UInt8;       # session::DeliveryChange::Kind: 1 died, 2 retried, 3 dropped, 4 attempted
  attempts @2 :UInt32;  # died: the attempts it was sent; attempted: this attempt's number
  group @3 :Text;       # attempted: the consumer group it was sent to
}

# A transaction's answer a checkpoint's entry keeps (see EpochCheckpoint.answers).
struct TxnAnswer {
  client @0 :UInt64;
  seq @1 :UInt64;
  answer @2 :Data;
}

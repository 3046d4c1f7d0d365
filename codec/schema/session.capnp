@0xd3c1f7a2b4e6908c;
# Typed operations on a document store and their results (session/operation.hpp): the
# requests and answers of the client protocol, and what the input log keeps of each epoch.
# Field numbers are the format; never renumber them.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mgraph::codec::wire");
using Image = import "image.capnp";

struct RecordRef {
  id @0 :UInt64;
  createdBy @1 :List(UInt32);   # earlier create ops of the batch, latest first
  text @2 :Text;
}

struct FieldValue {
  name @0 :Text;
  value @1 :Image.Value;
}

struct Op {
  enum Kind {
    create @0;
    update @1;
    remove @2;
    link @3;
    unlink @4;
    set @5;
    ack @6;
    commit @7;
    reject @8;
    undo @9;
    redo @10;
    get @11;
    explain @12;
    dot @13;
    invalid @14;
    updateLink @15;   # writes properties of a link
    clock @16;        # moves the schema's clock: to value, or forward by it (text "+")
    resolve @17;      # the result (value) of request `at` of an async field
  }
  kind @0 :Kind;
  refs @1 :List(RecordRef);
  entity @2 :Text;
  name @3 :Text;
  values @4 :List(FieldValue);
  value @5 :Image.Value;
  text @6 :Text;
  errorCode @7 :UInt8;
  errorMessage @8 :Text;
  hasAt @9 :Bool;               # get: read at revision `at`, not the current one; resolve: the request's version
  at @10 :UInt64;
  keep @11 :List(Text);         # update: group members kept if possible (keep=NAME)
}

struct Batch {
  ops @0 :List(Op);
  # The client's transaction id (session::TxnId); both zero: none.
  txnClient @1 :UInt64;
  txnSeq @2 :UInt64;
}

struct OpResult {
  code @0 :UInt8;
  message @1 :Text;
  created @2 :UInt64;
  value @3 :Image.Value;
  version @4 :UInt64;
  revision @5 :UInt64;
  changed @6 :UInt64;
  text @7 :Text;
  # get: the field's condition (mgraph::FieldState: 0 ok, 1 failed, 2 blocked), the failed
  # field a blocked one waits for, and the failed formula's error.
  state @8 :UInt8;
  cause @9 :Text;
  reason @10 :Text;
}

# Several clients' batches the sequencer runs as one epoch (session/merge.hpp), each as
# encoded for the client protocol: what the cluster's input log keeps of such an epoch.
struct BatchGroup {
  batches @0 :List(Data);
}

# An earlier epoch of the cluster's input log that did not run and must not run when the
# log is run again: logged after it when a partition it needed was unavailable and the
# others rolled it back, before its clients are told so.
struct EpochCancel {
  epoch @0 :UInt64;
  reason @1 :Text;
  # Of a merged epoch (a BatchGroup) whose batches ran alone after the merged run failed:
  # the indexes of those that were cut short, the others having committed. Empty: the
  # whole epoch.
  members @2 :List(UInt32);
}

struct BatchResult {
  results @0 :List(OpResult);
}

# One epoch of a persistent embedded session's input log (session/persistent_session.hpp):
# the operations its lines meant, in order, the result each had when it ran (replay checks
# that each has it again), and the alias each line gave the record it created (empty:
# none; aliases are the script's, so they are not part of an operation).
struct AppliedBatch {
  batch @0 :Batch;
  results @1 :BatchResult;
  aliases @2 :List(Text);
}

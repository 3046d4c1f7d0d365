@0xde8ed1deab3c8cd6;
# Checkpoint images: a Graph's or an embedded schema session's state (graph/image.hpp,
# graph/schema/store_image.hpp). Field numbers are the format; never renumber them.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mgraph::codec::wire");

struct Tensor {
  shape @0 :List(UInt64);
  data @1 :List(Float64);
}

struct Value {
  union {
    null @0 :Void;
    boolean @1 :Bool;
    int64 @2 :Int64;
    float64 @3 :Float64;
    text @4 :Text;
    tensor @5 :Tensor;
  }
}

struct JournalEntry {
  node @0 :UInt32;
  changedAt @1 :UInt32;
  value @2 :Value;
}

struct DepsEntry {
  node @0 :UInt32;
  deps @1 :List(UInt32);
}

struct Freshened {
  node @0 :UInt32;
  computedAt @1 :UInt32;
  wasStale @2 :Bool;
}

# A field's condition (graph.hpp FieldCondition): state 0 ok, 1 failed, 2 blocked; the
# cause (the field itself when failed, the failed input when blocked; 0xFFFFFFFF none).
struct ConditionEntry {
  node @0 :UInt32;
  state @1 :UInt8;
  cause @2 :UInt32;
  reason @3 :Text;
}

struct RevisionRecord {
  before @0 :UInt64;
  after @1 :UInt64;
  values @2 :List(JournalEntry);
  deps @3 :List(DepsEntry);
  freshened @4 :List(Freshened);
  leftStale @5 :List(UInt32);
  afterPulls @6 :List(RevisionRecord);
  pullSegment @7 :Bool;
  # Conditions the revision changed, as they were before it (images before this field
  # have none: their fields were restored ok).
  conditions @8 :List(ConditionEntry);
}

struct GraphImage {
  shape @0 :UInt64;
  values @1 :List(Value);
  meta @2 :List(UInt32);
  changedAt @3 :List(UInt32);
  computedAt @4 :List(UInt32);
  depOffsets @5 :List(UInt64);
  depIds @6 :List(UInt32);
  rdepOffsets @7 :List(UInt64);
  rdepIds @8 :List(UInt32);
  groupKeep @9 :List(List(Bool));
  stamp @10 :UInt32;
  txnFirstStamp @11 :UInt32;
  stampComputed @12 :Bool;
  revision @13 :UInt64;
  nextRevision @14 :UInt64;
  lastChanged @15 :List(UInt32);
  pendingNew @16 :List(UInt32);
  forced @17 :List(UInt32);
  undo @18 :List(RevisionRecord);
  redo @19 :List(RevisionRecord);
  ambient @20 :List(RevisionRecord);
  # Session images of version 2: the length of each node's list instead of the offsets
  # (small numbers, which the packed encoding shrinks to a byte or none). Set only when
  # the offsets are well formed (0 first, never decreasing, the id count last); then
  # depOffsets and rdepOffsets stay empty.
  depCounts @21 :List(UInt32);
  rdepCounts @22 :List(UInt32);
  # The fields failed or blocked now, by node (none in images before this field).
  conditions @23 :List(ConditionEntry);
}

struct StoreOp {
  membership @0 :Bool;
  insert @1 :Bool;
  record @2 :UInt64;
  index @3 :UInt32;
  other @4 :UInt64;
  value @5 :Float64;
}

struct BagEntry {
  value @0 :Float64;
  count @1 :UInt32;
}

struct RecordImage {
  entity @0 :UInt32;
  base @1 :UInt32;
  hasCollections @2 :Bool;
  members @3 :List(List(UInt64));
  bags @4 :List(List(BagEntry));
}

struct StoreImage {
  records @0 :List(RecordImage);
  versions @1 :List(UInt64);
  undo @2 :List(List(StoreOp));
  redo @3 :List(List(StoreOp));
  graph @4 :GraphImage;
}

struct Alias {
  name @0 :Text;
  record @1 :UInt64;
}

struct RunnerImage {
  store @0 :StoreImage;
  aliases @1 :List(Alias);
}

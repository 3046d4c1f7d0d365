@0xb1a4d0f2c3e59a17;
# Messages of the epoch protocol (docs/EPOCHS.md, codec/include/mgraph/codec/epoch_codec.hpp)
# between coordinator and partitions, in-process and across nodes alike. Field numbers are
# the format; never renumber them.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mgraph::codec::wire");
using Image = import "image.capnp";

struct FieldWrite {
  field @0 :UInt64;
  value @1 :Image.Value;
}

struct FieldResolution {
  field @0 :UInt64;
  changed @1 :Bool;
  value @2 :Image.Value;
}

struct EpochMessage {
  enum Kind {
    begin @0;
    mark @1;
    compute @2;
    resolve @3;
    idle @4;
    commit @5;
    abort @6;
  }
  kind @0 :Kind;
  epoch @1 :UInt64;
  from @2 :UInt32;
  to @3 :UInt32;
  writes @4 :List(FieldWrite);
  fields @5 :List(UInt64);
  resolutions @6 :List(FieldResolution);
  credit @7 :List(UInt32);
  reason @8 :Text;
}

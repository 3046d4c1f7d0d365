@0xa7e65714c0349879;
# The client protocol of a cluster (codec/client_rpc.hpp): Cap'n Proto RPC over TCP. A client
# sends batches of typed operations and reads the schema the cluster serves. Ordinals are the
# format; never renumber them.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("mgraph::codec::wire");
using Session = import "session.capnp";

interface Cluster {
  # Applies the batch in order; one result per operation. A batch the server cannot decode
  # (or refuses: too large, too many calls in flight) is answered with an RPC error.
  transact @0 (batch :Session.Batch) -> (result :Session.BatchResult);
  # The schema the cluster serves: its file name, its text and its fingerprint.
  schema @1 () -> (name :Text, source :Text, fingerprint :UInt64);
}
